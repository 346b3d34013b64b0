// Node-API bindings of the resynchronised-mode kernels (resync.h), sync and Promise twins.
#include <napi.h>


#include "binding_ops.h"
#include "resync.h"

namespace admm::binding {
namespace {

struct AdjointMultipliersOp {
  static constexpr const char* kName = "adjointMultipliers";
  Shape s; const float *S, *O, *W, *V; Targets y; Loss loss; float rho1, rho3; float *M1, *M3, *stepNorms;
  void parse(Args& a) {
    s = a.shape();
    loss = a.loss();
    const int64_t n = s.N * s.T * s.h, no = s.N * s.L() * s.K;
    S = a.f32("S", n); O = a.f32("O", no); y = a.targets(s, loss);
    W = a.f32("W", s.h * s.h); V = a.f32("V", s.K * s.h);
    rho1 = static_cast<float>(a.number("rho1", 1e-12, 1e12));
    rho3 = static_cast<float>(a.number("rho3", 1e-12, 1e12));
    M1 = a.f32Out("M1", n); M3 = a.f32Out("M3", no); stepNorms = a.f32OutOptional("stepNorms", s.T);
    a.requireDisjoint({{"M1", M1, n}, {"M3", M3, no}, {"stepNorms", stepNorms, stepNorms ? s.T : 0}},
                      {{"S", S, n}, {"O", O, no}, {"W", W, s.h * s.h}, {"V", V, s.K * s.h},
                       {"values", y.values, y.values ? no : 0}});
  }
  Status run() { adjointMultipliers(s, S, O, y, loss, W, V, rho1, rho3, M1, M3, stepNorms); return {}; }
  Napi::Value result(Napi::Env env) { return env.Undefined(); }
};

struct LocalDualWalkOp {
  static constexpr const char* kName = "localDualWalk";
  Shape s; Inputs in; const float *U, *W, *b, *V, *c, *S; Targets y; Loss loss; LocalWalk walk;
  float *A, *O, *M1, *M3, *Saux, *stepNorms;
  void parse(Args& a) {
    s = a.shape(); in = a.inputs(s);
    loss = a.loss();
    const int64_t n = s.N * s.T * s.h, no = s.N * s.L() * s.K;
    U = a.f32("U", s.h * s.d); W = a.f32("W", s.h * s.h); b = a.f32("b", s.h);
    V = a.f32("V", s.K * s.h); c = a.f32("c", s.K);
    S = a.f32("S", n); y = a.targets(s, loss);
    A = a.f32Out("A", n); O = a.f32Out("O", no); M1 = a.f32Out("M1", n); M3 = a.f32Out("M3", no);
    Saux = a.f32Out("Saux", n); stepNorms = a.f32OutOptional("stepNorms", s.T);
    walk.rho.rho1 = static_cast<float>(a.number("rho1", 1e-12, 1e12));
    walk.rho.rho2 = static_cast<float>(a.number("rho2", 1e-12, 1e12));
    walk.rho.rho3 = static_cast<float>(a.number("rho3", 1e-12, 1e12));
    walk.sweeps = static_cast<int>(a.integer("sweeps", 1, 1000));
    walk.gamma = static_cast<float>(a.number("gamma", 1e-6, 100));
    walk.cancel = a.cancelFlag("cancel");
    // Every output is its own memory (A and O are read, then overwritten in place).
    a.requireDisjoint({{"A", A, n}, {"O", O, no}, {"M1", M1, n}, {"M3", M3, no}, {"Saux", Saux, n},
                       {"stepNorms", stepNorms, stepNorms ? s.T : 0}},
                      {{"S", S, n}, {"U", U, s.h * s.d}, {"W", W, s.h * s.h}, {"b", b, s.h}, {"V", V, s.K * s.h},
                       {"c", c, s.K}, {"x", in.x, in.x ? s.N * s.T * s.d : 0}, {"values", y.values, y.values ? no : 0}});
  }
  Status run() { return localDualWalk(s, in, U, W, b, V, c, S, y, loss, walk, A, O, M1, M3, Saux, stepNorms); }
  Napi::Value result(Napi::Env env) { return env.Undefined(); }
};

}  // namespace

void registerResyncOps(Napi::Env env, Napi::Object exports) {
  exportOp<AdjointMultipliersOp>(env, exports);
  exportOp<LocalDualWalkOp>(env, exports);
}

}  // namespace admm::binding
