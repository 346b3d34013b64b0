// The gradient-free local dual walk of the 'local-duals' mode; see resync.h.
#include <cmath>
#include <cstring>
#include <vector>

#include "blas.h"
#include "resync.h"
#include "scratch.h"

namespace admm {

Status localDualWalk(const Shape& s, const Inputs& in, const float* U, const float* W, const float* b,
                     const float* V, const float* c, const float* S, const Targets& y, Loss loss,
                     const LocalWalk& walk, float* A, float* O, float* M1, float* M3, float* Saux,
                     float* stepNorms) {
  const int64_t N = s.N, T = s.T, h = s.h, K = s.K, L = s.L();
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
  std::fill(M3, M3 + N * L * K, 0.0f);

  // Each step works on contiguous copies of its rows (a, s, μ1), written back when done.
  float* at = scratchBuffer<struct WalkA>(static_cast<size_t>(N * h));
  float* st = scratchBuffer<struct WalkS>(static_cast<size_t>(N * h));
  float* m1 = scratchBuffer<struct WalkMu1>(static_cast<size_t>(N * h));
  const int64_t ldo = L * K;
  for (int64_t t = T - 1; t >= 0; --t) {
    const bool lossStep = s.everyStep || t == T - 1;
    float* ot = O + (s.everyStep ? t * K : 0);
    float* m3 = M3 + (s.everyStep ? t * K : 0);
    for (int64_t n = 0; n < N; ++n) {
      std::memcpy(aFwd + n * h, A + s.stateRow(n, t), sizeof(float) * h);
      std::memcpy(st + n * h, S + s.stateRow(n, t), sizeof(float) * h);
    }
    std::memcpy(at, aFwd, sizeof(float) * N * h);
    std::memcpy(ta, st, sizeof(float) * N * h);  // tanh(a_fwd) = s_fwd
    std::fill(m1, m1 + N * h, 0.0f);
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
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, asInt(N), asInt(K), asInt(h), 1.0f, st, asInt(h), V,
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
      // s_t: right-hand side, then the factored solve.
      for (int64_t k = 0; k < N * h; ++k) st[k] = rho2 * (ta[k] - mu2[k]) + succ[k];
      if (lossStep) {
        for (int64_t n = 0; n < N; ++n)
          for (int64_t k = 0; k < K; ++k) readout[n * K + k] = ot[n * ldo + k] - c[k] + m3[n * ldo + k];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, asInt(N), asInt(h), asInt(K), rho3, readout, asInt(K), V,
                    asInt(h), 1.0f, st, asInt(h));
      }
      solveStateRows(t + 1 < T ? factors.mid : factors.last, N, h, st, h);
      // a_t with the upstream prediction at its forward value: p = a_fwd − μ1, q = s + μ2
      // (block 2's solver, which also refreshes ta = tanh a).
      double theta = 1;
      aStep(N * h, aFwd, m1, st, mu2, rho1, rho2, false, &theta, at, ta);
      // Dual steps of size γ on the three local constraints.
      for (int64_t k = 0; k < N * h; ++k) {
        m1[k] += gamma * (at[k] - aFwd[k]);
        mu2[k] += gamma * (st[k] - ta[k]);
      }
      if (lossStep) {
        refreshReadout();
        for (int64_t n = 0; n < N; ++n)
          for (int64_t k = 0; k < K; ++k) m3[n * ldo + k] += gamma * (ot[n * ldo + k] - readout[n * K + k]);
      }
    }
    for (int64_t n = 0; n < N; ++n) {
      std::memcpy(A + s.stateRow(n, t), at + n * h, sizeof(float) * h);
      std::memcpy(Saux + s.stateRow(n, t), st + n * h, sizeof(float) * h);
      std::memcpy(M1 + s.stateRow(n, t), m1 + n * h, sizeof(float) * h);
    }
    if (stepNorms) {
      double sq = 0;
      for (int64_t k = 0; k < N * h; ++k) sq += static_cast<double>(m1[k]) * m1[k];
      stepNorms[t] = static_cast<float>(rho1 * std::sqrt(sq));
    }
  }
  return {};
}

}  // namespace admm
