// The gradient-free local dual walk of the 'local-duals' mode; see resync.h.
#include <cmath>
#include <cstring>
#include <vector>

#include "blas.h"
#include "fast_math.h"
#include "resync.h"
#include "scratch.h"

namespace admm {
namespace {

inline int asInt(int64_t v) { return static_cast<int>(v); }


}  // namespace

Status localDualWalk(const Shape& s, const Inputs& in, const float* U, const float* W, const float* b,
                     const float* V, const float* c, const float* S, const Targets& y, Loss loss,
                     const LocalWalk& walk, float* A, float* O, float* M1, float* M3, float* Saux,
                     float* stepNorms) {
  const int64_t N = s.N, T = s.T, h = s.h, K = s.K, L = s.L(), ld = T * h;
  const float rho1 = walk.rho.rho1, rho2 = walk.rho.rho2, rho3 = walk.rho.rho3, gamma = walk.gamma;
  // Reused per thread: fresh pages are expensive and this runs once per mini-batch.
  float* XU = scratchBuffer<struct WalkXU>(static_cast<size_t>(N * T * h));
  float* aFwd = scratchBuffer<struct WalkForwardA>(static_cast<size_t>(N * h));
  float* mu2 = scratchBuffer<struct WalkMu2>(static_cast<size_t>(N * h));
  float* ta = scratchBuffer<struct WalkTanhA>(static_cast<size_t>(N * h));
  float* pull = scratchBuffer<struct WalkPull>(static_cast<size_t>(N * h));
  float* succ = scratchBuffer<struct WalkSuccessor>(static_cast<size_t>(N * h));
  float* readout = scratchBuffer<struct WalkReadout>(static_cast<size_t>(N * K));
  inputProjection(s, in, U, b, XU);
  StateFactors factors = factorStateSystems(s, W, V, walk.rho);
  if (!factors.status.ok()) return factors.status;
  std::memcpy(Saux, S, sizeof(float) * N * T * h);
  std::fill(M1, M1 + N * T * h, 0.0f);
  std::fill(M3, M3 + N * L * K, 0.0f);

  for (int64_t t = T - 1; t >= 0; --t) {
    const bool lossStep = s.everyStep || t == T - 1;
    float* at = A + t * h;
    float* st = Saux + t * h;
    float* m1 = M1 + t * h;
    float* ot = O + (s.everyStep ? t * K : 0);
    float* m3 = M3 + (s.everyStep ? t * K : 0);
    const int64_t ldo = L * K;
    for (int64_t n = 0; n < N; ++n) {
      std::memcpy(aFwd + n * h, at + n * ld, sizeof(float) * h);
      for (int64_t i = 0; i < h; ++i) ta[n * h + i] = st[n * ld + i];  // tanh(a_fwd) = s_fwd
    }
    std::fill(mu2, mu2 + N * h, 0.0f);
    // The successor's pull, fixed for this step: ρ1 Wᵀ(a_{t+1} + μ1_{t+1} − U x_{t+1} − b).
    std::fill(succ, succ + N * h, 0.0f);
    if (t + 1 < T) {
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < h; ++i) {
          const int64_t k = s.stateRow(n, t + 1) + i;
          pull[n * h + i] = A[k] + M1[k] - XU[k];
        }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, asInt(N), asInt(h), asInt(h), rho1, pull, asInt(h), W,
                  asInt(h), 0.0f, succ, asInt(h));
    }
    auto refreshReadout = [&] {  // readout = s_t Vᵀ + c
      for (int64_t n = 0; n < N; ++n) std::memcpy(readout + n * K, c, sizeof(float) * K);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, asInt(N), asInt(K), asInt(h), 1.0f, st, asInt(ld), V,
                  asInt(h), 1.0f, readout, asInt(K));
    };
    for (int sweep = 0; sweep < walk.sweeps; ++sweep) {
      if (lossStep) {
        refreshReadout();
        for (int64_t n = 0; n < N; ++n) {
          float* o = ot + n * ldo;
          const float* mu3 = m3 + n * ldo;
          const int64_t row = s.everyStep ? n * T + t : n;
          float* m = readout + n * K;
          for (int64_t k = 0; k < K; ++k) m[k] -= mu3[k];
          if (loss == Loss::kSquaredError)
            for (int64_t k = 0; k < K; ++k) o[k] = (y.values[row * K + k] + rho3 * m[k]) / (1 + rho3);
          else
            proxCrossEntropyRow(static_cast<int>(K), m, y.labels[row], rho3, o);
        }
      }
      // s_t: right-hand side into the state rows, then the factored solve.
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < h; ++i) st[n * ld + i] = rho2 * (ta[n * h + i] - mu2[n * h + i]) + succ[n * h + i];
      if (lossStep) {
        for (int64_t n = 0; n < N; ++n)
          for (int64_t k = 0; k < K; ++k) readout[n * K + k] = ot[n * ldo + k] - c[k] + m3[n * ldo + k];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, asInt(N), asInt(h), asInt(K), rho3, readout, asInt(K), V,
                    asInt(h), 1.0f, st, asInt(ld));
      }
      solveStateRows(t + 1 < T ? factors.mid : factors.last, N, h, st, ld);
      // a_t with the upstream prediction at its forward value: p = a_fwd − μ1, q = s + μ2.
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < h; ++i) {
          float& a = at[n * ld + i];
          a = static_cast<float>(solvePreactivation(a, static_cast<double>(aFwd[n * h + i]) - m1[n * ld + i],
                                                    static_cast<double>(st[n * ld + i]) + mu2[n * h + i], rho1, rho2));
          ta[n * h + i] = fastTanh(a);
        }
      // Dual steps of size γ on the three local constraints.
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < h; ++i) {
          m1[n * ld + i] += gamma * (at[n * ld + i] - aFwd[n * h + i]);
          mu2[n * h + i] += gamma * (st[n * ld + i] - ta[n * h + i]);
        }
      if (lossStep) {
        refreshReadout();
        for (int64_t n = 0; n < N; ++n)
          for (int64_t k = 0; k < K; ++k) m3[n * ldo + k] += gamma * (ot[n * ldo + k] - readout[n * K + k]);
      }
    }
    if (stepNorms) {
      double sq = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < h; ++i) sq += static_cast<double>(m1[n * ld + i]) * m1[n * ld + i];
      stepNorms[t] = static_cast<float>(rho1 * std::sqrt(sq));
    }
  }
  return {};
}

}  // namespace admm
