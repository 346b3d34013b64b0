// See square_product.h. OpenBLAS (0.3.21) runs its AVX2 kernel on AVX-512 processors and packs B
// on every call; the walk multiplies 32 rows by the same M⁻¹ 280 times per batch.
#include "square_product.h"

#include "blas.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ADMM_AVX512_PRODUCT 1
#endif

namespace admm {
namespace {

#ifdef ADMM_AVX512_PRODUCT
constexpr int64_t kLanes = 16;

// `R` rows × `V` vectors of 16 columns of out, from column j0: one accumulator per output vector,
// k ascending (each entry is one FMA chain, so the rounding does not depend on the blocking).
template <int R, int V>
[[gnu::target("avx512f"), gnu::always_inline]] inline void productTile(int64_t h, const float* in, const float* B,
                                                                       float* out, int64_t j0) {
  __m512 acc[R][V];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int64_t k = 0; k < h; ++k) {
    __m512 b[V];
    for (int v = 0; v < V; ++v) b[v] = _mm512_loadu_ps(B + k * h + j0 + v * kLanes);
    for (int r = 0; r < R; ++r) {
      const __m512 a = _mm512_set1_ps(in[r * h + k]);
      for (int v = 0; v < V; ++v) acc[r][v] = _mm512_fmadd_ps(a, b[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) _mm512_storeu_ps(out + r * h + j0 + v * kLanes, acc[r][v]);
}

// Rows in fours (16 accumulators over 64 columns), then the remaining rows one at a time.
template <int R>
[[gnu::target("avx512f")]] void productRows(int64_t h, const float* in, const float* B, float* out) {
  int64_t j0 = 0;
  for (; j0 + 4 * kLanes <= h; j0 += 4 * kLanes) productTile<R, 4>(h, in, B, out, j0);
  for (; j0 < h; j0 += kLanes) productTile<R, 1>(h, in, B, out, j0);
}

[[gnu::target("avx512f")]] void productAvx512(int64_t rows, int64_t h, const float* in, const float* B, float* out) {
  int64_t r0 = 0;
  for (; r0 + 4 <= rows; r0 += 4) productRows<4>(h, in + r0 * h, B, out + r0 * h);
  for (; r0 < rows; ++r0) productRows<1>(h, in + r0 * h, B, out + r0 * h);
}

bool hasAvx512() {
  static const bool supported = __builtin_cpu_supports("avx512f");
  return supported;
}
#endif

}  // namespace

void squareProduct(int64_t rows, int64_t h, const float* in, const float* B, float* out) {
#ifdef ADMM_AVX512_PRODUCT
  if (h % kLanes == 0 && hasAvx512()) {
    productAvx512(rows, h, in, B, out);
    return;
  }
#endif
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, asInt(rows), asInt(h), asInt(h), 1.0f, in, asInt(h), B,
              asInt(h), 0.0f, out, asInt(h));
}

}  // namespace admm
