// BPTT: forward keeping the states, loss and its output gradient, backward through all steps.
// Internally time-major ([T, B, ·]) so every step's batch is one contiguous block: the input,
// readout and weight-gradient products then run as single GEMMs over all T·B rows and only
// the two recurrences (S_{t-1} Wᵀ forward, dA_t W backward) are per-step GEMMs.
#include "bptt.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "blas.h"
#include "bptt_elementwise.h"
#include "row_parallel.h"
#include "scratch.h"

namespace admm {
namespace {

// out [cols] = Σ over rows of M [rows, cols], as the product Mᵀ·1 (BLAS, float accumulation).
void columnSums(const float* M, int64_t rows, int64_t cols, float* out) {
  float* const ones = scratchBuffer<struct ColumnSumOnes>(static_cast<size_t>(rows));
  std::fill(ones, ones + rows, 1.0f);
  cblas_sgemv(CblasRowMajor, CblasTrans, asInt(rows), asInt(cols), 1.0f, M, asInt(cols), ones, 1, 0.0f, out, 1);
}

// Loss of one output row and, in place, its gradient scale · ∂R/∂o.
double lossRow(float* o, int64_t K, Loss loss, const Targets& y, int64_t target, float scale, bool* hit) {
  if (loss == Loss::kSquaredError) {
    const float* v = y.values + target * K;
    double sum = 0;
    for (int64_t k = 0; k < K; ++k) {
      const float e = o[k] - v[k];
      sum += 0.5 * static_cast<double>(e) * e;
      o[k] = scale * e;
    }
    return sum;
  }
  const int32_t label = y.labels[target];
  int64_t arg = 0;
  for (int64_t k = 1; k < K; ++k)
    if (o[k] > o[arg]) arg = k;
  const float max = o[arg];
  double z = 0;
  for (int64_t k = 0; k < K; ++k) z += std::exp(static_cast<double>(o[k] - max));
  const double value = std::log(z) + max - o[label];
  for (int64_t k = 0; k < K; ++k) o[k] = scale * static_cast<float>(std::exp(static_cast<double>(o[k] - max)) / z);
  o[label] -= scale;
  *hit = arg == label;
  return value;
}

// The batch's samples [first, first + B) of `batch` (or of all samples in order when batch is null),
// with their gradients written to `grads` and ‖∂L/∂s_t‖² added to stepNormSq[t]. `work` holds
// partFloats(s, B) floats.
BpttResult bpttPart(const Shape& s, const Inputs& in, const Targets& y, Loss loss, const int32_t* batch,
                    int64_t first, int64_t B, float scale, const float* U, const float* W, const float* b,
                    const float* V, const float* c, const BpttGradients* grads, double* stepNormSq,
                    float* work) {
  const int64_t T = s.T, d = s.d, h = s.h, K = s.K, TB = T * B;
  const auto sample = [&](int64_t j) -> int64_t { return batch ? batch[first + j] : first + j; };
  float* S = work;                                    // states s_t [TB, h]
  float* D = S + TB * h;                              // ∂L/∂s_t, turned into ∂L/∂a_t step by step
  float* O = D + TB * h;                              // outputs, then ∂L/∂o [rows, K]
  float* X = in.x ? O + TB * K : nullptr;             // the batch's inputs, time-major [TB, d]

  // ---- forward: S = X Uᵀ + 1bᵀ for all rows, then the recurrence step by step.
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < B; ++j) {
      const int64_t n = sample(j), row = t * B + j;
      float* st = S + row * h;
      if (in.x) {
        std::memcpy(X + row * d, in.x + (n * T + t) * d, sizeof(float) * d);
        std::memcpy(st, b, sizeof(float) * h);
      } else {
        const int64_t id = in.ids[n * T + t];
        for (int64_t i = 0; i < h; ++i) st[i] = U[i * d + id] + b[i];
      }
    }
  if (in.x)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, asInt(TB), asInt(h), asInt(d), 1.0f, X, asInt(d), U,
                asInt(d), 1.0f, S, asInt(h));
  for (int64_t t = 0; t < T; ++t) {
    float* st = S + t * B * h;
    if (t > 0)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, asInt(B), asInt(h), asInt(h), 1.0f, st - B * h,
                  asInt(h), W, asInt(h), 1.0f, st, asInt(h));
    tanhArray(st, st, B * h);
  }

  // ---- readout on the loss steps, loss, and ∂(scale·L)/∂o in place.
  const int64_t rows = s.everyStep ? TB : B;
  const float* SL = s.everyStep ? S : S + (T - 1) * B * h;
  for (int64_t r = 0; r < rows; ++r) std::memcpy(O + r * K, c, sizeof(float) * K);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, asInt(rows), asInt(K), asInt(h), 1.0f, SL, asInt(h), V,
              asInt(h), 1.0f, O, asInt(K));
  BpttResult result;
  result.count = rows;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t t = s.everyStep ? r / B : 0, n = sample(r % B);
    bool hit = false;
    result.loss += lossRow(O + r * K, K, loss, y, n * s.L() + t, scale, &hit);
    result.correct += hit ? 1 : 0;
  }

  if (!grads) return result;
  const BpttGradients& g = *grads;

  // ---- output weights: gV = dOᵀ S_L, gc = Σ dO; and ∂L/∂s from the outputs: D_L = dO V.
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, asInt(K), asInt(h), asInt(rows), 1.0f, O, asInt(K), SL,
              asInt(h), 0.0f, g.V, asInt(h));
  columnSums(O, rows, K, g.c);
  if (!s.everyStep) std::fill(D, D + (T - 1) * B * h, 0.0f);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, asInt(rows), asInt(h), asInt(K), 1.0f, O, asInt(K), V,
              asInt(h), 0.0f, s.everyStep ? D : D + (T - 1) * B * h, asInt(h));

  // ---- backward in time: D_t is complete once step t+1 has added dA_{t+1} W.
  for (int64_t t = T - 1; t >= 0; --t) {
    float* dt = D + t * B * h;
    const float* st = S + t * B * h;
    const double normSq = bptt::toPreactivationGradient(dt, st, B * h);
    if (stepNormSq) stepNormSq[t] += normSq;
    if (t > 0)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, asInt(B), asInt(h), asInt(h), 1.0f, dt, asInt(h), W,
                  asInt(h), 1.0f, dt - B * h, asInt(h));
  }

  // ---- input weights from dA over all rows: gW = Σ_{t≥1} dA_tᵀ S_{t-1}, gU = dAᵀ X, gb = Σ dA.
  if (T > 1)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, asInt(h), asInt(h), asInt((T - 1) * B), 1.0f, D + B * h,
                asInt(h), S, asInt(h), 0.0f, g.W, asInt(h));
  else
    std::fill(g.W, g.W + h * h, 0.0f);
  if (in.x) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, asInt(h), asInt(d), asInt(TB), 1.0f, D, asInt(h), X,
                asInt(d), 0.0f, g.U, asInt(d));
  } else {  // one-hot inputs: dA rows scatter into the columns of their token ids
    std::fill(g.U, g.U + h * d, 0.0f);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t j = 0; j < B; ++j) {
        const int64_t id = in.ids[sample(j) * T + t];
        const float* da = D + (t * B + j) * h;
        for (int64_t i = 0; i < h; ++i) g.U[i * d + id] += da[i];
      }
  }
  columnSums(D, TB, h, g.b);
  return result;
}

// Samples per part of a batch: each part runs forward and backward through all steps on one
// thread with single-threaded BLAS (parallelBlocks), so the per-step products and elementwise
// passes need no synchronisation between threads. The split depends on the batch size alone,
// never on the thread count, so the summed gradients are the same with one thread or several.
constexpr int64_t kPartSamples = 64;
constexpr int64_t kMaxParts = 8;

// Workspace floats of a part of B samples: S, D, O (at most T·B rows) and X.
int64_t partFloats(const Shape& s, const Inputs& in, int64_t B) {
  return s.T * B * (2 * s.h + s.K + (in.x ? s.d : 0));
}

}  // namespace

BpttResult bpttGradients(const Shape& s, const Inputs& in, const Targets& y, Loss loss,
                         const int32_t* batch, int64_t batchSize, float scale, const float* U,
                         const float* W, const float* b, const float* V, const float* c,
                         const BpttGradients* grads) {
  const int64_t B = batch ? batchSize : s.N;
  const int64_t parts = std::clamp<int64_t>(B / kPartSamples, 1, kMaxParts);
  const int64_t sizes[] = {s.h * s.d, s.h * s.h, s.h, s.K * s.h, s.K};
  int64_t gradFloats = 0;
  for (int64_t n : sizes) gradFloats += n;
  // Part 0 writes into the caller's gradients, the others into their own, added in part order.
  std::vector<float> partGrads(grads ? static_cast<size_t>((parts - 1) * gradFloats) : 0);
  std::vector<double> normSq(grads && grads->stepNorms ? static_cast<size_t>(parts * s.T) : 0, 0.0);
  std::vector<BpttResult> results(static_cast<size_t>(parts));
  // On the calling thread (a libuv pool thread that lives on): reused, no page faults per batch.
  const int64_t work = partFloats(s, in, (B + parts - 1) / parts);
  float* scratch = scratchBuffer<struct BpttParts>(static_cast<size_t>(parts * work));
  parallelBlocks(parts, [&](int64_t part, int) {
    const int64_t first = B * part / parts, count = B * (part + 1) / parts - first;
    BpttGradients g{};
    if (grads) {
      g = *grads;
      if (part > 0) {
        float* p = partGrads.data() + (part - 1) * gradFloats;
        float** outs[] = {&g.U, &g.W, &g.b, &g.V, &g.c};
        for (int i = 0; i < 5; ++i) {
          *outs[i] = p;
          p += sizes[i];
        }
      }
    }
    double* norms = normSq.empty() ? nullptr : normSq.data() + part * s.T;
    results[static_cast<size_t>(part)] =
        bpttPart(s, in, y, loss, batch, first, count, scale, U, W, b, V, c, grads ? &g : nullptr, norms,
                 scratch + part * work);
  });
  BpttResult total = results[0];
  for (int64_t part = 1; part < parts; ++part) {
    const BpttResult& r = results[static_cast<size_t>(part)];
    total.loss += r.loss;
    total.correct += r.correct;
    total.count += r.count;
    if (!grads) continue;
    const float* p = partGrads.data() + (part - 1) * gradFloats;
    float* outs[] = {grads->U, grads->W, grads->b, grads->V, grads->c};
    for (int i = 0; i < 5; ++i) {
      for (int64_t k = 0; k < sizes[i]; ++k) outs[i][k] += p[k];
      p += sizes[i];
    }
  }
  if (!normSq.empty())
    for (int64_t t = 0; t < s.T; ++t) {
      double sum = 0;
      for (int64_t part = 0; part < parts; ++part) sum += normSq[static_cast<size_t>(part * s.T + t)];
      grads->stepNorms[t] = static_cast<float>(std::sqrt(sum));
    }
  return total;
}

}  // namespace admm
