// Forward products: input projection, recurrent affine map, readout, forward pass.
#include <cmath>
#include <cstring>
#include <vector>

#include "blas.h"
#include "fast_math.h"
#include "kernels.h"
#include "parallel.h"

namespace admm {
namespace {

// Rows t of every sequence: N rows of h values, `ld` apart.
inline int asInt(int64_t v) { return static_cast<int>(v); }

// Y_t (N×h, row stride ldY) = X_t Uᵀ + 1 bᵀ for step t.
void projectStep(const Shape& s, const Inputs& in, const float* U, const float* b, int64_t t,
                 float* Y, int64_t ldY) {
  const int64_t h = s.h, d = s.d;
  parallelChunks(s.N, 64, [&](int64_t n0, int64_t n1, int) {
    for (int64_t n = n0; n < n1; ++n) {
      float* y = Y + n * ldY;
      if (in.ids) {
        const int64_t id = in.ids[n * s.T + t];
        for (int64_t i = 0; i < h; ++i) y[i] = U[i * d + id] + b[i];
      } else {
        std::memcpy(y, b, sizeof(float) * h);
      }
    }
  });
  if (!in.ids)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, asInt(s.N), asInt(h), asInt(d), 1.0f,
                in.x + t * d, asInt(s.T * d), U, asInt(d), 1.0f, Y, asInt(ldY));
}

void tanhRows(int64_t rows, int64_t cols, int64_t ld, float* Y) {
  parallelChunks(rows, 32, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t i = 0; i < cols; ++i) Y[r * ld + i] = fastTanh(Y[r * ld + i]);
  });
}

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
  parallelChunks(rows, 256, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) std::memcpy(XU + r * h, b, sizeof(float) * h);
  });
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, asInt(rows), asInt(h), asInt(d), 1.0f, in.x,
              asInt(d), U, asInt(d), 1.0f, XU, asInt(h));
}

void recurrentAffine(const Shape& s, const float* XU, const float* S, const float* W, float* P) {
  const int64_t rows = s.N * s.T, h = s.h;
  std::memcpy(P, XU, sizeof(float) * rows * h);
  if (rows < 2) return;
  // Row r of P takes row r−1 of S in one product over all rows; the first step of each
  // sequence has no predecessor, so its rows are restored from XU afterwards.
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, asInt(rows - 1), asInt(h), asInt(h), 1.0f, S,
              asInt(h), W, asInt(h), 1.0f, P + h, asInt(h));
  for (int64_t n = 0; n < s.N; ++n)
    std::memcpy(P + s.stateRow(n, 0), XU + s.stateRow(n, 0), sizeof(float) * h);
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

void forward(const Shape& s, const Inputs& in, const float* U, const float* W, const float* b,
             const float* V, const float* c, float* A, float* S, float* O) {
  const int64_t N = s.N, T = s.T, h = s.h, K = s.K;
  // Without caller buffers the states live in two N×h buffers used in turn.
  std::vector<float> ping, pong;
  if (!S) {
    ping.resize(static_cast<size_t>(N * h));
    pong.resize(static_cast<size_t>(N * h));
  }
  const int64_t ld = S ? T * h : h;
  const float* prev = nullptr;
  for (int64_t t = 0; t < T; ++t) {
    float* cur = S ? S + t * h : (t % 2 ? pong.data() : ping.data());
    projectStep(s, in, U, b, t, cur, ld);
    if (prev)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, asInt(N), asInt(h), asInt(h), 1.0f, prev,
                  asInt(ld), W, asInt(h), 1.0f, cur, asInt(ld));
    if (A)
      for (int64_t n = 0; n < N; ++n) std::memcpy(A + s.stateRow(n, t), cur + n * ld, sizeof(float) * h);
    tanhRows(N, h, ld, cur);
    if (s.everyStep || t == T - 1) {
      float* o = O + (s.everyStep ? t * K : 0);
      const int64_t ldo = s.L() * K;
      for (int64_t n = 0; n < N; ++n) std::memcpy(o + n * ldo, c, sizeof(float) * K);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, asInt(N), asInt(K), asInt(h), 1.0f, cur,
                  asInt(ld), V, asInt(h), 1.0f, o, asInt(ldo));
    }
    prev = cur;
  }
}

}  // namespace admm
