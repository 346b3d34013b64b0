// parallelBlocks: threads over row blocks; and the control of OpenBLAS's own threads.
#include "row_parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <new>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "blas.h"
#include "kernels.h"
#include "parallel.h"

namespace admm {
namespace {

thread_local bool tInsideBlocks = false;

// OpenBLAS's own threading is off (one thread) from the moment the addon registers its ops:
// the kernels thread their tall products themselves (parallelBlocks), and everywhere else (a
// mini-batch's per-step products, small Grams, factorisations) OpenBLAS's threads were no
// faster and kept the other core busy spinning (BENCHMARKS.md, "OpenBLAS's own threads").
// It also makes every kernel's result independent of the thread count. Only ThreadedBlas turns
// them on, for one call. Kernels run one at a time (binding_ops.h), so scopes never overlap.
std::mutex gBlasMutex;
int gConfiguredBlasThreads = 0;  // 0: not read yet
bool gInsideThreaded = false;

int configuredLocked() {
  if (gConfiguredBlasThreads == 0) {
    gConfiguredBlasThreads = std::max(1, openblas_get_num_threads());
    openblas_set_num_threads(1);
  }
  return gConfiguredBlasThreads;
}

class InsideScope {
 public:
  InsideScope() : previous_(tInsideBlocks) { tInsideBlocks = true; }
  ~InsideScope() { tInsideBlocks = previous_; }

 private:
  bool previous_;
};

}  // namespace

void takeOverBlasThreads() {
  std::lock_guard<std::mutex> lock(gBlasMutex);
  configuredLocked();
}

ThreadedBlas::ThreadedBlas() {
  std::lock_guard<std::mutex> lock(gBlasMutex);
  gInsideThreaded = true;
  openblas_set_num_threads(configuredLocked());
}

ThreadedBlas::~ThreadedBlas() {
  std::lock_guard<std::mutex> lock(gBlasMutex);
  gInsideThreaded = false;
  openblas_set_num_threads(1);
}

int blasThreads() {
  std::lock_guard<std::mutex> lock(gBlasMutex);
  return configuredLocked();
}

void setBlasThreads(int n) {
  std::lock_guard<std::mutex> lock(gBlasMutex);
  configuredLocked();
  gConfiguredBlasThreads = std::max(1, n);
  if (gInsideThreaded) openblas_set_num_threads(gConfiguredBlasThreads);
}

bool insideParallelBlocks() { return tInsideBlocks; }

// internal.injectFault({ site: 'blocks' | 'chunks' }) makes worker 1 of parallelBlocks (or chunk 1
// of parallelChunks) throw std::bad_alloc (or, kind 'internal', std::runtime_error): the tests'
// only way to see that a failure on a worker thread becomes the kernel's error instead of
// std::terminate. Off unless a test sets it; no environment variable reaches it.
namespace {
std::atomic<int> gInjectedFault{static_cast<int>(FaultSite::kNone)};
std::atomic<bool> gInjectedInternal{false};
}  // namespace
bool injectedFault(FaultSite where) {
  return gInjectedFault.load(std::memory_order_relaxed) == static_cast<int>(where);
}
void setInjectedFault(FaultSite where, FaultKind kind) {
  gInjectedInternal.store(kind == FaultKind::kInternal);
  gInjectedFault.store(static_cast<int>(where));
}
void throwInjectedFault() {
  if (gInjectedInternal.load()) throw std::runtime_error("injected fault");
  throw std::bad_alloc();
}

int blockWorkers(int64_t blocks) {
  if (tInsideBlocks || blocks <= 1) return 1;
  return static_cast<int>(std::min<int64_t>(blasThreads(), blocks));
}

void parallelBlocks(int64_t blocks, const std::function<void(int64_t, int)>& body) {
  const int workers = blockWorkers(blocks);
  if (workers <= 1) {
    for (int64_t k = 0; k < blocks; ++k) body(k, 0);
    return;
  }
  std::atomic<int64_t> next{0};
  // An exception in a block (std::bad_alloc) must reach the caller's guard, not terminate the
  // process from a worker thread: the first is kept, the others stop taking blocks.
  std::exception_ptr failure;
  std::mutex failureMutex;
  auto run = [&](int worker) {
    InsideScope inside;
    try {
      if (worker == 1 && injectedFault(FaultSite::kBlocks)) throwInjectedFault();
      for (int64_t k; (k = next.fetch_add(1)) < blocks;) body(k, worker);
    } catch (...) {
      next.store(blocks);
      std::lock_guard<std::mutex> lock(failureMutex);
      if (!failure) failure = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(workers - 1));
  try {
    for (int w = 1; w < workers; ++w) threads.emplace_back(run, w);
  } catch (const std::system_error&) {
    // No thread to be had: the threads that started (and this one) take every block.
  }
  run(0);
  for (auto& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace admm
