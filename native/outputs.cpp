// Block 5: the proximal step of the loss on every loss step,
//   o = argmin R(o, y) + ρ3/2 ‖o − m‖²,  m = V s_t + c − μ3_t.
// Squared error R = ½‖o − y‖² has a closed form. Softmax cross-entropy is strictly convex:
// Newton with the Hessian diag(p) − ppᵀ + ρ3 I inverted by Sherman–Morrison, step halving,
// and never a step that increases the objective.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"
#include "parallel.h"
#include "scratch.h"

namespace admm {
namespace {

// log Σ exp(o) and the softmax probabilities.
double logSumExp(const std::vector<double>& o, std::vector<double>& p) {
  const double mx = *std::max_element(o.begin(), o.end());
  double sum = 0;
  for (size_t k = 0; k < o.size(); ++k) sum += (p[k] = std::exp(o[k] - mx));
  for (double& v : p) v /= sum;
  return mx + std::log(sum);
}

struct CrossEntropyProx {
  const float* m;
  int32_t y;
  double rho;
  std::vector<double>& p;
  double value(const std::vector<double>& o) const {
    double prox = 0;
    for (size_t k = 0; k < o.size(); ++k) prox += (o[k] - m[k]) * (o[k] - m[k]);
    return logSumExp(o, p) - o[y] + 0.5 * rho * prox;
  }
};

void solveCrossEntropyRow(int K, const float* m, int32_t y, double rho, float* out) {
  std::vector<double> o(out, out + K), p(K), g(K), dir(K), trial(K);
  const CrossEntropyProx f{m, y, rho, p};
  double fo = f.value(o);  // also leaves softmax(o) in p
  for (int it = 0; it < 50; ++it) {
    double pDp = 0, pDg = 0, scale = 0;
    for (int k = 0; k < K; ++k) {
      g[k] = p[k] - (k == y) + rho * (o[k] - m[k]);
      const double dk = p[k] + rho;
      pDp += p[k] * p[k] / dk;
      pDg += p[k] * g[k] / dk;
    }
    const double sm = pDg / (1 - pDp);
    double stepNorm = 0;
    for (int k = 0; k < K; ++k) {
      dir[k] = -(g[k] + p[k] * sm) / (p[k] + rho);
      stepNorm = std::max(stepNorm, std::fabs(dir[k]));
      scale = std::max(scale, std::fabs(o[k]));
    }
    if (stepNorm <= 1e-7 * (1 + scale)) break;
    double t = 1, ft = fo;
    bool accepted = false;
    for (int halve = 0; halve < 30 && !accepted; ++halve, t *= 0.5) {
      for (int k = 0; k < K; ++k) trial[k] = o[k] + t * dir[k];
      ft = f.value(trial);
      accepted = ft <= fo;
    }
    if (!accepted) break;
    o.swap(trial);
    fo = ft;
    f.value(o);  // refresh p for the new point
  }
  for (int k = 0; k < K; ++k) out[k] = static_cast<float>(o[k]);
}

}  // namespace

double oStep(const Shape& s, const float* S, const float* V, const float* c, const float* M3, const Targets& y,
             Loss loss, float rho3, float* O) {
  const int64_t rows = s.N * s.L(), K = s.K;
  float* m = scratchBuffer<struct OutputMeans>(static_cast<size_t>(rows * K));  // reused: fresh pages are expensive
  readout(s, S, V, c, m);
  for (int64_t k = 0; k < rows * K; ++k) m[k] -= M3[k];
  return parallelSum(rows, 64, [&](int64_t r0, int64_t r1) {
    double change = 0;
    std::vector<float> before(static_cast<size_t>(K));
    for (int64_t r = r0; r < r1; ++r) {
      float* o = O + r * K;
      const float* mr = m + r * K;
      std::copy(o, o + K, before.begin());
      if (loss == Loss::kSquaredError) {
        for (int64_t k = 0; k < K; ++k) o[k] = (y.values[r * K + k] + rho3 * mr[k]) / (1 + rho3);
      } else {
        solveCrossEntropyRow(static_cast<int>(K), mr, y.labels[r], rho3, o);
      }
      for (int64_t k = 0; k < K; ++k) change += (static_cast<double>(o[k]) - before[k]) * (static_cast<double>(o[k]) - before[k]);
    }
    return change;
  });
}

void proxCrossEntropyRow(int K, const float* m, int32_t y, double rho, float* o) { solveCrossEntropyRow(K, m, y, rho, o); }

}  // namespace admm
