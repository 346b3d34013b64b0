// Closed-form (KKT) multipliers at the forward point; see resync.h.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "blas.h"
#include "resync.h"
#include "scratch.h"

namespace admm {
namespace {

// λ3 = −∂R/∂o for one output row.
void outputMultiplier(const float* o, int64_t K, Loss loss, const Targets& y, int64_t row, float* lambda) {
  if (loss == Loss::kSquaredError) {
    for (int64_t k = 0; k < K; ++k) lambda[k] = y.values[row * K + k] - o[k];
    return;
  }
  float max = o[0];
  for (int64_t k = 1; k < K; ++k) max = std::max(max, o[k]);
  double z = 0;
  for (int64_t k = 0; k < K; ++k) z += std::exp(static_cast<double>(o[k] - max));
  for (int64_t k = 0; k < K; ++k) lambda[k] = static_cast<float>(-std::exp(static_cast<double>(o[k] - max)) / z);
  lambda[y.labels[row]] += 1.0f;
}

}  // namespace

void adjointMultipliers(const Shape& s, const float* S, const float* O, const Targets& y, Loss loss, const float* W,
                        const float* V, float rho1, float rho3, float* M1, float* M3, float* stepNorms) {
  const int64_t N = s.N, T = s.T, h = s.h, K = s.K, L = s.L(), ld = T * h;
  for (int64_t r = 0; r < N * L; ++r) {
    outputMultiplier(O + r * K, K, loss, y, r, M3 + r * K);
    for (int64_t k = 0; k < K; ++k) M3[r * K + k] /= rho3;
  }
  float* const lambda2 = scratchBuffer<struct AdjointLambda2>(static_cast<size_t>(N * h));
  for (int64_t t = T - 1; t >= 0; --t) {
    // λ2_t (rows) = λ1_{t+1} W + λ3_t V, with λ1 = ρ1·M1 and λ3 = ρ3·M3.
    std::fill(lambda2, lambda2 + N * h, 0.0f);
    if (t + 1 < T)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, asInt(N), asInt(h), asInt(h), rho1, M1 + (t + 1) * h,
                  asInt(ld), W, asInt(h), 0.0f, lambda2, asInt(h));
    if (s.everyStep || t == T - 1) {
      const float* m3 = M3 + (s.everyStep ? t * K : 0);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, asInt(N), asInt(h), asInt(K), rho3, m3, asInt(L * K), V,
                  asInt(h), 1.0f, lambda2, asInt(h));
    }
    double norm = 0;
    for (int64_t n = 0; n < N; ++n) {
      const float* st = S + s.stateRow(n, t);
      float* m1 = M1 + s.stateRow(n, t);
      const float* l2 = lambda2 + n * h;
      for (int64_t i = 0; i < h; ++i) {
        norm += static_cast<double>(l2[i]) * l2[i];
        m1[i] = (1.0f - st[i] * st[i]) * l2[i] / rho1;
      }
    }
    if (stepNorms) stepNorms[t] = static_cast<float>(std::sqrt(norm));
  }
}

}  // namespace admm
