// Block 6 fused: one pass per constraint takes the scaled dual ascent μ ← (μ + l − r)·scale and
// collects every norm the residuals and the Lagrangian need (‖l − r‖², ‖l‖², ‖r‖², ‖μ‖² before
// and after). It replaces a TypeScript loop that ran single-threaded over N·T·h values.
#include <array>
#include <vector>

#include "kernels.h"
#include "parallel.h"

namespace admm {

AscentNorms dualAscent(int64_t n, const float* left, const float* right, float* dual, double scale, bool apply) {
  using Sums = std::array<double, 5>;
  std::vector<Sums> partial(static_cast<size_t>(elementwiseThreads()) + 1, Sums{});
  const int used = parallelChunks(n, 1 << 15, [&](int64_t b, int64_t e, int c) {
    double rr = 0, ll = 0, pp = 0, mo = 0, mn = 0;
    for (int64_t k = b; k < e; ++k) {
      // In double, as the TypeScript loop it replaces did, so the iterates are unchanged.
      const double l = left[k], p = right[k], m = dual[k], r = l - p, next = m + r;
      rr += r * r;
      ll += l * l;
      pp += p * p;
      mo += m * m;
      mn += next * next;
      if (apply) dual[k] = static_cast<float>(next * scale);
    }
    partial[c] = {rr, ll, pp, mo, mn};
  });
  AscentNorms out;
  for (int c = 0; c < used; ++c) {  // chunk order: deterministic for a given thread count
    out.residualSq += partial[c][0];
    out.leftSq += partial[c][1];
    out.rightSq += partial[c][2];
    out.dualOldSq += partial[c][3];
    out.dualNewSq += partial[c][4];
  }
  return out;
}

}  // namespace admm
