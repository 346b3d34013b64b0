// Branch-free float tanh, accurate to a few float ulps (max abs error ~2e-7), written so
// that compilers vectorise loops over it: the elementwise blocks evaluate it hundreds of
// millions of times per iteration, where std::tanh is slow (BENCHMARKS.md, "Figures behind").
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

// Portable builds target x86-64-v2; on glibc/x86-64 GCC also emits an AVX2 + FMA clone and an
// AVX-512 clone (x86-64-v4: twice the lanes) of a function marked ADMM_TARGET_CLONES, picked at
// load time (ifunc). Elsewhere the baseline code is used.
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GNUC__) && !defined(__clang__)
#define ADMM_TARGET_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ADMM_TARGET_CLONES
#endif

namespace admm {

// exp(x) for x in [-88, 0]: 2^n · p(r), |r| ≤ ln2/2 (Cephes coefficients).
inline float expNonPositive(float x) {
  x = x < -87.0f ? -87.0f : x;
  const float n = std::floor(x * 1.44269504088896341f + 0.5f);
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // A NaN x stays NaN through p; its exponent is taken as 0, since converting NaN to an integer
  // is undefined (x86 gives INT_MIN, and the shift below then overflows).
  const float exponent = n == n ? n : 0.0f;
  const int32_t bits = (static_cast<int32_t>(exponent) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline float fastTanh(float x) {
  const float ax = std::fabs(x);
  const float e = expNonPositive(-2.0f * ax);
  const float big = (1.0f - e) / (1.0f + e);
  // Near 0, 1 − e cancels: use the odd Taylor series (error < 1e-9 for |x| < 0.03).
  const float x2 = ax * ax;
  const float small = ax * (1.0f + x2 * (-1.0f / 3.0f + x2 * (2.0f / 15.0f)));
  const float t = ax < 0.03f ? small : big;
  return std::copysign(t, x);
}

// out[i] = fastTanh(in[i]) (in == out allowed). Defined in activations.cpp with an AVX2 + FMA
// clone beside the x86-64-v2 baseline (rates in BENCHMARKS.md, "What changed for these figures").
void tanhArray(const float* in, float* out, int64_t n);

}  // namespace admm
