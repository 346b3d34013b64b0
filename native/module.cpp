// The addon's entry point: one registration call per family of ops.
#include <napi.h>

#include "binding_ops.h"

namespace admm::binding {
// One lock for the whole process (every worker thread's instance of the addon shares this
// library's statics): see runGuarded.
std::mutex& kernelMutex() {
  static std::mutex m;
  return m;
}
}  // namespace admm::binding

namespace {

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  admm::binding::registerAdmmOps(env, exports);
  admm::binding::registerResyncOps(env, exports);
  admm::binding::registerBpttOps(env, exports);
  admm::binding::registerInternalOps(env, exports);
  admm::binding::registerMemoryOps(env, exports);
  exports.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  return exports;
}

}  // namespace

NODE_API_MODULE(admmirnn, InitModule)
