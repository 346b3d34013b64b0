// Block 2: the elementwise, non-convex pre-activation step
//   φ(a) = ρ1/2 (a − p)² + ρ2/2 (q − tanh a)²,  p = P − μ1,  q = s + μ2.
// With t = tanh a, δ = 1 − t²:  φ' = ρ1(a − p) − ρ2(q − t)δ,  φ'' = ρ1 + ρ2 δ(δ + 2t(q − t)).
// Every minimiser lies in [p − B, p + B], B = ρ2(|q| + 1)/ρ1, and φ is convex for all p iff
// ρ1 ≥ ρ2·c(|q|). Convex elements get bracketed Newton (one tanh per iteration); the rest
// get a coarse grid plus monotone safeguarded Newton, and never a value above φ(a_old).
#include <algorithm>
#include <array>
#include <cmath>

#include "fast_math.h"
#include "kernels.h"
#include "parallel.h"

namespace admm {
namespace {

// tanh via one exp: absolute error ~1e-16, a third of std::tanh's cost.
inline double tanhD(double a) {
  const double e = std::exp(-2.0 * std::fabs(a));
  return std::copysign((1.0 - e) / (1.0 + e), a);
}

// c(|q|) tabulated on a grid; each cell stores c at its upper end (c increases with |q|),
// so the lookup is an upper bound and the convexity test stays sufficient.
constexpr int kTableSize = 1024;
constexpr double kTableMax = 16.0;
struct ConvexityTable {
  std::array<double, kTableSize + 1> c{};
  ConvexityTable() {
    for (int k = 0; k <= kTableSize; ++k) c[k] = convexityThreshold(kTableMax * k / kTableSize);
  }
  double upperBound(double q) const {
    q = std::fabs(q);
    if (q >= kTableMax) return 1.0 / 3.0 + 0.7699 * q;  // c(|q|) ≤ 1/3 + (4/(3√3))|q|
    const int k = static_cast<int>(std::ceil(q * kTableSize / kTableMax));
    return c[std::min(k, kTableSize)] + 1e-9;
  }
};
const ConvexityTable& convexityTable() {
  static const ConvexityTable table;
  return table;
}

struct Element {
  double rho1, rho2, p, q;
  double value(double a) const {
    const double r = q - tanhD(a);
    return 0.5 * rho1 * (a - p) * (a - p) + 0.5 * rho2 * r * r;
  }
  double gradient(double a) const {
    const double t = tanhD(a);
    return rho1 * (a - p) - rho2 * (q - t) * (1 - t * t);
  }
};

inline bool converged(double step, double a) { return std::fabs(step) <= 1e-7 * (1.0 + std::fabs(a)); }

// Convex φ: Newton kept inside a shrinking bracket [lo, hi] with φ'(lo) ≤ 0 ≤ φ'(hi).
double newtonConvex(const Element& e, double a, double lo, double hi) {
  for (int it = 0; it < 60; ++it) {
    const double t = tanhD(a), dlt = 1 - t * t;
    const double g = e.rho1 * (a - e.p) - e.rho2 * (e.q - t) * dlt;
    if (g == 0) return a;
    (g > 0 ? hi : lo) = a;
    const double H = e.rho1 + e.rho2 * dlt * (dlt + 2 * t * (e.q - t));
    double next = H > 0 ? a - g / H : lo - 1;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (converged(next - a, a) || hi - lo <= 1e-12 * (1 + std::fabs(a))) return next;
    a = next;
  }
  return a;
}

// Non-convex φ: Newton / majorisation steps with step halving, never accepting an increase.
double newtonMonotone(const Element& e, double a, double lo, double hi, double lipschitz, double& f) {
  for (int it = 0; it < 40; ++it) {
    const double t = tanhD(a), dlt = 1 - t * t;
    const double g = e.rho1 * (a - e.p) - e.rho2 * (e.q - t) * dlt;
    const double H = e.rho1 + e.rho2 * dlt * (dlt + 2 * t * (e.q - t));
    double step = H > 0 ? -g / H : -g / lipschitz;
    double next = a, fn = f;
    for (int halve = 0; halve < 12; ++halve, step *= 0.5) {
      next = std::clamp(a + step, lo, hi);
      fn = e.value(next);
      if (fn <= f) break;
    }
    if (fn > f) {  // the majorisation step −φ'/L never increases φ
      next = std::clamp(a - g / lipschitz, lo, hi);
      fn = e.value(next);
      if (fn > f) return a;
    }
    const bool done = converged(next - a, a);
    a = next;
    f = fn;
    if (done) break;
  }
  return a;
}

double solveElement(double a0, double p, double q, double rho1, double rho2) {
  const Element e{rho1, rho2, p, q};
  const double B = rho2 * (std::fabs(q) + 1) / rho1, lo = p - B, hi = p + B;
  const double start = std::clamp(a0, lo, hi);
  if (rho1 >= rho2 * convexityTable().upperBound(q)) return newtonConvex(e, start, lo, hi);

  const double lipschitz = rho1 + rho2 * (1 + 0.77 * (std::fabs(q) + 1));
  const double f0 = e.value(a0);
  double fWarm = e.value(start);
  double best = newtonMonotone(e, start, lo, hi, lipschitz, fWarm);
  double fBest = fWarm;
  // Coarse grid over the box for the global basin, then polish.
  constexpr int kGrid = 16;
  double aGrid = lo, fGrid = e.value(lo);
  for (int k = 1; k <= kGrid; ++k) {
    const double a = lo + (hi - lo) * k / kGrid, f = e.value(a);
    if (f < fGrid) aGrid = a, fGrid = f;
  }
  aGrid = newtonMonotone(e, aGrid, lo, hi, lipschitz, fGrid);
  if (fGrid < fBest) best = aGrid, fBest = fGrid;
  return fBest <= f0 ? best : a0;
}

}  // namespace

double convexityThreshold(double q) {
  q = std::fabs(q);
  auto negCurv = [q](double t) { return -(1 - t * t) * (1 - 3 * t * t + 2 * t * q); };
  // Dense scan then golden-section refinement around the best sample.
  constexpr int kScan = 2000;
  double bestT = 0, best = negCurv(0);
  for (int k = 0; k <= kScan; ++k) {
    const double t = -1 + 2.0 * k / kScan, v = negCurv(t);
    if (v > best) best = v, bestT = t;
  }
  double lo = std::max(-1.0, bestT - 2.0 / kScan), hi = std::min(1.0, bestT + 2.0 / kScan);
  const double ratio = 0.6180339887498949;
  for (int it = 0; it < 60; ++it) {
    const double m1 = hi - ratio * (hi - lo), m2 = lo + ratio * (hi - lo);
    if (negCurv(m1) > negCurv(m2)) hi = m2;
    else lo = m1;
  }
  return std::max(best, negCurv(0.5 * (lo + hi)));
}

double aStep(int64_t n, const float* P, const float* M1, const float* S, const float* M2, float rho1, float rho2,
             bool linearized, double* theta, float* A, float* TA) {
  constexpr int64_t kMinChunk = 1 << 14;
  if (!linearized) {
    convexityTable();  // build the table before threads race to it
    return parallelSum(n, kMinChunk, [&](int64_t b, int64_t e) {
      double change = 0;
      for (int64_t k = b; k < e; ++k) {
        const double a = solveElement(A[k], static_cast<double>(P[k]) - M1[k], static_cast<double>(S[k]) + M2[k],
                                      rho1, rho2);
        const float af = static_cast<float>(a);
        change += (static_cast<double>(af) - A[k]) * (static_cast<double>(af) - A[k]);
        A[k] = af;
        TA[k] = fastTanh(af);
      }
      return change;
    });
  }
  // Linearised proximal step: a ← a − φ'(a)/θ with one θ for all elements, doubled from
  // θ_prev/2 until Σφ(a⁺) ≤ Σφ(a) − ‖φ'‖²/(2θ). TA holds φ' until the step is accepted.
  auto element = [&](int64_t k) {
    return Element{rho1, rho2, static_cast<double>(P[k]) - M1[k], static_cast<double>(S[k]) + M2[k]};
  };
  const double f0 = parallelSum(n, kMinChunk, [&](int64_t b, int64_t e) {
    double f = 0;
    for (int64_t k = b; k < e; ++k) {
      const Element el = element(k);
      TA[k] = static_cast<float>(el.gradient(A[k]));
      f += el.value(A[k]);
    }
    return f;
  });
  const double gg = parallelSum(n, kMinChunk, [&](int64_t b, int64_t e) {
    double s = 0;
    for (int64_t k = b; k < e; ++k) s += static_cast<double>(TA[k]) * TA[k];
    return s;
  });
  double th = std::max(*theta * 0.5, 1e-12);
  for (int tries = 0; tries < 200 && gg > 0; ++tries, th *= 2) {
    const double f1 = parallelSum(n, kMinChunk, [&](int64_t b, int64_t e) {
      double f = 0;
      for (int64_t k = b; k < e; ++k) f += element(k).value(static_cast<double>(A[k]) - TA[k] / th);
      return f;
    });
    if (f1 <= f0 - gg / (2 * th)) break;
  }
  *theta = th;
  return parallelSum(n, kMinChunk, [&](int64_t b, int64_t e) {
    double change = 0;
    for (int64_t k = b; k < e; ++k) {
      const float af = gg > 0 ? static_cast<float>(A[k] - TA[k] / th) : A[k];
      change += (static_cast<double>(af) - A[k]) * (static_cast<double>(af) - A[k]);
      A[k] = af;
      TA[k] = fastTanh(af);
    }
    return change;
  });
}

}  // namespace admm
