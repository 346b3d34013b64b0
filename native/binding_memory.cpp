// The kernels' scratch memory (scratch.h), through the same one-kernel-at-a-time lock as every op,
// so no kernel is using a buffer while it is measured or freed:
//   scratchBytes({})    bytes the scratch buffers of every thread hold
//   releaseScratch({})  frees them; returns the bytes freed (the next kernel allocates afresh)
#include <napi.h>

#include "binding_ops.h"
#include "scratch.h"

namespace admm::binding {
namespace {

struct ScratchBytesOp {
  static constexpr const char* kName = "scratchBytes";
  size_t bytes = 0;
  void parse(Args&) {}
  Status run() {
    bytes = scratchBytesHeld();
    return {};
  }
  Napi::Value result(Napi::Env env) { return Napi::Number::New(env, static_cast<double>(bytes)); }
};

struct ReleaseScratchOp {
  static constexpr const char* kName = "releaseScratch";
  size_t freed = 0;
  void parse(Args&) {}
  Status run() {
    freed = releaseScratch();
    return {};
  }
  Napi::Value result(Napi::Env env) { return Napi::Number::New(env, static_cast<double>(freed)); }
};

}  // namespace

void registerMemoryOps(Napi::Env env, Napi::Object exports) {
  exportOp<ScratchBytesOp>(env, exports);
  exportOp<ReleaseScratchOp>(env, exports);
}

}  // namespace admm::binding
