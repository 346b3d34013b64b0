// Thread-count control for the elementwise kernels, and a plain SGEMM
// used by benchmarks as the machine's reference rate.
#include <algorithm>
#include <atomic>
#include <thread>

#include "blas.h"
#include "kernels.h"
#include "parallel.h"


namespace admm {
namespace {
std::atomic<int> gElementwiseThreads{static_cast<int>(std::max(1u, std::min(std::thread::hardware_concurrency(), 64u)))};
}

int elementwiseThreads() { return gElementwiseThreads.load(); }
void setElementwiseThreads(int n) { gElementwiseThreads.store(std::clamp(n, 1, 64)); }

// blasThreads / setBlasThreads live in row_parallel.cpp, which owns OpenBLAS's thread count.

void sgemm(int m, int n, int k, const float* A, const float* B, float* C) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, A, k, B, n, 0.0f, C, n);
}

}  // namespace admm
