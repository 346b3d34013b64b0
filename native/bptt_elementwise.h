// Elementwise loops of the BPTT kernel, four floats at a time with SSE4.1 (part of the
// x86-64-v2 baseline the addon is built for), elsewhere in plain C++ with the same grouping.
// Its tanh is fast_math.h's tanhArray.
#pragma once
#include <cmath>
#include <cstdint>

#include "fast_math.h"
#if defined(__SSE4_1__)
#include <smmintrin.h>
#endif

namespace admm::bptt {

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
#else
  // The same arithmetic in plain C++ (aarch64: GCC vectorises the four lanes with NEON), so the sum is
  // grouped and rounded as on x86-64.
  for (; i + 16 <= n;) {
    float lanes[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int k = 0; k < 4; ++k, i += 4) {
      for (int l = 0; l < 4; ++l) {
        const float dv = d[i + l], sv = s[i + l];
        lanes[l] += dv * dv;
        d[i + l] = dv * (1.0f - sv * sv);
      }
    }
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
