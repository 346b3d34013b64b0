// Block 3: the states. Given a, every s_t solves an h×h SPD system
//   (ρ2 I + ρ1 WᵀW·[t<T−1] + ρ3 VᵀV·[t∈𝒯]) s_t =
//       ρ2 (tanh a_t − μ2_t) + ρ1 Wᵀ(a_{t+1} + μ1_{t+1} − U x_{t+1} − b) + ρ3 Vᵀ(o_t + μ3_t − c)
// (0-based steps; the last step has no successor). Only two distinct matrices occur:
// factor and invert each once; then the right-hand side and the solve are one product per
// block of rows over all samples and steps (solveStatesExact).
#include <algorithm>
#include <cstring>
#include <vector>

#include "blas.h"
#include "kernels.h"
#include "parallel.h"
#include "row_parallel.h"
#include "scratch.h"

namespace admm {
namespace {

std::vector<float> gram(int h, int rows, const float* M) {  // MᵀM, both triangles
  std::vector<float> G(static_cast<size_t>(h) * h, 0.0f);
  cblas_ssyrk(CblasRowMajor, CblasLower, CblasTrans, h, rows, 1.0f, M, h, 0.0f, G.data(), h);
  for (int i = 0; i < h; ++i)
    for (int j = i + 1; j < h; ++j) G[i * h + j] = G[j * h + i];
  return G;
}

// ρ2 I + ρ1 WᵀW (if withW) + ρ3 VᵀV (if withV)
std::vector<float> systemMatrix(int h, const std::vector<float>& WtW, const std::vector<float>& VtV,
                                const Penalties& rho, bool withW, bool withV) {
  std::vector<float> M(static_cast<size_t>(h) * h);
  for (size_t k = 0; k < M.size(); ++k)
    M[k] = (withW ? rho.rho1 * WtW[k] : 0.0f) + (withV ? rho.rho3 * VtV[k] : 0.0f);
  for (int i = 0; i < h; ++i) M[i * h + i] += rho.rho2;
  return M;
}

// Rows (whole samples) per block of the right-hand sides' recurrent term: the block's copy of
// a + μ1 − XU (8 MB at h = 128) stays in cache for its product.
constexpr int64_t kRhsBlockRows = 16384;

// Right-hand sides of all steps, written to R ([N, T, h]).
void rightHandSides(const Shape& s, const float* A, const float* TA, const float* M1, const float* M2,
                    const float* XU, const float* O, const float* M3, const float* W, const float* V,
                    const float* c, const Penalties& rho, float* R) {
  const int64_t N = s.N, T = s.T, h = s.h, K = s.K, L = s.L(), ld = T * h, rows = N * T;
  // Row r of R takes ρ1 (a + μ1 − XU)_{r+1} W when r is not a last step: one product per block of
  // whole samples, shifted by one row, with the successor of each last step (the next sample's
  // first row) zeroed in the copy Y so that it adds nothing. Y is reused scratch.
  const int64_t blockRows = std::max<int64_t>(1, kRhsBlockRows / T) * T;
  float* Y = scratchBuffer<struct StateRhsY>(static_cast<size_t>(std::min(blockRows, rows) * h));
  for (int64_t r0 = 0; r0 < rows; r0 += blockRows) {
    const int64_t nb = std::min(blockRows, rows - r0);
    parallelChunks(nb, 512, [&](int64_t b, int64_t e, int) {
      for (int64_t r = b; r < e; ++r) {
        const int64_t k0 = (r0 + r) * h;
        float* y = Y + r * h;
        float* out = R + k0;
        for (int64_t i = 0; i < h; ++i) out[i] = rho.rho2 * (TA[k0 + i] - M2[k0 + i]);
        if ((r0 + r) % T == 0) std::fill(y, y + h, 0.0f);
        else
          for (int64_t i = 0; i < h; ++i) y[i] = A[k0 + i] + M1[k0 + i] - XU[k0 + i];
      }
    });
    if (nb > 1)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, asInt(nb - 1), asInt(h), asInt(h), rho.rho1, Y + h,
                  asInt(h), W, asInt(h), 1.0f, R + r0 * h, asInt(h));
  }
  float* Zo = scratchBuffer<struct StateRhsZo>(static_cast<size_t>(N * L * K));
  for (int64_t r = 0; r < N * L; ++r)
    for (int64_t k = 0; k < K; ++k) Zo[r * K + k] = O[r * K + k] + M3[r * K + k] - c[k];
  float* Rl = s.everyStep ? R : R + (T - 1) * h;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, asInt(N * L), asInt(h), asInt(K), rho.rho3, Zo,
              asInt(K), V, asInt(h), 1.0f, Rl, asInt(s.everyStep ? h : ld));
}

}  // namespace

StateFactors factorStateSystems(const Shape& s, const float* W, const float* V, const Penalties& rho) {
  const int h = asInt(s.h);
  const std::vector<float> WtW = gram(h, h, W), VtV = gram(h, asInt(s.K), V);
  StateFactors f{systemMatrix(h, WtW, VtV, rho, true, s.everyStep), systemMatrix(h, WtW, VtV, rho, false, true), {}};
  for (std::vector<float>* F : {&f.mid, &f.last}) {
    int info = 0;
    const char uplo = 'L';
    spotrf_(&uplo, &h, F->data(), &h, &info);
    if (info != 0) f.status = Status::error(StatusCode::kNotPositiveDefinite, "state system matrix is not positive definite");
  }
  return f;
}

void solveStateRows(const std::vector<float>& factor, int64_t rows, int64_t h, float* R, int64_t ld) {
  // Column-major lower L is row-major upper Lᵀ =: Uc with M = Ucᵀ Uc; s M = r ⇒ s = r Uc⁻¹ Uc⁻ᵀ.
  cblas_strsm(CblasRowMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, asInt(rows), asInt(h), 1.0f,
              factor.data(), asInt(h), R, asInt(ld));
  cblas_strsm(CblasRowMajor, CblasRight, CblasUpper, CblasTrans, CblasNonUnit, asInt(rows), asInt(h), 1.0f,
              factor.data(), asInt(h), R, asInt(ld));
}

namespace {

// M⁻¹ (both triangles, row-major) from the Cholesky factor of the SPD matrix M.
Status inverseFromFactor(const std::vector<float>& factor, int h, std::vector<float>& inverse) {
  inverse = factor;
  int info = 0;
  const char uplo = 'L';
  spotri_(&uplo, &h, inverse.data(), &h, &info);
  if (info != 0) return Status::error(StatusCode::kNotPositiveDefinite, "state system matrix is singular");
  // Column-major lower = row-major upper: mirror it into the lower triangle.
  for (int i = 0; i < h; ++i)
    for (int j = i + 1; j < h; ++j) inverse[static_cast<size_t>(j) * h + i] = inverse[static_cast<size_t>(i) * h + j];
  return {};
}

// out (rows×h) = ρ · B (rows×h) · Minv (h×h), row-major.
void scaledTimes(const float* B, int rows, int h, float rho, const std::vector<float>& Minv, float* out) {
  if (rows > 0)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, h, h, rho, B, h, Minv.data(), h, 0.0f, out, h);
}

// Rows per block of the exact solve (whole samples): the block's stacked right-hand sides
// (1 MB at h = 128) and states stay in cache between the pass that builds them and the product.
// Blocks run on the BLAS threads side by side (parallelBlocks), each with its own stack rows.
constexpr int64_t kSolveBlockRows = 1024;

// Exact block 3 in one product per block of rows. With Z_r = a + μ1 − XU at row r and
// Zo_r = o + μ3 − c on loss steps (0 elsewhere), the solution of s_t M_t = r_t is
//   s_r = [Zo_r | ρ2(tanh a − μ2)_r | Z_{r+1}] · [ρ3 V M⁻¹; M⁻¹; ρ1 W M⁻¹]
// with M = mid for steps that have a successor (Z_{r+1} = 0 for the last step) and M = last
// for the last step, whose rows are redone with the (Zo, E) columns and the last-step stack.
// Σ (s − s_old)² is taken per block while the block is in cache.
Status solveStatesExact(const Shape& s, const float* A, const float* TA, const float* M1, const float* M2,
                        const float* XU, const float* O, const float* M3, const float* W, const float* V,
                        const float* c, const float* S, const Penalties& rho, float* Sout, double* changeSq) {
  const int64_t N = s.N, T = s.T, h = s.h, K = s.K, rows = N * T, width = K + 2 * h;
  const int hi = asInt(h), ki = asInt(K);
  const StateFactors f = factorStateSystems(s, W, V, rho);
  if (!f.status.ok()) return f.status;
  std::vector<float> midInverse, lastInverse;
  Status status = inverseFromFactor(f.mid, hi, midInverse);
  if (status.ok()) status = inverseFromFactor(f.last, hi, lastInverse);
  if (!status.ok()) return status;
  // The stacks [ρ3 V M⁻¹; M⁻¹; ρ1 W M⁻¹] (mid) and [ρ3 V M⁻¹; M⁻¹] (last), width × h row-major.
  std::vector<float> midStack(static_cast<size_t>(width * h)), lastStack(static_cast<size_t>((K + h) * h));
  scaledTimes(V, ki, hi, rho.rho3, midInverse, midStack.data());
  std::copy(midInverse.begin(), midInverse.end(), midStack.begin() + K * h);
  scaledTimes(W, hi, hi, rho.rho1, midInverse, midStack.data() + (K + h) * h);
  scaledTimes(V, ki, hi, rho.rho3, lastInverse, lastStack.data());
  std::copy(lastInverse.begin(), lastInverse.end(), lastStack.begin() + K * h);
  const int64_t blockRows = std::min(rows, std::max<int64_t>(1, kSolveBlockRows / T) * T);
  const int64_t blocks = (rows + blockRows - 1) / blockRows;
  const int workers = blockWorkers(blocks);
  float* const scratch = scratchBuffer<struct StateStackedRhs>(static_cast<size_t>(workers * blockRows * width));
  std::vector<double> blockChange(static_cast<size_t>(blocks), 0.0);
  parallelBlocks(blocks, [&](int64_t block, int worker) {
    const int64_t r0 = block * blockRows, nb = std::min(blockRows, rows - r0);
    float* X = scratch + worker * blockRows * width;
    parallelChunks(nb, 256, [&](int64_t b, int64_t e, int) {
      for (int64_t r = b; r < e; ++r) {
        const int64_t g = r0 + r, t = g % T, k0 = g * h;
        float* x = X + r * width;
        const bool loss = s.everyStep || t == T - 1;
        const float* o = O + (s.everyStep ? g : g / T) * K;
        const float* m3 = M3 + (s.everyStep ? g : g / T) * K;
        for (int64_t k = 0; k < K; ++k) x[k] = loss ? o[k] + m3[k] - c[k] : 0.0f;
        float* e2 = x + K;
        for (int64_t i = 0; i < h; ++i) e2[i] = rho.rho2 * (TA[k0 + i] - M2[k0 + i]);
        float* z = x + K + h;
        if (t == T - 1) std::fill(z, z + h, 0.0f);
        else
          for (int64_t i = 0; i < h; ++i) z[i] = A[k0 + h + i] + M1[k0 + h + i] - XU[k0 + h + i];
      }
    });
    // Without a loss on mid steps their Zo columns are zero: skip them.
    const int64_t skip = s.everyStep ? 0 : K;
    float* out = Sout + r0 * h;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, asInt(nb), hi, asInt(width - skip), 1.0f, X + skip,
                asInt(width), midStack.data() + skip * h, hi, 0.0f, out, hi);
    // The block's last steps: every T-th row, from its (Zo, E) columns.
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, asInt(nb / T), hi, asInt(K + h), 1.0f,
                X + (T - 1) * width, asInt(T * width), lastStack.data(), hi, 0.0f, out + (T - 1) * h, asInt(T * h));
    // Summed in order on this thread: a parallelSum here would split it into chunks when the
    // blocks run inline (one BLAS thread) and not inside a forked block, so Σ(Δs)² would depend on
    // the BLAS thread count.
    double acc = 0;
    for (int64_t k = r0 * h; k < (r0 + nb) * h; ++k)
      acc += (static_cast<double>(Sout[k]) - S[k]) * (static_cast<double>(Sout[k]) - S[k]);
    blockChange[static_cast<size_t>(block)] = acc;
  });
  double change = 0;  // in block order, whatever thread did which block
  for (double part : blockChange) change += part;
  *changeSq = change;
  return {};
}

}  // namespace

Status sStep(const Shape& s, const float* A, const float* TA, const float* M1, const float* M2, const float* XU,
             const float* O, const float* M3, const float* W, const float* V, const float* c, const float* S,
             const Penalties& rho, bool linearized, double* theta, float* Sout, double* changeSq) {
  if (!linearized) return solveStatesExact(s, A, TA, M1, M2, XU, O, M3, W, V, c, S, rho, Sout, changeSq);
  const int64_t N = s.N, T = s.T, total = N * T * s.h, ld = T * s.h;
  const int h = asInt(s.h);
  const std::vector<float> WtW = gram(h, h, W), VtV = gram(h, asInt(s.K), V);
  // Step t < T−1 uses `mid`, the last step `last`.
  const std::vector<float> mid = systemMatrix(h, WtW, VtV, rho, true, s.everyStep);
  const std::vector<float> last = systemMatrix(h, WtW, VtV, rho, false, true);
  auto matrixFor = [&](int64_t t) -> const std::vector<float>& { return t + 1 < T ? mid : last; };

  rightHandSides(s, A, TA, M1, M2, XU, O, M3, W, V, c, rho, Sout);
  // Linearised: gradient g_t = s_t M_t − r_t (overwrites the right-hand sides), curvature Σ g_t M_t g_tᵀ.
  float* gM = scratchBuffer<struct StateGradM>(static_cast<size_t>(N) * h);
  double gg = 0, curvature = 0;
  for (int64_t t = 0; t < T; ++t) {
    const float* Mt = matrixFor(t).data();
    float* Gt = Sout + t * s.h;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, asInt(N), h, h, 1.0f, S + t * s.h, asInt(ld), Mt, h,
                -1.0f, Gt, asInt(ld));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, asInt(N), h, h, 1.0f, Gt, asInt(ld), Mt, h, 0.0f,
                gM, h);
    for (int64_t n = 0; n < N; ++n)
      for (int i = 0; i < h; ++i) {
        const double g = Gt[n * ld + i];
        gg += g * g;
        curvature += g * gM[n * h + i];
      }
  }
  double th = std::max(*theta * 0.5, 1e-12);
  auto decrease = [&](double x) { return -gg / x + curvature / (2 * x * x); };
  for (int tries = 0; tries < 200 && gg > 0 && decrease(th) > -gg / (2 * th); ++tries) th *= 2;
  *theta = th;
  parallelChunks(total, 1 << 15, [&](int64_t b, int64_t e, int) {
    for (int64_t k = b; k < e; ++k) Sout[k] = gg > 0 ? static_cast<float>(S[k] - Sout[k] / th) : S[k];
  });
  *changeSq = parallelSum(total, 1 << 15, [&](int64_t b, int64_t e) {
    double acc = 0;
    for (int64_t k = b; k < e; ++k) acc += (static_cast<double>(Sout[k]) - S[k]) * (static_cast<double>(Sout[k]) - S[k]);
    return acc;
  });
  return {};
}

}  // namespace admm
