// Grow-only per-thread scratch buffers for the kernels' large temporaries. First-touch page
// faults are expensive (a fresh 100 MB costs hundreds of ms on small VMs), so buffers are
// kept per thread and reused by later calls instead of being allocated per call. Each call
// site passes its own Tag type, so buffers that are live at the same time never alias.
// Memory is released when the thread exits (the Node main thread and the libuv pool threads
// live as long as the process).
#pragma once
#include <cstddef>
#include <vector>

namespace admm {

template <class Tag, class T = float>
T* scratchBuffer(size_t n) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < n) {
    buffer.clear();
    buffer.shrink_to_fit();
    buffer.resize(n);
  }
  return buffer.data();
}

}  // namespace admm
