// The gradient-free local dual walk of the 'local-duals' mode; see resync.h.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "blas.h"
#include "resync.h"
#include "row_parallel.h"
#include "scratch.h"
#include "square_product.h"

namespace admm {

namespace {

// Samples per part: every sample's walk is independent of the others', so each part runs the
// whole walk (all steps, all sweeps) on one thread with single-threaded BLAS (parallelBlocks):
// no synchronisation per step or sweep, a part's rows cache-resident, and none of OpenBLAS's
// threading of 128-row products. The split depends on the batch size alone.
constexpr int64_t kPartSamples = 32;
constexpr int64_t kMaxParts = 16;

struct WalkProblem {
  const Shape& s;
  const float* XU;
  const float *S, *V, *c, *W;
  const Targets& y;
  Loss loss;
  const LocalWalk& walk;
  const float *midInverse, *lastInverse;
  float *A, *O, *M1, *M3, *Saux;
};

// Whether the caller asked the walk to stop (a flag another thread writes while the walk runs).
bool cancelled(const int32_t* flag) {
  if (!flag) return false;
#if defined(_MSC_VER)
  return *static_cast<const volatile int32_t*>(flag) != 0;
#else
  return __atomic_load_n(flag, __ATOMIC_RELAXED) != 0;
#endif
}

// Floats of a part's workspace: nine [rows, h] arrays and the [rows, K] readout.
int64_t partFloats(const Shape& s, int64_t rows) { return rows * (9 * s.h + s.K); }

// The dual steps of size γ on a_t = a_fwd and s_t = tanh a_t, and the next sweep's first two terms
// of the s-system's right-hand side from them (restrict: the compiler vectorises the one pass).
void dualSteps(int64_t n, const float* __restrict at, const float* __restrict aFwd, const float* __restrict st,
               const float* __restrict ta, const float* __restrict succ, float gamma, float rho1, float rho2,
               float* __restrict m1, float* __restrict mu2, float* __restrict rhs) {
  for (int64_t k = 0; k < n; ++k) {
    m1[k] += gamma * (at[k] - aFwd[k]);
    mu2[k] += gamma * (st[k] - ta[k]);
    rhs[k] = rho2 * (ta[k] - mu2[k]) + rho1 * succ[k];
  }
}

// The walk for samples [n0, n0 + rows).
void walkPart(const WalkProblem& p, int64_t n0, int64_t rows, float* work) {
  const Shape& s = p.s;
  const int64_t T = s.T, h = s.h, K = s.K, L = s.L(), nh = rows * h;
  const float rho1 = p.walk.rho.rho1, rho2 = p.walk.rho.rho2, rho3 = p.walk.rho.rho3, gamma = p.walk.gamma;
  const float *V = p.V, *c = p.c, *W = p.W;
  float* aFwd = work;
  float* mu2 = aFwd + nh;
  float* ta = mu2 + nh;
  float* pull = ta + nh;
  float* succ = pull + nh;
  float* at = succ + nh;  // contiguous copies of the step's rows (a, s, μ1), written back when done
  float* st = at + nh;
  float* m1 = st + nh;
  float* readout = m1 + nh;
  const int64_t ldo = L * K;
  for (int64_t t = T - 1; t >= 0; --t) {
    if (cancelled(p.walk.cancel)) return;
    const bool lossStep = s.everyStep || t == T - 1;
    float* ot = p.O + n0 * ldo + (s.everyStep ? t * K : 0);
    float* m3 = p.M3 + n0 * ldo + (s.everyStep ? t * K : 0);
    for (int64_t n = 0; n < rows; ++n) {
      std::memcpy(aFwd + n * h, p.A + s.stateRow(n0 + n, t), sizeof(float) * h);
      std::memcpy(st + n * h, p.S + s.stateRow(n0 + n, t), sizeof(float) * h);
    }
    std::memcpy(at, aFwd, sizeof(float) * nh);
    std::memcpy(ta, st, sizeof(float) * nh);  // tanh(a_fwd) = s_fwd
    std::fill(m1, m1 + nh, 0.0f);
    std::fill(mu2, mu2 + nh, 0.0f);
    // The successor's pull, fixed for this step: ρ1 Wᵀ(a_{t+1} + μ1_{t+1} − U x_{t+1} − b) (ρ1 applied
    // in the right-hand side).
    if (t + 1 < T) {
      for (int64_t n = 0; n < rows; ++n)
        for (int64_t i = 0; i < h; ++i) {
          const int64_t k = s.stateRow(n0 + n, t + 1) + i;
          pull[n * h + i] = p.A[k] + p.M1[k] - p.XU[k];
        }
      squareProduct(rows, h, pull, W, succ);
    } else {
      std::fill(succ, succ + nh, 0.0f);
    }
    auto refreshReadout = [&] {  // readout = s_t Vᵀ + c
      for (int64_t n = 0; n < rows; ++n) std::memcpy(readout + n * K, c, sizeof(float) * K);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, asInt(rows), asInt(K), asInt(h), 1.0f, st, asInt(h), V,
                  asInt(h), 1.0f, readout, asInt(K));
    };
    for (int sweep = 0; sweep < p.walk.sweeps; ++sweep) {
      if (lossStep) {
        refreshReadout();
        for (int64_t n = 0; n < rows; ++n) {
          float* o = ot + n * ldo;
          const float* mu3 = m3 + n * ldo;
          const int64_t row = s.everyStep ? (n0 + n) * T + t : n0 + n;
          float* m = readout + n * K;
          for (int64_t k = 0; k < K; ++k) m[k] -= mu3[k];
          if (p.loss == Loss::kSquaredError)
            for (int64_t k = 0; k < K; ++k) o[k] = (p.y.values[row * K + k] + rho3 * m[k]) / (1 + rho3);
          else
            proxCrossEntropyRow(static_cast<int>(K), m, p.y.labels[row], rho3, o);
        }
      }
      // s_t: right-hand side r, then s = r M⁻¹ (one product in place of two triangular solves). After
      // the first sweep the dual step below has formed r's first two terms.
      float* rhs = pull;
      if (sweep == 0)
        for (int64_t k = 0; k < nh; ++k) rhs[k] = rho2 * (ta[k] - mu2[k]) + rho1 * succ[k];
      if (lossStep) {
        for (int64_t n = 0; n < rows; ++n)
          for (int64_t k = 0; k < K; ++k) readout[n * K + k] = ot[n * ldo + k] - c[k] + m3[n * ldo + k];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, asInt(rows), asInt(h), asInt(K), rho3, readout,
                    asInt(K), V, asInt(h), 1.0f, rhs, asInt(h));
      }
      squareProduct(rows, h, rhs, t + 1 < T ? p.midInverse : p.lastInverse, st);
      // a_t with the upstream prediction at its forward value: p = a_fwd − μ1, q = s + μ2
      // (block 2's solver with its shortcuts, which also refreshes ta = tanh a).
      double theta = 1;
      aStep(nh, aFwd, m1, st, mu2, rho1, rho2, false, &theta, at, ta, AStepFinish::kShortcuts, false);
      // Dual steps of size γ on the three local constraints, and the next sweep's r in the same pass.
      dualSteps(nh, at, aFwd, st, ta, succ, gamma, rho1, rho2, m1, mu2, rhs);
      if (lossStep) {
        refreshReadout();
        for (int64_t n = 0; n < rows; ++n)
          for (int64_t k = 0; k < K; ++k) m3[n * ldo + k] += gamma * (ot[n * ldo + k] - readout[n * K + k]);
      }
    }
    for (int64_t n = 0; n < rows; ++n) {
      std::memcpy(p.A + s.stateRow(n0 + n, t), at + n * h, sizeof(float) * h);
      std::memcpy(p.Saux + s.stateRow(n0 + n, t), st + n * h, sizeof(float) * h);
      std::memcpy(p.M1 + s.stateRow(n0 + n, t), m1 + n * h, sizeof(float) * h);
    }
  }
}

// M⁻¹ of both state systems (steps with a successor, the last step), both triangles, row-major:
// each sweep's s-solve is then one product instead of two triangular solves (faster at these
// sizes). M⁻¹ = I M⁻¹ from the Cholesky factors; M = ρ2 I + Grams is well conditioned.
Status stateInverses(const Shape& s, const float* W, const float* V, const Penalties& rho, std::vector<float>& mid,
                     std::vector<float>& last) {
  const StateFactors factors = factorStateSystems(s, W, V, rho);
  if (!factors.status.ok()) return factors.status;
  const int64_t h = s.h;
  mid.assign(static_cast<size_t>(h * h), 0.0f);
  for (int64_t i = 0; i < h; ++i) mid[static_cast<size_t>(i * h + i)] = 1.0f;
  last = mid;
  solveStateRows(factors.mid, h, h, mid.data(), h);
  solveStateRows(factors.last, h, h, last.data(), h);
  return {};
}

}  // namespace

Status localDualWalk(const Shape& s, const Inputs& in, const float* U, const float* W, const float* b,
                     const float* V, const float* c, const float* S, const Targets& y, Loss loss,
                     const LocalWalk& walk, float* A, float* O, float* M1, float* M3, float* Saux,
                     float* stepNorms) {
  const int64_t N = s.N, T = s.T, h = s.h, K = s.K, L = s.L();
  // Reused per thread: fresh pages are expensive and this runs once per mini-batch.
  float* XU = scratchBuffer<struct WalkXU>(static_cast<size_t>(N * T * h));
  inputProjection(s, in, U, b, XU);
  std::vector<float> midInverse, lastInverse;
  const Status inverted = stateInverses(s, W, V, walk.rho, midInverse, lastInverse);
  if (!inverted.ok()) return inverted;
  std::fill(M3, M3 + N * L * K, 0.0f);
  const int64_t parts = std::clamp<int64_t>(N / kPartSamples, 1, kMaxParts);
  const int64_t work = partFloats(s, (N + parts - 1) / parts);
  float* scratch = scratchBuffer<struct WalkParts>(static_cast<size_t>(parts * work));
  const WalkProblem problem{s, XU, S, V, c, W, y, loss, walk, midInverse.data(), lastInverse.data(),
                            A, O, M1, M3, Saux};
  parallelBlocks(parts, [&](int64_t part, int) {
    const int64_t first = N * part / parts, count = N * (part + 1) / parts - first;
    walkPart(problem, first, count, scratch + part * work);
  });
  if (stepNorms)
    for (int64_t t = 0; t < T; ++t) {
      double sq = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < h; ++i) {
          const double m = M1[s.stateRow(n, t) + i];
          sq += m * m;
        }
      stepNorms[t] = static_cast<float>(walk.rho.rho1 * std::sqrt(sq));
    }
  return {};
}

}  // namespace admm
