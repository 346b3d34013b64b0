// A tiny fork-join helper for the elementwise kernels (BLAS threads itself).
// Work is split into a number of chunks that depends only on the problem size
// and the configured thread count, and partial sums are combined in chunk
// order, so results are identical from run to run.
#pragma once
#include <algorithm>
#include <cstdint>
#include <exception>
#include <functional>
#include <new>
#include <system_error>
#include <thread>
#include <vector>

#include "row_parallel.h"  // insideParallelBlocks

namespace admm {

int elementwiseThreads();
void setElementwiseThreads(int n);

// The tests' fault switch (row_parallel.cpp; set only through the addon's `internal.injectFault`).
enum class FaultSite { kNone = 0, kBlocks = 1, kChunks = 2 };
enum class FaultKind { kOutOfMemory, kInternal };  // std::bad_alloc, std::runtime_error
bool injectedFault(FaultSite where);
void setInjectedFault(FaultSite where, FaultKind kind);
[[noreturn]] void throwInjectedFault();

// Calls body(begin, end, chunk) over [0, n) in contiguous chunks.
// Returns the number of chunks used (at most elementwiseThreads()).
// Inside a parallelBlocks body (row_parallel.h) it stays on its thread: the blocks already
// use the cores.
inline int parallelChunks(int64_t n, int64_t minPerChunk,
                          const std::function<void(int64_t, int64_t, int)>& body) {
  int chunks = insideParallelBlocks() ? 1 : elementwiseThreads();
  if (n < minPerChunk * 2) chunks = 1;
  else if (n / minPerChunk < chunks) chunks = static_cast<int>(n / minPerChunk);
  if (chunks <= 1) {
    body(0, n, 0);
    return 1;
  }
  // An exception in a chunk (std::bad_alloc) is rethrown here, on the caller's thread, where
  // the binding's guard turns it into an error instead of std::terminate in a worker.
  std::vector<std::exception_ptr> failures(static_cast<size_t>(chunks));
  auto guarded = [&body, &failures](int64_t b, int64_t e, int c) {
    try {
      if (c == 1 && injectedFault(FaultSite::kChunks)) throwInjectedFault();
      if (b < e) body(b, e, c);
    } catch (...) {
      failures[static_cast<size_t>(c)] = std::current_exception();
    }
  };
  std::vector<std::thread> workers;
  workers.reserve(chunks - 1);
  const int64_t step = (n + chunks - 1) / chunks;
  int c = 1;
  try {
    for (; c < chunks; ++c) {
      int64_t b = c * step, e = std::min(n, b + step);
      workers.emplace_back(guarded, b, e, c);
    }
  } catch (const std::system_error&) {
    // No thread to be had: this thread does the chunks that got none, in order.
  }
  guarded(0, std::min(n, step), 0);
  for (int rest = c; rest < chunks; ++rest) guarded(rest * step, std::min(n, rest * step + step), rest);
  for (auto& w : workers) w.join();
  for (auto& f : failures)
    if (f) std::rethrow_exception(f);
  return chunks;
}

// Sum of per-chunk partial results, combined in chunk order.
template <class Partial>
double parallelSum(int64_t n, int64_t minPerChunk, Partial partial) {
  std::vector<double> sums(static_cast<size_t>(elementwiseThreads()) + 1, 0.0);
  int used = parallelChunks(n, minPerChunk, [&](int64_t b, int64_t e, int c) { sums[c] = partial(b, e); });
  double total = 0.0;
  for (int c = 0; c < used; ++c) total += sums[c];
  return total;
}

// The smallest k in [0, n) with found(k), or n: each chunk scans its own range, and the
// earliest chunk's hit wins, so the answer does not depend on the chunking.
template <class Predicate>
int64_t parallelFirst(int64_t n, int64_t minPerChunk, Predicate found) {
  std::vector<int64_t> first(static_cast<size_t>(elementwiseThreads()) + 1, n);
  int used = parallelChunks(n, minPerChunk, [&](int64_t b, int64_t e, int c) {
    for (int64_t k = b; k < e; ++k)
      if (found(k)) {
        first[c] = k;
        return;
      }
  });
  int64_t k = n;
  for (int c = 0; c < used; ++c) k = std::min(k, first[c]);
  return k;
}

// Element-wise sum of per-chunk partial vectors: partial(begin, end, out) adds its chunk's
// `width` values into out; the chunks' vectors are combined in chunk order.
template <class Partial>
std::vector<double> parallelVectorSum(int64_t n, int64_t minPerChunk, size_t width, Partial partial) {
  std::vector<double> sums((static_cast<size_t>(elementwiseThreads()) + 1) * width, 0.0);
  int used = parallelChunks(n, minPerChunk, [&](int64_t b, int64_t e, int c) { partial(b, e, sums.data() + c * width); });
  std::vector<double> total(width, 0.0);
  for (int c = 0; c < used; ++c)
    for (size_t i = 0; i < width; ++i) total[i] += sums[c * width + i];
  return total;
}

}  // namespace admm
