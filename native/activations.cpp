// Block 2: the elementwise, non-convex pre-activation step
//   φ(a) = ρ1/2 (a − p)² + ρ2/2 (q − tanh a)²,  p = P − μ1,  q = s + μ2.
// With t = tanh a, δ = 1 − t²:  φ' = ρ1(a − p) − ρ2(q − t)δ,  φ'' = ρ1 + ρ2 δ(δ + 2t(q − t)).
// Every minimiser lies in [p − B, p + B], B = ρ2(|q| + 1)/ρ1, and φ is convex for all p iff
// ρ1 ≥ ρ2·c(|q|). Convex elements get bracketed Newton (one tanh per iteration); the rest
// get seeds (warm start, p, the tanh well, grids) polished by monotone safeguarded Newton, and
// never a value above φ(a_old).
//
// Fast path (exact variant): blocks of elements whose |q| is below the convexity limit run
// a few plain Newton passes in float, branch-free and vectorised (8 lanes; tolerance 1e-6
// relative, about the precision a float a is stored at). An element is accepted only if its
// last pass was a converged Newton step with φ'' > 0 inside [lo, hi]; for a convex φ that is
// the (unique) minimiser. Everything else (non-convex, not converged, non-finite) falls back to
// the safeguarded scalar solver, in double, from the original start. With AStepFinish::kShortcuts
// (the local dual walk) the elements above the limit take the fast path too, and a converged one
// is kept where a convexity proof makes it the global minimiser (solveBlockShortcuts).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "fast_math.h"
#include "kernels.h"
#include "parallel.h"

namespace admm {
namespace {

// tanh in double for the scalar solver, branch-free (absolute error ~2e-16).
// With y = −2|a| = n ln2 + r, |r| ≤ ln2/2, Cephes' Padé form
// e^r = (Q + rP)/(Q − rP) gives e^y = 2ⁿ(Q + rP)/(Q − rP), so
//   tanh|a| = (1 − e^y)/(1 + e^y) = ((Q − rP) − 2ⁿ(Q + rP)) / ((Q − rP) + 2ⁿ(Q + rP))
// costs one division.
inline double tanhD(double a) {
  double y = -2.0 * std::fabs(a);
  y = y < -60.0 ? -60.0 : y;  // tanh = 1 in double well before this
  constexpr double kShift = 6755399441055744.0;  // 1.5·2⁵²: adding it rounds to an integer
  const double shifted = y * 1.4426950408889634 + kShift;
  const double n = shifted - kShift;
  const double r = (y - n * 6.93145751953125e-1) - n * 1.42860682030941723212e-6;
  const double rr = r * r;
  const double rp = r * ((1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2) * rr + 9.99999999999999999910e-1);
  const double q = ((3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3) * rr + 2.27265548208155028766e-1) * rr +
                   2.00000000000000000009e0;
  // The low mantissa bits of `shifted` hold n (two's complement); n + 1023 ∈ [936, 1023].
  uint64_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  bits = (bits + 1023) << 52;
  double scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const double lo = q - rp, hi = scale * (q + rp);
  return std::copysign((lo - hi) / (lo + hi), a);
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
    if (!(q < kTableMax)) return 1.0 / 3.0 + 0.7699 * q;  // c(|q|) ≤ 1/3 + (4/(3√3))|q|
    const int k = static_cast<int>(std::ceil(q * kTableSize / kTableMax));
    return c[std::min(k, kTableSize)] + 1e-9;
  }
  // Largest q* such that every |q| ≤ q* passes ρ1 ≥ ρ2·upperBound(q) (upperBound is
  // non-decreasing on the table); −1 if even q = 0 fails.
  double convexLimit(double rho1, double rho2) const {
    int k = 0;
    while (k < kTableSize && rho1 >= rho2 * (c[k] + 1e-9)) ++k;
    return k == 0 ? -1.0 : (k - 1) * (kTableMax / kTableSize);
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
// `stationary` (if given) tells whether it stopped at a stationary point, not at its iteration cap
// (on a non-convex φ the bracket can shrink slowly).
double newtonConvex(const Element& e, double a, double lo, double hi, bool* stationary = nullptr) {
  if (stationary) *stationary = true;
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
  if (stationary) *stationary = false;
  return a;
}

// Non-convex φ: Newton where φ'' > 0 (with step halving), an expanding downhill search where
// φ'' ≤ 0 (so concave stretches are crossed in a few steps, not by tiny majorisation steps),
// and the majorisation step −φ'/L as the last resort; never accepts an increase.
double newtonMonotone(const Element& e, double a, double lo, double hi, double lipschitz, double& f) {
  for (int it = 0; it < 60; ++it) {
    const double t = tanhD(a), dlt = 1 - t * t;
    const double g = e.rho1 * (a - e.p) - e.rho2 * (e.q - t) * dlt;
    if (g == 0) break;
    const double H = e.rho1 + e.rho2 * dlt * (dlt + 2 * t * (e.q - t));
    double next = a, fn = f;
    if (H > 0) {
      double step = -g / H;
      for (int halve = 0; halve < 12; ++halve, step *= 0.5) {
        next = std::clamp(a + step, lo, hi);
        fn = e.value(next);
        if (fn <= f) break;
      }
    } else {
      const double dir = g > 0 ? -1 : 1;
      for (double step = 0.05; step < 2 * (hi - lo); step *= 2) {
        const double trial = std::clamp(a + dir * step, lo, hi), ft = e.value(trial);
        if (ft > fn) break;
        next = trial, fn = ft;
        if (trial == lo || trial == hi) break;
      }
    }
    if (!(fn < f)) {  // the majorisation step −φ'/L never increases φ
      next = std::clamp(a - g / lipschitz, lo, hi);
      fn = e.value(next);
      if (fn > f) break;
    }
    const bool done = converged(next - a, a);
    a = next;
    f = fn;
    if (done) break;
  }
  return a;
}

// value[k] = φ(at[k]) for k < n, vectorised in the clones; contraction off, so every clone gives
// the baseline's bits (the same operations in the same order, without fused multiply-adds).
ADMM_TARGET_CLONES [[gnu::optimize("fp-contract=off")]]
void sampleValues(const Element& e, const double* at, double* value, int n) {
  const Element local = e;
  for (int k = 0; k < n; ++k) value[k] = local.value(at[k]);
}

// The global minimiser of a non-convex φ lies in the basin of the parabola's centre p or of
// the tanh well (atanh q; for |q| ≥ 1 the saturated side), or between them. Sample φ at the
// warm start, p, the well, a fine grid spanning them and a coarse grid over the whole box;
// polish every sample lower than its neighbours (one per basin) and keep the best result —
// never one above φ(a0).
double solveNonConvex(const Element& e, double a0, double lo, double hi) {
  const double lipschitz = e.rho1 + e.rho2 * (1 + 0.77 * (std::fabs(e.q) + 1));
  const double well = std::atanh(std::clamp(e.q, -0.9995, 0.9995));
  constexpr int kFine = 48, kCoarse = 16, kSamples = kFine + kCoarse + 5;
  // The samples in ascending order: both grids already are (rounding is monotone), so three
  // merges replace a sort (same order, a sixth of a solve's time).
  std::array<double, kFine + 1> fine{};
  std::array<double, kCoarse + 1> coarse{};
  std::array<double, 3> extra{std::clamp(a0, lo, hi), std::clamp(e.p, lo, hi), std::clamp(well, lo, hi)};
  const double from = std::max(lo, std::min({e.p, well, a0}) - 1), to = std::min(hi, std::max({e.p, well, a0}) + 1);
  for (int k = 0; k <= kFine; ++k) fine[k] = from + (to - from) * k / kFine;
  for (int k = 0; k <= kCoarse; ++k) coarse[k] = lo + (hi - lo) * k / kCoarse;
  std::sort(extra.begin(), extra.end());
  std::array<double, kFine + kCoarse + 2> grids{};
  std::merge(fine.begin(), fine.end(), coarse.begin(), coarse.end(), grids.begin());
  std::array<double, kSamples> at{};
  std::merge(grids.begin(), grids.end(), extra.begin(), extra.end(), at.begin());
  const int n = kSamples;
  std::array<double, kSamples> value{};
  sampleValues(e, at.data(), value.data(), n);
  const double f0 = e.value(a0);
  double best = a0, fBest = f0;
  for (int k = 0; k < n; ++k) {
    const bool basin = (k == 0 || value[k] <= value[k - 1]) && (k == n - 1 || value[k] <= value[k + 1]);
    if (!basin || (k > 0 && at[k] == at[k - 1])) continue;
    double f = value[k];
    const double a = newtonMonotone(e, at[k], lo, hi, lipschitz, f);
    if (f < fBest) best = a, fBest = f;
  }
  return best;
}

// Whether φ is convex wherever it can be lower than at a: φ(x) ≥ ρ1/2 (x − p)² and φ(x) ≥ ρ2/2 (q − t)²
// (t = tanh x), so every such x lies within r = √(2φ(a)/ρ1) of p and has t within s = √(2φ(a)/ρ2)
// of q — an interval of x, on which φ'' = ρ1 + ρ2 (1 − t²)(1 − 3t² + 2tq) is positive if t stays
// between the roots t± = (q ± √(q² + 3))/3 of the last factor. A stationary a that passes is then
// the global minimiser (callers pass stationary points only: the test says nothing of other a).
bool convexWhereLower(const Element& e, double a) {
  const double f = e.value(a), root = std::sqrt(e.q * e.q + 3);
  const double r = std::sqrt(2 * f / e.rho1), s = std::sqrt(2 * f / e.rho2);  // ρ2 > 0: φ is non-convex
  const double tLo = std::max(tanhD(e.p - r), e.q - s), tHi = std::min(tanhD(e.p + r), e.q + s);
  return tLo >= (e.q - root) / 3 && tHi <= (e.q + root) / 3;
}

// `warmBasin` (AStepFinish::kShortcuts): a non-convex element first gets bracketed Newton from its
// warm start, kept if convexWhereLower proves it global; only the others get the global search.
double solveElement(double a0, double p, double q, double rho1, double rho2, bool warmBasin) {
  const Element e{rho1, rho2, p, q};
  const double B = rho2 * (std::fabs(q) + 1) / rho1, lo = p - B, hi = p + B;
  if (rho1 >= rho2 * convexityTable().upperBound(q)) return newtonConvex(e, std::clamp(a0, lo, hi), lo, hi);
  if (warmBasin) {
    bool stationary;
    const double a = newtonConvex(e, std::clamp(a0, lo, hi), lo, hi, &stationary);
    if (stationary && std::isfinite(a) && convexWhereLower(e, a)) return a;
  }
  return solveNonConvex(e, a0, lo, hi);
}

constexpr int kBlock = 256;

// The helpers below are inlined into each clone, so they are compiled for its target too.
#define ADMM_INLINE [[gnu::always_inline]] inline

// One Newton step on φ in float, clamped to [lo, hi], and whether it "converged": φ'' > 0, the new
// point inside [lo, hi], and |step| ≤ tol = 1e-6 (1 + |a|) (~16 float ulps, above the rounding
// noise of φ'/φ''). With `shortcuts` (AStepFinish::kShortcuts) also when Newton's error bound puts the
// new point within tol of the minimiser: that error is at most L step² / (2m), L ≥ |φ'''| and m
// the least φ'' between a and the minimiser; with L = ρ2 (2.1 + 2|q|) (bounds |φ'''| at every a)
// and 2 L |step| ≤ H (so m ≥ H/2), 4 L step² ≤ H tol bounds it by tol/2 — which saves the pass
// that only confirms |step| ≤ tol. With e = e^{−2|a|}: tanh|a| = (1 − e)/(1 + e),
// δ = 1 − t² = 4e/(1 + e)². tanhNext = t + δ·step is tanh of the new point to 0.77 step² (~1e-12
// after a step within tol, < 1e-7 after one accepted on the bound): the caller's tanh a without
// another exponential.
ADMM_INLINE float newtonUpdate(float a, float p, float q, float lo, float hi, float rho1, float rho2,
                               bool shortcuts, bool& conv, float& tanhNext) {
  const float e = expNonPositive(-2.0f * std::fabs(a));
  const float inv = 1.0f / (1.0f + e);
  const float t = std::copysign((1.0f - e) * inv, a), dlt = 4.0f * e * inv * inv, r = q - t;
  const float g = rho1 * (a - p) - rho2 * r * dlt;
  const float H = rho1 + rho2 * dlt * (dlt + 2.0f * t * r);
  float next = a - g / H;
  const float step = std::fabs(next - a), tol = 1e-6f * (1.0f + std::fabs(a));
  const float L = rho2 * (2.1f + 2.0f * std::fabs(q));
  const bool close = (step <= tol) | (shortcuts & (4.0f * L * step * step <= H * tol) & (2.0f * L * step <= H));
  conv = (H > 0) & close & (next >= lo) & (next <= hi);
  next = next < lo ? lo : next;
  next = next > hi ? hi : next;
  tanhNext = t + dlt * (next - a);
  return next;
}

constexpr int kMaxPasses = 6, kStragglers = 8;

// The vectorised part of a block: plain Newton passes in float (8 or 16 lanes), branch-free
// (non-short-circuit &), from the warm start, for the elements with |q| ≤ qMax and finite p and
// warm start (`fast`); they stop once all but a few stragglers converged (`good`; the stragglers
// are cheaper in the scalar solver than another pass). `shortcuts`: Newton stops on its error bound.
struct NewtonLanes {
  alignas(64) float a[kBlock], q[kBlock], fast[kBlock], good[kBlock];
  int slow = 0;     // elements not `fast`
  int pending = 0;  // `fast` elements not converged
};

ADMM_INLINE void newtonLanes(int m, const float* P, const float* M1, const float* S, const float* M2, const float* A,
                             double rho1, double rho2, float qMax, bool shortcuts, NewtonLanes& L, float* outTanh) {
  alignas(64) float p[kBlock], lo[kBlock], hi[kBlock];
  const float r1 = static_cast<float>(rho1), r2 = static_cast<float>(rho2);
  const float ratio = static_cast<float>(rho2 / rho1);
  int slow = 0;
  for (int j = 0; j < m; ++j) {
    const float pj = P[j] - M1[j], qj = S[j] + M2[j], a0 = A[j];
    const float B = ratio * (std::fabs(qj) + 1);
    const bool ok = (std::fabs(qj) <= qMax) & (std::fabs(pj) < 1e30f) & (std::fabs(a0) < 1e30f);
    const float l = pj - B, u = pj + B;
    float st = a0 < l ? l : a0;
    st = st > u ? u : st;
    L.fast[j] = ok ? 1.0f : 0.0f;
    slow += ok ? 0 : 1;
    p[j] = ok ? pj : 0.0f;  // benign values for lanes left to the scalar solver
    L.q[j] = ok ? qj : 0.0f;
    lo[j] = ok ? l : -1.0f;
    hi[j] = ok ? u : 1.0f;
    L.a[j] = ok ? st : 0.0f;
  }
  L.slow = slow;
  int pending = 0;
  for (int pass = 0; pass < kMaxPasses; ++pass) {
    pending = 0;
    for (int j = 0; j < m; ++j) {
      bool conv;
      L.a[j] = newtonUpdate(L.a[j], p[j], L.q[j], lo[j], hi[j], r1, r2, shortcuts, conv, outTanh[j]);
      L.good[j] = conv ? 1.0f : 0.0f;
      pending += conv ? 0 : 1;
    }
    if (pending == 0 || (pass > 0 && pending <= kStragglers)) break;
  }
  L.pending = pending;
}

// One block of the exact a-step (AStepFinish::kReference): the Newton lanes for the elements whose
// |q| is below the convexity limit; the elements they do not certify — non-convex, non-finite, or
// not converged — get the scalar solver. Writes the new a to out and tanh a to outTanh (from the
// last Newton step where it converged).
ADMM_INLINE void solveBlock(int m, const float* P, const float* M1, const float* S, const float* M2,
                            const float* A, double rho1, double rho2, double qStar, float* out, float* outTanh) {
  NewtonLanes L;
  newtonLanes(m, P, M1, S, M2, A, rho1, rho2, static_cast<float>(qStar), false, L, outTanh);
  for (int j = 0; j < m; ++j) out[j] = L.a[j];
  for (int j = 0; j < m && L.pending + L.slow > 0; ++j) {
    if (L.fast[j] != 0 && L.good[j] != 0) continue;
    const double pj = static_cast<double>(P[j]) - M1[j], qj = static_cast<double>(S[j]) + M2[j];
    out[j] = static_cast<float>(solveElement(A[j], pj, qj, rho1, rho2, false));
    outTanh[j] = fastTanh(out[j]);
  }
}

// The same block with AStepFinish::kShortcuts: the Newton lanes, stopping on the error bound, for
// every element with |q| ≤ 1e6 (which keeps ρ2 q δ and φ'' finite in float for every ρ2 the
// bindings accept, ≤ 1e12); a converged element whose |q| is above the convexity limit is kept when
// convexWhereLower proves it global, else it gets the global search; the elements not converged get
// the scalar solver (bracketed Newton from the warm start, then the same proof).
ADMM_INLINE void solveBlockShortcuts(int m, const float* P, const float* M1, const float* S, const float* M2,
                                     const float* A, double rho1, double rho2, double qStar, float* out,
                                     float* outTanh) {
  NewtonLanes L;
  newtonLanes(m, P, M1, S, M2, A, rho1, rho2, 1e6f, true, L, outTanh);
  const float qLimit = static_cast<float>(qStar);
  int nonConvex = 0;
  for (int j = 0; j < m; ++j) nonConvex += std::fabs(S[j] + M2[j]) <= qLimit ? 0 : 1;
  for (int j = 0; j < m; ++j) out[j] = L.a[j];
  for (int j = 0; j < m && L.pending + L.slow + nonConvex > 0; ++j) {
    const bool converged = L.fast[j] != 0 && L.good[j] != 0;
    if (converged && std::fabs(L.q[j]) <= qLimit) continue;
    const double pj = static_cast<double>(P[j]) - M1[j], qj = static_cast<double>(S[j]) + M2[j];
    const Element e{rho1, rho2, pj, qj};
    if (converged) {  // possibly non-convex: kept if proved global, else the global search
      if (convexWhereLower(e, L.a[j])) continue;
      const double B = rho2 * (std::fabs(qj) + 1) / rho1;
      out[j] = static_cast<float>(solveNonConvex(e, A[j], pj - B, pj + B));
    } else {
      out[j] = static_cast<float>(solveElement(A[j], pj, qj, rho1, rho2, true));
    }
    outTanh[j] = fastTanh(out[j]);
  }
}

// Exact a-step over [b, e) in blocks of kBlock elements (`shortcuts`: AStepFinish::kShortcuts).
// Returns Σ (Δa)² (partial sums in 4 fixed lanes, so the result does not depend on the
// vector width), or 0 without `sumChange`.
ADMM_TARGET_CLONES
double aStepExactRange(int64_t b, int64_t e, const float* P, const float* M1, const float* S, const float* M2,
                       double rho1, double rho2, double qStar, bool shortcuts, bool sumChange, float* A, float* TA) {
  alignas(64) float out[kBlock], outTanh[kBlock];
  double acc[4] = {0, 0, 0, 0};
  for (int64_t k0 = b; k0 < e; k0 += kBlock) {
    const int m = static_cast<int>(std::min<int64_t>(kBlock, e - k0));
    float* Ab = A + k0;
    if (shortcuts)
      solveBlockShortcuts(m, P + k0, M1 + k0, S + k0, M2 + k0, Ab, rho1, rho2, qStar, out, outTanh);
    else
      solveBlock(m, P + k0, M1 + k0, S + k0, M2 + k0, Ab, rho1, rho2, qStar, out, outTanh);
    int j = sumChange ? 0 : m;
    for (; j + 4 <= m; j += 4)
      for (int l = 0; l < 4; ++l) {
        const double dlt = static_cast<double>(out[j + l]) - Ab[j + l];
        acc[l] += dlt * dlt;
      }
    for (; j < m; ++j) {
      const double dlt = static_cast<double>(out[j]) - Ab[j];
      acc[0] += dlt * dlt;
    }
    std::memcpy(Ab, out, sizeof(float) * m);
    std::memcpy(TA + k0, outTanh, sizeof(float) * m);
  }
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
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
             bool linearized, double* theta, float* A, float* TA, AStepFinish finish, bool sumChange) {
  constexpr int64_t kMinChunk = 1 << 14;
  if (!linearized) {
    const double qStar = convexityTable().convexLimit(rho1, rho2);  // builds the table before threads race to it
    return parallelSum(n, kMinChunk, [&](int64_t b, int64_t e) {
      return aStepExactRange(b, e, P, M1, S, M2, rho1, rho2, qStar, finish == AStepFinish::kShortcuts, sumChange,
                             A, TA);
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

ADMM_TARGET_CLONES
void tanhArray(const float* in, float* out, int64_t n) {
  for (int64_t k = 0; k < n; ++k) out[k] = fastTanh(in[k]);
}

void tanhInto(int64_t n, const float* A, float* out) {
  parallelChunks(n, 1 << 15, [&](int64_t b, int64_t e, int) { tanhArray(A + b, out + b, e - b); });
}

}  // namespace admm
