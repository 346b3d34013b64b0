// Node-API bindings of the BPTT kernel (bptt.h): `bpttGradients` and `bpttLoss`, each with its
// Promise twin. Every size, index and label is checked before the kernel runs.
#include <napi.h>

#include "binding_ops.h"
#include "bptt.h"

namespace admm::binding {
namespace {

// What both ops read: shape, inputs, targets, weights and the optional mini-batch.
struct BpttInputs {
  Shape s; Inputs in; Targets y; Loss loss = Loss::kSoftmaxCrossEntropy;
  const int32_t* batch = nullptr; int64_t batchSize = 0;
  const float *U, *W, *b, *V, *c;

  void parse(Args& a) {
    s = a.shape(); in = a.inputs(s);
    loss = a.loss();
    y = a.targets(s, loss);
    U = a.f32("U", s.h * s.d); W = a.f32("W", s.h * s.h); b = a.f32("b", s.h);
    V = a.f32("V", s.K * s.h); c = a.f32("c", s.K);
    if (!a.has("batch")) {
      if (a.has("batchSize")) a.typeError("batch", "an Int32Array when batchSize is given");
      return;
    }
    batchSize = a.integer("batchSize", 1, s.N);
    batch = a.indices("batch", batchSize, s.N, "sample indices");
  }

  static Napi::Value result(Napi::Env env, const BpttResult& r) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("loss", r.loss);
    o.Set("correct", static_cast<double>(r.correct));
    o.Set("count", static_cast<double>(r.count));
    return o;
  }
};

struct BpttGradientsOp {
  static constexpr const char* kName = "bpttGradients";
  BpttInputs x; float scale = 1; BpttGradients g{}; BpttResult r;

  void parse(Args& a) {
    x.parse(a);
    const Shape& s = x.s;
    g.U = a.f32Out("gU", s.h * s.d); g.W = a.f32Out("gW", s.h * s.h); g.b = a.f32Out("gb", s.h);
    g.V = a.f32Out("gV", s.K * s.h); g.c = a.f32Out("gc", s.K);
    g.stepNorms = a.f32OutOptional("stepNorms", s.T);
    scale = static_cast<float>(a.numberOr("scale", 0, 1e30, 1));
    // The kernel writes the gradients while still reading the weights, inputs and targets.
    a.requireDisjoint({{"gU", g.U, s.h * s.d}, {"gW", g.W, s.h * s.h}, {"gb", g.b, s.h}, {"gV", g.V, s.K * s.h},
                       {"gc", g.c, s.K}, {"stepNorms", g.stepNorms, s.T}},
                      {{"U", x.U, s.h * s.d}, {"W", x.W, s.h * s.h}, {"b", x.b, s.h}, {"V", x.V, s.K * s.h},
                       {"c", x.c, s.K}, {"x", x.in.x, s.N * s.T * s.d}, {"values", x.y.values, s.N * s.L() * s.K}});
  }
  Status run() {
    r = bpttGradients(x.s, x.in, x.y, x.loss, x.batch, x.batchSize, scale, x.U, x.W, x.b, x.V, x.c, &g);
    return {};
  }
  Napi::Value result(Napi::Env env) { return BpttInputs::result(env, r); }
};

// The loss of a (mini-)batch alone: the forward half of bpttGradients.
struct BpttLossOp {
  static constexpr const char* kName = "bpttLoss";
  BpttInputs x; BpttResult r;
  void parse(Args& a) { x.parse(a); }
  Status run() {
    r = bpttGradients(x.s, x.in, x.y, x.loss, x.batch, x.batchSize, 1, x.U, x.W, x.b, x.V, x.c, nullptr);
    return {};
  }
  Napi::Value result(Napi::Env env) { return BpttInputs::result(env, r); }
};

}  // namespace

void registerBpttOps(Napi::Env env, Napi::Object exports) {
  exportOp<BpttGradientsOp>(env, exports);
  exportOp<BpttLossOp>(env, exports);
}

}  // namespace admm::binding
