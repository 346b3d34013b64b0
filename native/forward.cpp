// Forward products: input projection, recurrent affine map, readout, forward pass.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "blas.h"
#include "fast_math.h"
#include "kernels.h"
#include "parallel.h"
#include "row_parallel.h"
#include "scratch.h"

namespace admm {
namespace {

// Rows per product of the input projection and the recurrent affine map (row_parallel.h): the
// bias fill or the copy of XU is still in cache when the product adds into it, instead of one
// more pass over N·T·h floats in memory. Blocks run on the BLAS threads side by side.
constexpr int64_t kAffineBlockRows = kProductBlockRows;

}  // namespace

void inputProjection(const Shape& s, const Inputs& in, const float* U, const float* b, float* XU) {
  const int64_t rows = s.N * s.T, h = s.h, d = s.d;
  if (in.ids) {
    // One-hot inputs: U x_t is column id of U. Transpose U once so the gather is contiguous.
    std::vector<float> Ut(static_cast<size_t>(d * h));
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < d; ++j) Ut[j * h + i] = U[i * d + j];
    parallelChunks(rows, 256, [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r) {
        const float* u = Ut.data() + static_cast<int64_t>(in.ids[r]) * h;
        float* y = XU + r * h;
        for (int64_t i = 0; i < h; ++i) y[i] = u[i] + b[i];
      }
    });
    return;
  }
  parallelBlocks((rows + kAffineBlockRows - 1) / kAffineBlockRows, [&](int64_t block, int) {
    const int64_t r0 = block * kAffineBlockRows, nb = std::min(kAffineBlockRows, rows - r0);
    float* out = XU + r0 * h;
    for (int64_t r = 0; r < nb; ++r) std::memcpy(out + r * h, b, sizeof(float) * h);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, asInt(nb), asInt(h), asInt(d), 1.0f, in.x + r0 * d,
                asInt(d), U, asInt(d), 1.0f, out, asInt(h));
  });
}

void recurrentAffine(const Shape& s, const float* XU, const float* S, const float* W, float* P) {
  const int64_t rows = s.N * s.T, h = s.h, T = s.T;
  parallelBlocks((rows + kAffineBlockRows - 1) / kAffineBlockRows, [&](int64_t block, int) {
    const int64_t r0 = block * kAffineBlockRows, nb = std::min(kAffineBlockRows, rows - r0);
    std::memcpy(P + r0 * h, XU + r0 * h, sizeof(float) * nb * h);
    // Row r of P takes row r−1 of S (one product per block; row 0 has no predecessor at all).
    // The first step of each sequence has none either: its rows are restored from XU after.
    const int64_t from = std::max<int64_t>(r0, 1);
    if (r0 + nb > from)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, asInt(r0 + nb - from), asInt(h), asInt(h), 1.0f,
                  S + (from - 1) * h, asInt(h), W, asInt(h), 1.0f, P + from * h, asInt(h));
    for (int64_t r = r0 + (T - r0 % T) % T; r < r0 + nb; r += T) std::memcpy(P + r * h, XU + r * h, sizeof(float) * h);
  });
}

void readout(const Shape& s, const float* S, const float* V, const float* c, float* out) {
  const int64_t rows = s.N * s.L(), K = s.K, h = s.h;
  for (int64_t r = 0; r < rows; ++r) std::memcpy(out + r * K, c, sizeof(float) * K);
  // Last-step loss: rows s_{T-1} of each sequence, T·h apart.
  const float* first = s.everyStep ? S : S + (s.T - 1) * h;
  const int64_t ld = s.everyStep ? h : s.T * h;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, asInt(rows), asInt(K), asInt(h), 1.0f, first,
              asInt(ld), V, asInt(h), 1.0f, out, asInt(K));
}

namespace {

// The forward pass of samples [0, s.N) (one chunk of the caller's data; pointers already offset).
// `rows` holds the chunk's two N×(d + h + 1) scratch row buffers.
void forwardChunk(const Shape& s, const Inputs& in, const float* U, const float* W, const float* b,
                  const float* V, const float* c, float* A, float* S, float* O, float* rows) {
  const int64_t N = s.N, T = s.T, h = s.h, d = s.d, K = s.K;
  // Dense inputs: one product per step over regressor rows r = [x_t | s_{t-1} | 1] (k columns)
  // with Θ = [U W b], so A_t = R_t Θᵀ. The rows live in two N×k scratch buffers used in turn:
  // the product for step t writes s_t straight into the s-columns of the other buffer.
  // One-hot inputs: r = [s_{t-1} | 1], Θ = [W b], and column id of U is added in the tanh pass.
  const bool dense = in.ids == nullptr;
  const int64_t dx = dense ? d : 0, k = dx + h + 1;
  float* const buf[2] = {rows, rows + N * k};
  std::vector<float> theta(static_cast<size_t>(h * k));
  for (int64_t i = 0; i < h; ++i) {
    float* row = theta.data() + i * k;
    if (dense) std::memcpy(row, U + i * d, sizeof(float) * d);
    std::memcpy(row + dx, W + i * h, sizeof(float) * h);
    row[dx + h] = b[i];
  }
  std::vector<float> Ut;  // one-hot: Uᵀ, so column id of U is contiguous
  if (!dense) {
    Ut.resize(static_cast<size_t>(d * h));
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < d; ++j) Ut[j * h + i] = U[i * d + j];
  }
  // Rows of the first buffer: [x_0 | 0 | 1]; the second gets its ones column now.
  for (int64_t n = 0; n < N; ++n) {
    float* r0 = buf[0] + n * k;
    if (dense) std::memcpy(r0, in.x + n * T * d, sizeof(float) * d);
    std::fill(r0 + dx, r0 + dx + h, 0.0f);
    r0[k - 1] = 1.0f;
    buf[1][n * k + k - 1] = 1.0f;
  }
  const int64_t ldo = s.L() * K;
  // The per-step elementwise pass is ~N·h values, a millisecond or so: run it on one thread
  // unless it is large, since OpenBLAS's worker threads keep spinning right after each product
  // and an extra thread would only compete with them for the cores.
  const int64_t minRows = std::max<int64_t>(64, (int64_t{1} << 21) / std::max<int64_t>(h, 1));
  for (int64_t t = 0; t < T; ++t) {
    const float* Rt = buf[t % 2];
    float* next = buf[(t + 1) % 2];
    float* cur = next + dx;  // s_t goes to the s-columns of the next step's rows
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, asInt(N), asInt(h), asInt(k), 1.0f, Rt, asInt(k),
                theta.data(), asInt(k), 0.0f, cur, asInt(k));
    const bool lastInput = t + 1 == T;
    parallelChunks(N, minRows, [&](int64_t n0, int64_t n1, int) {
      for (int64_t n = n0; n < n1; ++n) {
        float* y = cur + n * k;
        if (!dense) {
          const float* u = Ut.data() + static_cast<int64_t>(in.ids[n * T + t]) * h;
          for (int64_t i = 0; i < h; ++i) y[i] += u[i];
        }
        if (A) std::memcpy(A + s.stateRow(n, t), y, sizeof(float) * h);
        tanhArray(y, y, h);
        if (S) std::memcpy(S + s.stateRow(n, t), y, sizeof(float) * h);
        if (dense && !lastInput) std::memcpy(next + n * k, in.x + (n * T + t + 1) * d, sizeof(float) * d);
      }
    });
    if (s.everyStep || t == T - 1) {
      float* o = O + (s.everyStep ? t * K : 0);
      for (int64_t n = 0; n < N; ++n) std::memcpy(o + n * ldo, c, sizeof(float) * K);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, asInt(N), asInt(K), asInt(h), 1.0f, cur, asInt(k), V,
                  asInt(h), 1.0f, o, asInt(ldo));
    }
  }
}

// Samples are independent, so the pass runs over chunks of them: the scratch rows stay
// 2 × chunk × (d + h + 1) floats per thread (5 MB at h = 128 for one thread) whatever N is,
// instead of growing with the data (75 MB at N = 60,000), and a chunk's rows stay in cache
// between the steps. With several BLAS threads, each thread runs whole chunks of 1,024 samples
// through all steps (parallelBlocks): no synchronisation per step, and the tanh passes run
// beside each other instead of after every product.
constexpr int64_t kForwardWorkerChunk = 1024;

}  // namespace

void forward(const Shape& s, const Inputs& in, const float* U, const float* W, const float* b,
             const float* V, const float* c, float* A, float* S, float* O) {
  if (s.N == 0 || s.T == 0) return;
  const int64_t k = (in.ids ? 0 : s.d) + s.h + 1;
  int64_t chunk = std::min(kForwardChunk, s.N);
  if (blockWorkers((s.N + kForwardWorkerChunk - 1) / kForwardWorkerChunk) > 1) chunk = std::min(chunk, kForwardWorkerChunk);
  const int64_t chunks = (s.N + chunk - 1) / chunk;
  const int workers = blockWorkers(chunks);
  float* scratch = scratchBuffer<struct ForwardRows>(static_cast<size_t>(workers * 2 * chunk * k));
  parallelBlocks(chunks, [&](int64_t block, int worker) {
    const int64_t n0 = block * chunk;
    Shape part = s;
    part.N = std::min(chunk, s.N - n0);
    const Inputs chunkIn{in.x ? in.x + n0 * s.T * s.d : nullptr, in.ids ? in.ids + n0 * s.T : nullptr};
    const int64_t states = n0 * s.T * s.h;
    forwardChunk(part, chunkIn, U, W, b, V, c, A ? A + states : nullptr, S ? S + states : nullptr,
                 O + n0 * s.L() * s.K, scratch + worker * 2 * chunk * k);
  });
}

}  // namespace admm
