// Node-API binding of the BPTT kernel (bptt.h): `bpttGradients` and its Promise twin
// `bpttGradientsAsync`. Every size, index and label is checked before the kernel runs.
#include <napi.h>

#include <string>
#include <tuple>
#include <vector>

#include "binding_ops.h"
#include "bptt.h"

namespace admm::binding {
namespace {

struct BpttGradientsOp {
  static constexpr const char* kName = "bpttGradients";
  Shape s; Inputs in; Targets y; Loss loss = Loss::kSoftmaxCrossEntropy;
  const int32_t* batch = nullptr; int64_t batchSize = 0; float scale = 1;
  const float *U, *W, *b, *V, *c; BpttGradients g{}; BpttResult r;

  void parse(Args& a) {
    s = a.shape(); in = a.inputs(s);
    loss = a.choice("loss", {"softmax-cross-entropy", "squared-error"}) == "squared-error" ? Loss::kSquaredError
                                                                                           : Loss::kSoftmaxCrossEntropy;
    y = a.targets(s, loss);
    U = a.f32("U", s.h * s.d); W = a.f32("W", s.h * s.h); b = a.f32("b", s.h);
    V = a.f32("V", s.K * s.h); c = a.f32("c", s.K);
    g.U = a.f32("gU", s.h * s.d); g.W = a.f32("gW", s.h * s.h); g.b = a.f32("gb", s.h);
    g.V = a.f32("gV", s.K * s.h); g.c = a.f32("gc", s.K);
    g.stepNorms = a.f32Optional("stepNorms", s.T);
    scale = static_cast<float>(a.numberOr("scale", 0, 1e30, 1));
    parseBatch(a);
    checkOutputsDistinct(a);
  }

  // Optional mini-batch: `batch` (Int32Array of sample indices) with its length `batchSize`.
  void parseBatch(Args& a) {
    if (!a.has("batch")) {
      if (a.has("batchSize")) a.typeError("batch", "an Int32Array when batchSize is given");
      return;
    }
    batchSize = a.integer("batchSize", 1, s.N);
    batch = a.i32("batch", batchSize);
    for (int64_t j = 0; j < batchSize; ++j)
      if (batch[j] < 0 || batch[j] >= s.N)
        a.rangeError("batch", "sample indices in [0, " + std::to_string(s.N) + "), got " + std::to_string(batch[j]) +
                                  " at index " + std::to_string(j));
  }

  // The kernel writes the gradients while still reading the weights, inputs and targets.
  void checkOutputsDistinct(Args& a) {
    const int64_t h = s.h, d = s.d, K = s.K;
    const std::vector<std::tuple<const char*, const void*, int64_t>> outputs = {
        {"gU", g.U, h * d}, {"gW", g.W, h * h}, {"gb", g.b, h}, {"gV", g.V, K * h}, {"gc", g.c, K},
        {"stepNorms", g.stepNorms, g.stepNorms ? s.T : 0}};
    std::vector<std::tuple<const char*, const void*, int64_t>> inputs = {
        {"U", U, h * d}, {"W", W, h * h}, {"b", b, h}, {"V", V, K * h}, {"c", c, K}};
    if (in.x) inputs.emplace_back("x", in.x, s.N * s.T * d);
    if (y.values) inputs.emplace_back("values", y.values, s.N * s.L() * K);
    for (size_t i = 0; i < outputs.size(); ++i) {
      auto [outName, out, outLen] = outputs[i];
      for (auto [inName, p, len] : inputs) a.requireDistinct(outName, out, 4 * outLen, inName, p, 4 * len);
      for (size_t j = i + 1; j < outputs.size(); ++j) {
        auto [otherName, other, otherLen] = outputs[j];
        a.requireDistinct(outName, out, 4 * outLen, otherName, other, 4 * otherLen);
      }
    }
  }

  Status run() {
    r = bpttGradients(s, in, y, loss, batch, batchSize, scale, U, W, b, V, c, g);
    return {};
  }

  Napi::Value result(Napi::Env env) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("loss", r.loss);
    o.Set("correct", static_cast<double>(r.correct));
    o.Set("count", static_cast<double>(r.count));
    return o;
  }
};

}  // namespace

void registerBpttOps(Napi::Env env, Napi::Object exports) { exportOp<BpttGradientsOp>(env, exports); }

}  // namespace admm::binding
