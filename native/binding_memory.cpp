// The kernels' scratch memory (scratch.h), through the same one-kernel-at-a-time lock as every op,
// so no kernel is using a buffer while it is measured or freed:
//   scratchBytes({})    bytes the scratch buffers of every thread hold
//   releaseScratch({})  frees them; returns the bytes freed (the next kernel allocates afresh)
#include <napi.h>

#include "binding_ops.h"
#include "scratch.h"

namespace admm::binding {
namespace {

// An op without arguments whose result is the byte count `Count` returns (under the kernel lock).
template <size_t (*Count)()>
struct ScratchCountOp {
  size_t bytes = 0;
  void parse(Args&) {}
  Status run() {
    bytes = Count();
    return {};
  }
  Napi::Value result(Napi::Env env) { return Napi::Number::New(env, static_cast<double>(bytes)); }
};

struct ScratchBytesOp : ScratchCountOp<scratchBytesHeld> {
  static constexpr const char* kName = "scratchBytes";
};

struct ReleaseScratchOp : ScratchCountOp<releaseScratch> {
  static constexpr const char* kName = "releaseScratch";
};

}  // namespace

void registerMemoryOps(Napi::Env env, Napi::Object exports) {
  exportOp<ScratchBytesOp>(env, exports);
  exportOp<ReleaseScratchOp>(env, exports);
}

}  // namespace admm::binding
