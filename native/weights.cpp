// Blocks 1 and 4: the (U, W, b) and (V, c) least-squares weight solves.
//
// Both are the same problem in Θ = [weights | bias] (n rows, m columns):
//   f(Θ) = ρ/2 [tr(Θ G Θᵀ) − 2 tr(R Θᵀ)] + β/2 ‖Θ D‖² + η/2 ‖Θ − Θ_k‖²
// with Gram G = Σ H Hᵀ over regressor rows H = [features; 1], right-hand side R = Σ Z Hᵀ,
// and D masking the bias column out of the weight decay.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "blas.h"
#include "kernels.h"
#include "parallel.h"
#include "row_parallel.h"
#include "scratch.h"

namespace admm {
namespace {

void mirrorLowerToUpper(int m, float* G) {
  for (int i = 0; i < m; ++i)
    for (int j = i + 1; j < m; ++j) G[i * m + j] = G[j * m + i];
}

// Exact minimiser: Θ (G + β/ρ D + η/ρ I) = R + η/ρ Θ_k, by Cholesky. G and R are consumed.
Status solveExact(int m, int n, std::vector<float>& G, std::vector<float>& R, const std::vector<float>& theta0,
                  const WeightStep& step, std::vector<float>& theta) {
  const double regW = step.beta / step.rho, prox = step.eta / step.rho;
  double trace = 0;
  for (int j = 0; j < m; ++j) trace += G[j * m + j];
  for (int j = 0; j < m; ++j) G[j * m + j] += static_cast<float>((j < m - 1 ? regW : 0.0) + prox);
  if (prox > 0)
    for (size_t k = 0; k < R.size(); ++k) R[k] += static_cast<float>(prox * theta0[k]);
  // Float32 Grams are dominated by the bias entry; a small relative jitter keeps the
  // Cholesky factorisation stable. Grow it only if the factorisation fails.
  std::vector<float> factor;
  double jitter = 1e-6 * std::max(trace, 1e-30) / m;
  for (int attempt = 0; attempt < 4; ++attempt, jitter *= 100) {
    factor = G;
    for (int j = 0; j < m; ++j) factor[j * m + j] += static_cast<float>(jitter);
    int info = 0;
    const char uplo = 'L';
    spotrf_(&uplo, &m, factor.data(), &m, &info);
    if (info != 0) continue;
    // Row-major R (n×m) is column-major m×n: each column is one output's right-hand side.
    theta = R;
    spotrs_(&uplo, &m, &n, factor.data(), &m, theta.data(), &m, &info);
    if (info == 0) {
      for (float v : theta)
        if (!std::isfinite(v)) return Status::error(StatusCode::kNonFinite, "weight solve produced non-finite values");
      return {};
    }
  }
  return Status::error(StatusCode::kNotPositiveDefinite,
                       "Gram matrix is not positive definite even with jitter (all-zero regressors and beta = 0?)");
}

// Linearised proximal step: Θ = Θ_k − g/θ, g = ∇f(Θ_k), θ doubled from θ_prev/2 until the
// sufficient-decrease test f(Θ) ≤ f(Θ_k) − ‖g‖²/(2θ) holds (f is quadratic, so the test is exact).
Status stepLinearized(int m, int n, const std::vector<float>& G, const std::vector<float>& R,
                      const std::vector<float>& theta0, WeightStep& step, std::vector<float>& theta) {
  std::vector<float> grad(static_cast<size_t>(n) * m), gG(static_cast<size_t>(n) * m);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, m, m, 1.0f, theta0.data(), m, G.data(), m, 0.0f,
              grad.data(), m);
  double gg = 0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < m; ++j) {
      const size_t k = static_cast<size_t>(i) * m + j;
      const double g = step.rho * (static_cast<double>(grad[k]) - R[k]) + (j < m - 1 ? step.beta * theta0[k] : 0.0);
      grad[k] = static_cast<float>(g);
      gg += g * g;
    }
  theta = theta0;
  if (!(gg > 0)) return gg == 0 ? Status{} : Status::error(StatusCode::kNonFinite, "weight gradient is not finite");
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, m, m, 1.0f, grad.data(), m, G.data(), m, 0.0f,
              gG.data(), m);
  double curvature = 0;  // gᵀ ∇²f g
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < m; ++j) {
      const size_t k = static_cast<size_t>(i) * m + j;
      curvature += step.rho * static_cast<double>(gG[k]) * grad[k] +
                   ((j < m - 1 ? step.beta : 0.0) + step.eta) * grad[k] * grad[k];
    }
  double th = std::max(step.theta * 0.5, 1e-12);
  auto decrease = [&](double t) { return -gg / t + curvature / (2 * t * t); };
  for (int tries = 0; tries < 200 && decrease(th) > -gg / (2 * th); ++tries) th *= 2;
  step.theta = th;
  for (size_t k = 0; k < theta.size(); ++k) theta[k] = static_cast<float>(theta0[k] - grad[k] / th);
  return {};
}

Status solveRows(int m, int n, std::vector<float>& G, std::vector<float>& R, const std::vector<float>& theta0,
                 WeightStep& step, std::vector<float>& theta) {
  mirrorLowerToUpper(m, G.data());
  return step.linearized ? stepLinearized(m, n, G, R, theta0, step, theta)
                         : solveExact(m, n, G, R, theta0, step, theta);
}

// True when the Gram's first d regressors are one-hot rows (d > 0): its input block is diagonal,
// each input column's entry in the bias row equals its diagonal (Σx = Σx²) and the diagonal sums to
// the bias entry (the row count). By Cauchy–Schwarz that holds exactly when every row has a single
// input equal to 1. These entries are integer counts, exact in float32 below 2^24 rows (above, the
// test fails and the float32 solve runs). G holds its lower triangle.
bool oneHotInputBlock(int d, int m, const float* G) {
  const int bias = m - 1;
  double count = 0;
  for (int v = 0; v < d; ++v) {
    for (int u = 0; u < v; ++u)
      if (G[v * m + u] != 0.0f) return false;
    if (G[bias * m + v] != G[v * m + v]) return false;
    count += G[v * m + v];
  }
  return d > 0 && count == static_cast<double>(G[bias * m + bias]);
}

// solveExact for one-hot inputs, whose bias column is the sum of the input columns: the data Gram
// is singular along (1 on the inputs, −1 on the bias) and only the weight decay on U pins that
// direction. Summed in float32, the bias row and the input columns disagree by rounding, which makes
// the Gram indefinite there and the float32 Cholesky returns noise (large jumps of U, W, b). So the
// bias row and column of G and R are rebuilt as the sums of the input ones (consistent by
// construction) and the system is solved in float64. G holds both triangles; R is read.
Status solveOneHotExact(int d, int m, int n, const std::vector<float>& G, const std::vector<float>& R,
                        const std::vector<float>& theta0, const WeightStep& step, std::vector<float>& theta) {
  const int bias = m - 1;
  const double regW = step.beta / step.rho, prox = step.eta / step.rho;
  std::vector<double> system(G.begin(), G.end()), rhs(R.begin(), R.end());
  for (int j = 0; j < m; ++j) {
    double sum = 0;
    for (int v = 0; v < d; ++v) sum += system[static_cast<size_t>(v) * m + j];
    system[static_cast<size_t>(bias) * m + j] = sum;  // j < d: the count of input j (the diagonal)
  }
  for (int j = 0; j < bias; ++j) system[static_cast<size_t>(j) * m + bias] = system[static_cast<size_t>(bias) * m + j];
  double biasCount = 0;
  for (int v = 0; v < d; ++v) biasCount += system[static_cast<size_t>(v) * m + v];
  system[static_cast<size_t>(bias) * m + bias] = biasCount;
  for (int i = 0; i < n; ++i) {
    double sum = 0;
    for (int v = 0; v < d; ++v) sum += rhs[static_cast<size_t>(i) * m + v];
    rhs[static_cast<size_t>(i) * m + bias] = sum;
  }
  double trace = 0;
  for (int j = 0; j < m; ++j) trace += system[static_cast<size_t>(j) * m + j];
  for (int j = 0; j < m; ++j) system[static_cast<size_t>(j) * m + j] += (j < bias ? regW : 0.0) + prox;
  if (prox > 0)
    for (size_t k = 0; k < rhs.size(); ++k) rhs[k] += prox * theta0[k];
  // Without weight decay or proximal term the system stays singular: a jitter far below float32's
  // resolution of the Gram makes it definite; grown only if the factorisation fails.
  std::vector<double> factor, solution;
  double jitter = 1e-12 * std::max(trace, 1e-30) / m;
  for (int attempt = 0; attempt < 4; ++attempt, jitter *= 1e3) {
    factor = system;
    for (int j = 0; j < m; ++j) factor[static_cast<size_t>(j) * m + j] += jitter;
    int info = 0;
    const char uplo = 'L';
    dpotrf_(&uplo, &m, factor.data(), &m, &info);
    if (info != 0) continue;
    solution = rhs;
    dpotrs_(&uplo, &m, &n, factor.data(), &m, solution.data(), &m, &info);
    if (info != 0) continue;
    theta.resize(solution.size());
    for (size_t k = 0; k < solution.size(); ++k) {
      theta[k] = static_cast<float>(solution[k]);
      if (!std::isfinite(theta[k]))
        return Status::error(StatusCode::kNonFinite, "weight solve produced non-finite values");
    }
    return {};
  }
  return Status::error(StatusCode::kNotPositiveDefinite,
                       "Gram matrix is not positive definite even with jitter (all-zero regressors and beta = 0?)");
}

}  // namespace

// Rows (whole samples) per block of accumulateUWb: the block's regressors [x_t | s_{t−1}]
// (0.6 MB at d = 28, h = 128) and its rows of Z stay in cache for the block's two products.
constexpr int64_t kUwbBlockRows = 1024;
// The blocks are split into this many contiguous parts, each summed into its own Gram on one
// of the BLAS threads (parallelBlocks) and added in part order: the same sums whatever the
// thread count, with parts enough to balance two threads on a noisy machine.
constexpr int64_t kUwbParts = 8;

// Adds the samples of `s` (a whole data set or one chunk of it) into the lower triangle of G
// and into R, so chunked (block-stochastic) sweeps can sum Grams over chunks before one solve.
// Per block of rows, one pass forms Z = A + μ1 (into scratch) and the regressor rows
// Y = [x_t | s_{t−1}] (s_{−1} = 0; one-hot inputs: [s_{t−1}]), and sums the bias column's
// entries in double; then G += YᵀY and R += ZᵀY are one SYRK and one GEMM on cached rows.
void accumulateUWb(const Shape& s, const Inputs& in, const float* S, const float* A, const float* M1, float* scratch,
                   float* G, float* R) {
  const int64_t N = s.N, T = s.T, d = s.d, h = s.h, rows = N * T;
  const int m = asInt(d + h + 1), bias = m - 1;
  const bool dense = in.ids == nullptr;
  const int64_t dx = dense ? d : 0, width = dx + h;
  const int64_t blockRows = std::min(rows, std::max<int64_t>(1, kUwbBlockRows / T) * T);
  const int64_t blocks = (rows + blockRows - 1) / blockRows, parts = std::min(blocks, kUwbParts);
  const int workers = blockWorkers(parts);
  // Per part: the [x | s] block of its Gram (lower), its right-hand side columns, and the sums
  // [Σ z | Σ s_{t−1} | Σ x] in double; added together in part order below.
  const int64_t nSums = 2 * h + dx, gramSize = width * width, rhsSize = h * width;
  float* const Y = scratchBuffer<struct UwbRegressors>(static_cast<size_t>(workers * blockRows * width));
  float* const partGram = scratchBuffer<struct UwbPartGram>(static_cast<size_t>(parts * (gramSize + rhsSize)));
  std::fill(partGram, partGram + parts * (gramSize + rhsSize), 0.0f);
  std::vector<double> partSums(static_cast<size_t>(parts * nSums), 0.0);
  parallelBlocks(parts, [&](int64_t part, int worker) {
    float* const y0 = Y + worker * blockRows * width;
    float* const Gp = partGram + part * (gramSize + rhsSize);
    float* const Rp = Gp + gramSize;
    double* const sums = partSums.data() + part * nSums;
    for (int64_t block = part * blocks / parts; block < (part + 1) * blocks / parts; ++block) {
      const int64_t r0 = block * blockRows, nb = std::min(blockRows, rows - r0);
      const std::vector<double> got = parallelVectorSum(nb, 256, static_cast<size_t>(nSums), [&](int64_t b, int64_t e, double* acc) {
        double *zSum = acc, *stateSum = acc + h, *xSum = acc + 2 * h;
        for (int64_t r = b; r < e; ++r) {
          const int64_t g = r0 + r;
          const float *a = A + g * h, *mu = M1 + g * h;
          float* z = scratch + g * h;
          for (int64_t i = 0; i < h; ++i) {
            z[i] = a[i] + mu[i];
            zSum[i] += z[i];
          }
          float* y = y0 + r * width;
          if (dense) {
            const float* x = in.x + g * d;
            std::memcpy(y, x, sizeof(float) * d);
            for (int64_t j = 0; j < d; ++j) xSum[j] += x[j];
          }
          if (g % T == 0) std::fill(y + dx, y + width, 0.0f);
          else {
            const float* prev = S + (g - 1) * h;
            std::memcpy(y + dx, prev, sizeof(float) * h);
            for (int64_t i = 0; i < h; ++i) stateSum[i] += prev[i];
          }
        }
      });
      for (int64_t i = 0; i < nSums; ++i) sums[i] += got[static_cast<size_t>(i)];
      cblas_ssyrk(CblasRowMajor, CblasLower, CblasTrans, asInt(width), asInt(nb), 1.0f, y0, asInt(width), 1.0f, Gp,
                  asInt(width));
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, asInt(h), asInt(width), asInt(nb), 1.0f, scratch + r0 * h,
                  asInt(h), y0, asInt(width), 1.0f, Rp, asInt(width));
    }
  });
  float* Gy = dense ? G : G + d * m + d;  // the [x | s] (or s) block of G and columns of R
  float* Ry = dense ? R : R + d;
  std::vector<double> sums(static_cast<size_t>(nSums), 0.0);
  for (int64_t part = 0; part < parts; ++part) {
    const float* Gp = partGram + part * (gramSize + rhsSize);
    const float* Rp = Gp + gramSize;
    for (int64_t i = 0; i < width; ++i)
      for (int64_t j = 0; j <= i; ++j) Gy[i * m + j] += Gp[i * width + j];
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < width; ++j) Ry[i * m + j] += Rp[i * width + j];
    for (int64_t i = 0; i < nSums; ++i) sums[static_cast<size_t>(i)] += partSums[static_cast<size_t>(part * nSums + i)];
  }

  if (!dense) {  // one-hot inputs: column id of the input block is a count, a sum of z, a sum of s_{t−1}
    const float* Z = scratch;
    float* Gsx = G + d * m;
    std::vector<double> count(static_cast<size_t>(d), 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t v = in.ids[r];
      count[v] += 1;
      for (int64_t i = 0; i < h; ++i) R[i * m + v] += Z[r * h + i];
      if (r % T != 0)
        for (int64_t i = 0; i < h; ++i) Gsx[i * m + v] += S[(r - 1) * h + i];
    }
    for (int64_t v = 0; v < d; ++v) {
      G[v * m + v] += static_cast<float>(count[v]);
      G[bias * m + v] += static_cast<float>(count[v]);
    }
  }
  for (int64_t i = 0; i < h; ++i) {
    G[bias * m + d + i] += static_cast<float>(sums[h + i]);
    R[i * m + bias] += static_cast<float>(sums[i]);
  }
  for (int64_t j = 0; j < dx; ++j) G[bias * m + j] += static_cast<float>(sums[2 * h + j]);
  G[bias * m + bias] += static_cast<float>(rows);
}

// Solves block 1 from an accumulated G (lower triangle) and R (read, not modified).
Status solveUWbFromGram(const Shape& s, const float* Gin, const float* Rin, WeightStep& step, float* U, float* W,
                        float* b) {
  const int64_t d = s.d, h = s.h;
  const int m = asInt(d + h + 1), n = asInt(h), bias = m - 1;
  std::vector<float> G(Gin, Gin + static_cast<size_t>(m) * m), R(Rin, Rin + static_cast<size_t>(n) * m);

  std::vector<float> theta0(static_cast<size_t>(n) * m), theta;
  for (int64_t i = 0; i < h; ++i) {
    std::memcpy(&theta0[i * m], U + i * d, sizeof(float) * d);
    std::memcpy(&theta0[i * m + d], W + i * h, sizeof(float) * h);
    theta0[i * m + bias] = b[i];
  }
  Status status;
  if (!step.linearized && oneHotInputBlock(asInt(d), m, G.data())) {
    mirrorLowerToUpper(m, G.data());
    status = solveOneHotExact(asInt(d), m, n, G, R, theta0, step, theta);
  } else {
    status = solveRows(m, n, G, R, theta0, step, theta);
  }
  if (!status.ok()) return status;
  for (int64_t i = 0; i < h; ++i) {
    std::memcpy(U + i * d, &theta[i * m], sizeof(float) * d);
    std::memcpy(W + i * h, &theta[i * m + d], sizeof(float) * h);
    b[i] = theta[i * m + bias];
  }
  return {};
}

// Block 4's Gram and right-hand side over the samples of `s`, added into G (lower) and R.
void accumulateVc(const Shape& s, const float* S, const float* O, const float* M3, float* G, float* R) {
  const int64_t h = s.h, K = s.K, rows = s.N * s.L();
  const int m = asInt(h + 1), n = asInt(K), bias = m - 1;
  const float* Sl = s.everyStep ? S : S + (s.T - 1) * h;
  const int64_t ld = s.everyStep ? h : s.T * h;
  float* const Z = scratchBuffer<struct VcTargets>(static_cast<size_t>(rows * K));
  for (int64_t k = 0; k < rows * K; ++k) Z[k] = O[k] + M3[k];

  cblas_ssyrk(CblasRowMajor, CblasLower, CblasTrans, asInt(h), asInt(rows), 1.0f, Sl, asInt(ld), 1.0f, G, m);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, asInt(h), asInt(rows), 1.0f, Z, n, Sl, asInt(ld),
              1.0f, R, m);
  std::vector<double> stateSum(static_cast<size_t>(h), 0.0), zSum(static_cast<size_t>(K), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < h; ++i) stateSum[i] += Sl[r * ld + i];
    for (int64_t k = 0; k < K; ++k) zSum[k] += Z[r * K + k];
  }
  for (int64_t i = 0; i < h; ++i) G[bias * m + i] += static_cast<float>(stateSum[i]);
  for (int64_t k = 0; k < K; ++k) R[k * m + bias] += static_cast<float>(zSum[k]);
  G[bias * m + bias] += static_cast<float>(rows);
}

// Solves block 4 from an accumulated G (lower triangle) and R (read, not modified).
Status solveVcFromGram(const Shape& s, const float* Gin, const float* Rin, WeightStep& step, float* V, float* c) {
  const int64_t h = s.h, K = s.K;
  const int m = asInt(h + 1), n = asInt(K), bias = m - 1;
  std::vector<float> G(Gin, Gin + static_cast<size_t>(m) * m), R(Rin, Rin + static_cast<size_t>(n) * m);

  std::vector<float> theta0(static_cast<size_t>(n) * m), theta;
  for (int64_t k = 0; k < K; ++k) {
    std::memcpy(&theta0[k * m], V + k * h, sizeof(float) * h);
    theta0[k * m + bias] = c[k];
  }
  Status status = solveRows(m, n, G, R, theta0, step, theta);
  if (!status.ok()) return status;
  for (int64_t k = 0; k < K; ++k) {
    std::memcpy(V + k * h, &theta[k * m], sizeof(float) * h);
    c[k] = theta[k * m + bias];
  }
  return {};
}

// The one-call entry points: Gram over every sample, then the solve.
Status solveUWb(const Shape& s, const Inputs& in, const float* S, const float* A, const float* M1, float* scratch,
                WeightStep& step, float* U, float* W, float* b) {
  const size_t m = static_cast<size_t>(s.d + s.h + 1);
  std::vector<float> G(m * m, 0.0f), R(static_cast<size_t>(s.h) * m, 0.0f);
  accumulateUWb(s, in, S, A, M1, scratch, G.data(), R.data());
  return solveUWbFromGram(s, G.data(), R.data(), step, U, W, b);
}

Status solveVc(const Shape& s, const float* S, const float* O, const float* M3, WeightStep& step, float* V,
               float* c) {
  const size_t m = static_cast<size_t>(s.h + 1);
  std::vector<float> G(m * m, 0.0f), R(static_cast<size_t>(s.K) * m, 0.0f);
  accumulateVc(s, S, O, M3, G.data(), R.data());
  return solveVcFromGram(s, G.data(), R.data(), step, V, c);
}

}  // namespace admm
