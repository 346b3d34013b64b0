// Thread-count control for the elementwise kernels, and a plain SGEMM: the readout refit's
// products, and (in row blocks, as the kernels run theirs) the benchmarks' reference rate.
#include <algorithm>
#include <atomic>
#include <thread>

#include "blas.h"
#include "kernels.h"
#include "parallel.h"
#include "row_parallel.h"

namespace admm {
namespace {
std::atomic<int> gElementwiseThreads{static_cast<int>(std::max(1u, std::min(std::thread::hardware_concurrency(), 64u)))};
}

int elementwiseThreads() { return gElementwiseThreads.load(); }
void setElementwiseThreads(int n) { gElementwiseThreads.store(std::clamp(n, 1, 64)); }

// blasThreads / setBlasThreads live in row_parallel.cpp, which owns OpenBLAS's thread count.
// A plain call runs on OpenBLAS's own threads; rowBlocks splits it as the kernels split theirs.

void sgemm(int m, int n, int k, const float* A, const float* B, float* C, bool rowBlocks) {
  if (!rowBlocks) {
    ThreadedBlas threaded;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, A, k, B, n, 0.0f, C, n);
    return;
  }
  constexpr int kRows = static_cast<int>(kProductBlockRows);  // as the kernels' tall products
  parallelBlocks((m + kRows - 1) / kRows, [&](int64_t block, int) {
    const int r0 = static_cast<int>(block) * kRows, rows = std::min(kRows, m - r0);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, n, k, 1.0f, A + static_cast<int64_t>(r0) * k, k, B,
                n, 0.0f, C + static_cast<int64_t>(r0) * n, n);
  });
}

}  // namespace admm
