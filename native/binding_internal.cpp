// The addon's `internal` object: what tests and benchmarks need and the library does not.
// lib/native.ts takes it off the binding it exports (admmirnn/native does not carry it);
// lib/internal/test-hooks.ts is its one typed door.
//   convexityThreshold({ q })    the a-step's c(|q|), checked against a float64 scan in the tests
//   injectFault({ site, kind })  site 'blocks' | 'chunks' | 'none': worker 1 of every later fork
//                                throws (kind 'out-of-memory', the default, or 'internal')
//   sgemmThreaded(Async)         one OpenBLAS call on its own threads, the benchmarks' reference rate
#include <napi.h>

#include "binding_ops.h"
#include "parallel.h"

namespace admm::binding {
namespace {

struct SgemmThreadedOp {
  static constexpr const char* kName = "sgemmThreaded";
  int m, n, k; const float *A, *B; float* C;
  void parse(Args& a) {
    m = static_cast<int>(a.integer("m", 1, 1 << 20)); n = static_cast<int>(a.integer("n", 1, 1 << 20));
    k = static_cast<int>(a.integer("k", 1, 1 << 20));
    A = a.f32("A", checkedProduct(a, "A", {m, k}, INT32_MAX));
    B = a.f32("B", checkedProduct(a, "B", {k, n}, INT32_MAX));
    C = a.f32Out("C", checkedProduct(a, "C", {m, n}, INT32_MAX));
    a.requireDisjoint({{"C", C, int64_t{m} * n}}, {{"A", A, int64_t{m} * k}, {"B", B, int64_t{k} * n}});
  }
  Status run() { sgemm(m, n, k, A, B, C, false); return {}; }
  Napi::Value result(Napi::Env env) { return env.Undefined(); }
};

Napi::Value ConvexityThreshold(const Napi::CallbackInfo& info) {
  Args a(info, "convexityThreshold");
  return Napi::Number::New(info.Env(), convexityThreshold(a.number("q", -1e6, 1e6)));
}

Napi::Value InjectFault(const Napi::CallbackInfo& info) {
  Args a(info, "injectFault");
  const std::string site = a.choice("site", {"none", "blocks", "chunks"});
  const bool internal = a.has("kind") && a.choice("kind", {"out-of-memory", "internal"}) == "internal";
  setInjectedFault(site == "blocks" ? FaultSite::kBlocks : site == "chunks" ? FaultSite::kChunks : FaultSite::kNone,
                   internal ? FaultKind::kInternal : FaultKind::kOutOfMemory);
  return info.Env().Undefined();
}

}  // namespace

void registerInternalOps(Napi::Env env, Napi::Object exports) {
  Napi::Object internal = Napi::Object::New(env);
  exportOp<SgemmThreadedOp>(env, internal);
  internal.Set("convexityThreshold", Napi::Function::New(env, ConvexityThreshold, "convexityThreshold"));
  internal.Set("injectFault", Napi::Function::New(env, InjectFault, "injectFault"));
  exports.Set("internal", internal);
}

}  // namespace admm::binding
