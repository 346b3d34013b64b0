// Elementwise loops of the BPTT kernel, four floats at a time with SSE4.1 (part of the
// x86-64-v2 baseline the addon is built for). fast_math.h's scalar fastTanh is not
// auto-vectorised by GCC (it keeps the branches), and tanh is a fifth of a mini-batch's time.
#pragma once
#include <cmath>
#include <cstdint>

#include "fast_math.h"
#if defined(__SSE4_1__)
#include <smmintrin.h>
#endif

namespace admm::bptt {

#if defined(__SSE4_1__)
// Same formula and coefficients as fastTanh: sign(x)·(1 − e)/(1 + e), e = exp(−2|x|) = 2^n·p(r).
inline __m128 tanh4(__m128 x) {
  const __m128 signBit = _mm_set1_ps(-0.0f);
  const __m128 ax = _mm_min_ps(_mm_andnot_ps(signBit, x), _mm_set1_ps(9.0f));  // tanh(9) rounds to 1
  const __m128 y = _mm_mul_ps(ax, _mm_set1_ps(-2.0f));
  const __m128 n = _mm_round_ps(_mm_mul_ps(y, _mm_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m128 r = _mm_add_ps(_mm_sub_ps(y, _mm_mul_ps(n, _mm_set1_ps(0.693359375f))), _mm_mul_ps(n, _mm_set1_ps(2.12194440e-4f)));
  __m128 p = _mm_set1_ps(1.9875691500e-4f);
  for (float coef : {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f})
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(coef));
  p = _mm_add_ps(_mm_add_ps(_mm_mul_ps(_mm_mul_ps(p, r), r), r), _mm_set1_ps(1.0f));
  const __m128 scale = _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(_mm_cvtps_epi32(n), _mm_set1_epi32(127)), 23));
  const __m128 e = _mm_mul_ps(p, scale);
  const __m128 one = _mm_set1_ps(1.0f);
  const __m128 big = _mm_div_ps(_mm_sub_ps(one, e), _mm_add_ps(one, e));
  const __m128 x2 = _mm_mul_ps(ax, ax);  // near 0, 1 − e cancels: odd Taylor series
  const __m128 small = _mm_mul_ps(ax, _mm_add_ps(one, _mm_mul_ps(x2, _mm_add_ps(_mm_set1_ps(-1.0f / 3.0f), _mm_mul_ps(x2, _mm_set1_ps(2.0f / 15.0f))))));
  const __m128 t = _mm_blendv_ps(big, small, _mm_cmplt_ps(ax, _mm_set1_ps(0.03f)));
  return _mm_or_ps(t, _mm_and_ps(x, signBit));
}
#endif

// v[i] = tanh(v[i]).
inline void tanhInPlace(float* v, int64_t n) {
  int64_t i = 0;
#if defined(__SSE4_1__)
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(v + i, tanh4(_mm_loadu_ps(v + i)));
#endif
  for (; i < n; ++i) v[i] = fastTanh(v[i]);
}

// Returns Σ d[i]² (of ∂L/∂s), then turns d into ∂L/∂a: d[i] *= 1 − s[i]².
inline double toPreactivationGradient(float* d, const float* s, int64_t n) {
  double sum = 0;
  int64_t i = 0;
#if defined(__SSE4_1__)
  const __m128 one = _mm_set1_ps(1.0f);
  for (; i + 16 <= n;) {  // float partial sums of 16 values, accumulated in double
    __m128 acc = _mm_setzero_ps();
    for (int k = 0; k < 4; ++k, i += 4) {
      const __m128 dv = _mm_loadu_ps(d + i), sv = _mm_loadu_ps(s + i);
      acc = _mm_add_ps(acc, _mm_mul_ps(dv, dv));
      _mm_storeu_ps(d + i, _mm_mul_ps(dv, _mm_sub_ps(one, _mm_mul_ps(sv, sv))));
    }
    alignas(16) float lanes[4];
    _mm_store_ps(lanes, acc);
    sum += (static_cast<double>(lanes[0]) + lanes[1]) + (static_cast<double>(lanes[2]) + lanes[3]);
  }
#endif
  for (; i < n; ++i) {
    sum += static_cast<double>(d[i]) * d[i];
    d[i] *= 1.0f - s[i] * s[i];
  }
  return sum;
}

}  // namespace admm::bptt
