// Tall products split by blocks of rows over threads that each call single-threaded BLAS.
//
// On the kernels' tall-skinny shapes (N·T ≫ h rows, h = 128 columns) OpenBLAS's own threading
// splits one product at a time and synchronises its threads after every call; two threads that
// each run whole blocks (their own rows, products and elementwise passes, cache-resident)
// run faster (BENCHMARKS.md, "Why two references"). The thread count is the configured BLAS count:
// a user who asks for one BLAS thread gets the products on one thread.
#pragma once
#include <cstdint>
#include <functional>

namespace admm {

// How many threads parallelBlocks uses for `blocks` blocks: min(configured BLAS threads, blocks),
// or 1 inside another parallel region.
int blockWorkers(int64_t blocks);

// Calls body(block, worker) for every block in [0, blocks), blocks handed out in order to
// blockWorkers(blocks) threads (worker 0 is the caller); worker < blockWorkers(blocks), so the
// body can index per-worker scratch with it. OpenBLAS runs every call on its calling thread
// (its own threading is off), and nested parallelChunks calls stay on their thread. Blocks must
// write disjoint outputs (or per-block partials combined by the caller in block order, which
// keeps results independent of the thread timing).
void parallelBlocks(int64_t blocks, const std::function<void(int64_t block, int worker)>& body);

// Rows per block of the plain tall products (input projection, recurrent affine map, and the
// benchmarks' row-blocked SGEMM): an output block of 0.5 MB at h = 128 stays in cache between
// the fill and the product that adds into it.
constexpr int64_t kProductBlockRows = 1024;

// Reads OpenBLAS's thread count (OPENBLAS_NUM_THREADS or the cores) as the configured BLAS
// count and turns OpenBLAS's own threading off; the addon calls it once, when it loads.
void takeOverBlasThreads();

// OpenBLAS's own threading on, at the configured count, while it lives: for one product that
// is not split in row blocks (the benchmarks' reference, internal.sgemmThreaded).
class ThreadedBlas {
 public:
  ThreadedBlas();
  ~ThreadedBlas();
  ThreadedBlas(const ThreadedBlas&) = delete;
  ThreadedBlas& operator=(const ThreadedBlas&) = delete;
};

// True on a thread that is running a parallelBlocks body.
bool insideParallelBlocks();

}  // namespace admm
