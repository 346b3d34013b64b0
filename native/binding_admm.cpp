// Node-API bindings of the ADMM kernels (see binding_ops.h for the sync/async machinery).
#include <napi.h>

#include <climits>
#include <cmath>
#include <string>
#include <tuple>

#include "binding_ops.h"
#include "parallel.h"

namespace admm::binding {
namespace {

// ---- ops ------------------------------------------------------------------

struct InputProjectionOp {
  static constexpr const char* kName = "inputProjection";
  Shape s; Inputs in; const float *U, *b; float* out;
  void parse(Args& a) {
    s = a.shape(); in = a.inputs(s);
    U = a.f32("U", s.h * s.d); b = a.f32("b", s.h); out = a.f32Out("out", s.N * s.T * s.h);
    a.requireDisjoint({{"out", out, s.N * s.T * s.h}}, {{"x", in.x, in.x ? s.N * s.T * s.d : 0}, {"U", U, s.h * s.d}, {"b", b, s.h}});
  }
  Status run() { inputProjection(s, in, U, b, out); return {}; }
  Napi::Value result(Napi::Env env) { return env.Undefined(); }
};

struct RecurrentAffineOp {
  static constexpr const char* kName = "recurrentAffine";
  Shape s; const float *XU, *S, *W; float* out;
  void parse(Args& a) {
    s = a.shape();
    const int64_t n = s.N * s.T * s.h;
    XU = a.f32("XU", n); S = a.f32("S", n); W = a.f32("W", s.h * s.h); out = a.f32Out("out", n);
    // P starts as a copy of XU and its first rows are restored from XU afterwards: no aliasing.
    a.requireDisjoint({{"out", out, n}}, {{"XU", XU, n}, {"S", S, n}, {"W", W, s.h * s.h}});
  }
  Status run() { recurrentAffine(s, XU, S, W, out); return {}; }
  Napi::Value result(Napi::Env env) { return env.Undefined(); }
};

struct ReadoutOp {
  static constexpr const char* kName = "readout";
  Shape s; const float *S, *V, *c; float* out;
  void parse(Args& a) {
    s = a.shape();
    S = a.f32("S", s.N * s.T * s.h); V = a.f32("V", s.K * s.h); c = a.f32("c", s.K);
    out = a.f32Out("out", s.N * s.L() * s.K);
    a.requireDisjoint({{"out", out, s.N * s.L() * s.K}}, {{"S", S, s.N * s.T * s.h}, {"V", V, s.K * s.h}, {"c", c, s.K}});
  }
  Status run() { readout(s, S, V, c, out); return {}; }
  Napi::Value result(Napi::Env env) { return env.Undefined(); }
};

struct ForwardOp {
  static constexpr const char* kName = "forward";
  Shape s; Inputs in; const float *U, *W, *b, *V, *c; float *A, *S, *O;
  void parse(Args& a) {
    s = a.shape(); in = a.inputs(s);
    U = a.f32("U", s.h * s.d); W = a.f32("W", s.h * s.h); b = a.f32("b", s.h);
    V = a.f32("V", s.K * s.h); c = a.f32("c", s.K);
    A = a.f32OutOptional("A", s.N * s.T * s.h); S = a.f32OutOptional("S", s.N * s.T * s.h);
    O = a.f32Out("O", s.N * s.L() * s.K);
    if (A && !S) a.typeError("S", "a Float32Array when A is given");
    const int64_t n = s.N * s.T * s.h;
    a.requireDisjoint({{"A", A, n}, {"S", S, n}, {"O", O, s.N * s.L() * s.K}},
                      {{"x", in.x, in.x ? s.N * s.T * s.d : 0}, {"U", U, s.h * s.d}, {"W", W, s.h * s.h}, {"b", b, s.h},
                       {"V", V, s.K * s.h}, {"c", c, s.K}});
  }
  Status run() { forward(s, in, U, W, b, V, c, A, S, O); return {}; }
  Napi::Value result(Napi::Env env) { return env.Undefined(); }
};

void parseWeightStep(Args& a, WeightStep& w, const char* rhoName) {
  w.rho = static_cast<float>(a.number(rhoName, 1e-12, 1e12));
  w.beta = static_cast<float>(a.numberOr("beta", 0, 1e12, 0));
  w.eta = static_cast<float>(a.numberOr("eta", 0, 1e12, 0));
  w.linearized = a.booleanOr("linearized", false);
  w.theta = a.numberOr("theta", 1e-12, 1e30, 1);
}

Napi::Value weightResult(Napi::Env env, const WeightStep& w) { return Napi::Number::New(env, w.theta); }

struct SolveUWbOp {
  static constexpr const char* kName = "solveUWb";
  Shape s; Inputs in; const float *S, *A, *M1; float *scratch, *U, *W, *b; WeightStep step;
  void parse(Args& a) {
    s = a.shape(); in = a.inputs(s);
    const int64_t n = s.N * s.T * s.h;
    S = a.f32("S", n); A = a.f32("A", n); M1 = a.f32("M1", n); scratch = a.f32Out("scratch", n);
    U = a.f32Out("U", s.h * s.d); W = a.f32Out("W", s.h * s.h); b = a.f32Out("b", s.h);
    parseWeightStep(a, step, "rho1");
    a.requireDisjoint({{"U", U, s.h * s.d}, {"W", W, s.h * s.h}, {"b", b, s.h}, {"scratch", scratch, n}},
                      {{"x", in.x, in.x ? s.N * s.T * s.d : 0}, {"S", S, n}, {"A", A, n}, {"M1", M1, n}});
  }
  Status run() { return solveUWb(s, in, S, A, M1, scratch, step, U, W, b); }
  Napi::Value result(Napi::Env env) { return weightResult(env, step); }
};

struct SolveVcOp {
  static constexpr const char* kName = "solveVc";
  Shape s; const float *S, *O, *M3; float *V, *c; WeightStep step;
  void parse(Args& a) {
    s = a.shape();
    S = a.f32("S", s.N * s.T * s.h); O = a.f32("O", s.N * s.L() * s.K); M3 = a.f32("M3", s.N * s.L() * s.K);
    V = a.f32Out("V", s.K * s.h); c = a.f32Out("c", s.K);
    parseWeightStep(a, step, "rho3");
    const int64_t no = s.N * s.L() * s.K;
    a.requireDisjoint({{"V", V, s.K * s.h}, {"c", c, s.K}}, {{"S", S, s.N * s.T * s.h}, {"O", O, no}, {"M3", M3, no}});
  }
  Status run() { return solveVc(s, S, O, M3, step, V, c); }
  Napi::Value result(Napi::Env env) { return weightResult(env, step); }
};

// Chunked sweeps: Gram/RHS accumulation per chunk, then one solve (weights.cpp).
struct AccumulateUWbOp {
  static constexpr const char* kName = "accumulateUWb";
  Shape s; Inputs in; const float *S, *A, *M1; float *scratch, *G, *R;
  void parse(Args& a) {
    s = a.shape(); in = a.inputs(s);
    const int64_t n = s.N * s.T * s.h, m = s.d + s.h + 1;
    S = a.f32("S", n); A = a.f32("A", n); M1 = a.f32("M1", n); scratch = a.f32Out("scratch", n);
    G = a.f32Out("G", m * m); R = a.f32Out("R", s.h * m);
    a.requireDisjoint({{"scratch", scratch, n}, {"G", G, m * m}, {"R", R, s.h * m}},
                      {{"x", in.x, in.x ? s.N * s.T * s.d : 0}, {"S", S, n}, {"A", A, n}, {"M1", M1, n}});
  }
  Status run() { accumulateUWb(s, in, S, A, M1, scratch, G, R); return {}; }
  Napi::Value result(Napi::Env env) { return env.Undefined(); }
};

struct SolveUWbFromGramOp {
  static constexpr const char* kName = "solveUWbFromGram";
  Shape s; const float *G, *R; float *U, *W, *b; WeightStep step;
  void parse(Args& a) {
    s = a.shape();
    const int64_t m = s.d + s.h + 1;
    G = a.f32("G", m * m); R = a.f32("R", s.h * m);
    U = a.f32Out("U", s.h * s.d); W = a.f32Out("W", s.h * s.h); b = a.f32Out("b", s.h);
    parseWeightStep(a, step, "rho1");
    a.requireDisjoint({{"U", U, s.h * s.d}, {"W", W, s.h * s.h}, {"b", b, s.h}}, {{"G", G, m * m}, {"R", R, s.h * m}});
  }
  Status run() { return solveUWbFromGram(s, G, R, step, U, W, b); }
  Napi::Value result(Napi::Env env) { return weightResult(env, step); }
};

struct AccumulateVcOp {
  static constexpr const char* kName = "accumulateVc";
  Shape s; const float *S, *O, *M3; float *G, *R;
  void parse(Args& a) {
    s = a.shape();
    const int64_t no = s.N * s.L() * s.K, m = s.h + 1;
    S = a.f32("S", s.N * s.T * s.h); O = a.f32("O", no); M3 = a.f32("M3", no);
    G = a.f32Out("G", m * m); R = a.f32Out("R", s.K * m);
    a.requireDisjoint({{"G", G, m * m}, {"R", R, s.K * m}}, {{"S", S, s.N * s.T * s.h}, {"O", O, no}, {"M3", M3, no}});
  }
  Status run() { accumulateVc(s, S, O, M3, G, R); return {}; }
  Napi::Value result(Napi::Env env) { return env.Undefined(); }
};

struct SolveVcFromGramOp {
  static constexpr const char* kName = "solveVcFromGram";
  Shape s; const float *G, *R; float *V, *c; WeightStep step;
  void parse(Args& a) {
    s = a.shape();
    const int64_t m = s.h + 1;
    G = a.f32("G", m * m); R = a.f32("R", s.K * m);
    V = a.f32Out("V", s.K * s.h); c = a.f32Out("c", s.K);
    parseWeightStep(a, step, "rho3");
    a.requireDisjoint({{"V", V, s.K * s.h}, {"c", c, s.K}}, {{"G", G, m * m}, {"R", R, s.K * m}});
  }
  Status run() { return solveVcFromGram(s, G, R, step, V, c); }
  Napi::Value result(Napi::Env env) { return weightResult(env, step); }
};

struct TanhOp {
  static constexpr const char* kName = "tanh";
  int64_t n = 0; const float* A; float* out;
  void parse(Args& a) {
    n = a.integer("n", 1, int64_t{1} << 40);
    A = a.f32("A", n); out = a.f32Out("out", n);
    a.requireDisjoint({{"out", out, n}}, {{"A", A, n}});
  }
  Status run() { tanhInto(n, A, out); return {}; }
  Napi::Value result(Napi::Env env) { return env.Undefined(); }
};

Napi::Value changeResult(Napi::Env env, double change, double theta) {
  Napi::Object r = Napi::Object::New(env);
  r.Set("change", change);
  r.Set("theta", theta);
  return r;
}

struct AStepOp {
  static constexpr const char* kName = "aStep";
  int64_t n = 0; const float *P, *M1, *S, *M2; float *A, *TA; float rho1, rho2; bool linearized;
  AStepFinish finish = AStepFinish::kReference;
  double theta = 1, change = 0;
  void parse(Args& a) {
    n = a.integer("n", 1, int64_t{1} << 40);
    P = a.f32("P", n); M1 = a.f32("M1", n); S = a.f32("S", n); M2 = a.f32("M2", n);
    A = a.f32Out("A", n); TA = a.f32Out("TA", n);
    rho1 = static_cast<float>(a.number("rho1", 1e-12, 1e12));
    rho2 = static_cast<float>(a.number("rho2", 0, 1e12));
    linearized = a.booleanOr("linearized", false);
    theta = a.numberOr("theta", 1e-12, 1e30, 1);
    if (a.has("finish") && a.choice("finish", {"reference", "shortcuts"}) == "shortcuts")
      finish = AStepFinish::kShortcuts;
    a.requireDisjoint({{"TA", TA, n}, {"A", A, n}}, {{"P", P, n}, {"M1", M1, n}, {"S", S, n}, {"M2", M2, n}});
  }
  Status run() {
    // The kernel looks c(|q|) up in a table indexed by q = S + M2: a NaN q would index out of
    // bounds (activations.cpp, ConvexityTable::upperBound), so it is reported here instead.
    const int64_t bad = parallelFirst(n, int64_t{1} << 16,
                                      [&](int64_t k) { return !std::isfinite(static_cast<double>(S[k]) + M2[k]); });
    if (bad < n)
      return Status::error(StatusCode::kNonFinite, "S + M2 is not finite at element " + std::to_string(bad) +
                                                       " (NaN or Infinity in the states or their duals)");
    change = aStep(n, P, M1, S, M2, rho1, rho2, linearized, &theta, A, TA, finish);
    return {};
  }
  Napi::Value result(Napi::Env env) { return changeResult(env, change, theta); }
};

struct SStepOp {
  static constexpr const char* kName = "sStep";
  Shape s; const float *A, *TA, *M1, *M2, *XU, *O, *M3, *W, *V, *c, *S; float* out; Penalties rho;
  bool linearized; double theta = 1, change = 0;
  void parse(Args& a) {
    s = a.shape();
    const int64_t n = s.N * s.T * s.h, no = s.N * s.L() * s.K;
    A = a.f32("A", n); TA = a.f32("TA", n); M1 = a.f32("M1", n); M2 = a.f32("M2", n); XU = a.f32("XU", n);
    O = a.f32("O", no); M3 = a.f32("M3", no);
    W = a.f32("W", s.h * s.h); V = a.f32("V", s.K * s.h); c = a.f32("c", s.K);
    S = a.f32("S", n); out = a.f32Out("out", n);
    rho.rho1 = static_cast<float>(a.number("rho1", 0, 1e12));
    rho.rho2 = static_cast<float>(a.number("rho2", 1e-12, 1e12));
    rho.rho3 = static_cast<float>(a.number("rho3", 0, 1e12));
    linearized = a.booleanOr("linearized", false);
    theta = a.numberOr("theta", 1e-12, 1e30, 1);
    a.requireDisjoint({{"out", out, n}}, {{"A", A, n}, {"TA", TA, n}, {"M1", M1, n}, {"M2", M2, n}, {"XU", XU, n}, {"S", S, n},
                                        {"O", O, no}, {"M3", M3, no}, {"W", W, s.h * s.h}, {"V", V, s.K * s.h}, {"c", c, s.K}});
  }
  Status run() { return sStep(s, A, TA, M1, M2, XU, O, M3, W, V, c, S, rho, linearized, &theta, out, &change); }
  Napi::Value result(Napi::Env env) { return changeResult(env, change, theta); }
};

struct OStepOp {
  static constexpr const char* kName = "oStep";
  Shape s; const float *S, *V, *c, *M3; float* O; Targets y; Loss loss; float rho3; double change = 0;
  void parse(Args& a) {
    s = a.shape();
    loss = a.loss();
    S = a.f32("S", s.N * s.T * s.h); V = a.f32("V", s.K * s.h); c = a.f32("c", s.K);
    M3 = a.f32("M3", s.N * s.L() * s.K); O = a.f32Out("O", s.N * s.L() * s.K);
    y = a.targets(s, loss);
    rho3 = static_cast<float>(a.number("rho3", 1e-12, 1e12));
    const int64_t no = s.N * s.L() * s.K;
    a.requireDisjoint({{"O", O, no}}, {{"S", S, s.N * s.T * s.h}, {"V", V, s.K * s.h}, {"c", c, s.K}, {"M3", M3, no},
                                       {"values", y.values, y.values ? no : 0}});
  }
  Status run() { change = oStep(s, S, V, c, M3, y, loss, rho3, O); return {}; }
  Napi::Value result(Napi::Env env) { return Napi::Number::New(env, change); }
};

struct SgemmOp {
  static constexpr const char* kName = "sgemm";
  int m, n, k; const float *A, *B; float* C;
  void parse(Args& a) {
    m = static_cast<int>(a.integer("m", 1, 1 << 20)); n = static_cast<int>(a.integer("n", 1, 1 << 20));
    k = static_cast<int>(a.integer("k", 1, 1 << 20));
    A = a.f32("A", checkedProduct(a, "A", {m, k}, INT32_MAX)); B = a.f32("B", checkedProduct(a, "B", {k, n}, INT32_MAX));
    C = a.f32Out("C", checkedProduct(a, "C", {m, n}, INT32_MAX));
    a.requireDisjoint({{"C", C, int64_t{m} * n}}, {{"A", A, int64_t{m} * k}, {"B", B, int64_t{k} * n}});
  }
  Status run() { sgemm(m, n, k, A, B, C, true); return {}; }
  Napi::Value result(Napi::Env env) { return env.Undefined(); }
};

// ---- plain synchronous helpers ---------------------------------------------

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  Napi::Object r = Napi::Object::New(info.Env());
  r.Set("blas", blasThreads());
  r.Set("elementwise", elementwiseThreads());
  return r;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Args a(info, "setThreads");
  if (a.has("blas")) setBlasThreads(static_cast<int>(a.integer("blas", 1, 256)));
  if (a.has("elementwise")) setElementwiseThreads(static_cast<int>(a.integer("elementwise", 1, 64)));
  return GetThreads(info);
}

}  // namespace

void registerAdmmOps(Napi::Env env, Napi::Object exports) {
  takeOverBlasThreads();
  exportOp<InputProjectionOp>(env, exports);
  exportOp<RecurrentAffineOp>(env, exports);
  exportOp<ReadoutOp>(env, exports);
  exportOp<ForwardOp>(env, exports);
  exportOp<SolveUWbOp>(env, exports);
  exportOp<SolveVcOp>(env, exports);
  exportOp<AccumulateUWbOp>(env, exports);
  exportOp<SolveUWbFromGramOp>(env, exports);
  exportOp<AccumulateVcOp>(env, exports);
  exportOp<SolveVcFromGramOp>(env, exports);
  exportOp<TanhOp>(env, exports);
  exportOp<AStepOp>(env, exports);
  exportOp<SStepOp>(env, exports);
  exportOp<OStepOp>(env, exports);
  exportOp<SgemmOp>(env, exports);
  exports.Set("getThreads", Napi::Function::New(env, GetThreads, "getThreads"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
}

}  // namespace admm::binding
