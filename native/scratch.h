// Grow-only per-thread scratch buffers: the one idiom for the kernels' temporaries that grow
// with the data (N·T rows). First-touch page faults of fresh large buffers are expensive, so
// buffers are kept per thread and reused by later calls instead of being allocated per call.
// Temporaries of the model's size (h×h Grams, factors, Θ) stay plain std::vectors per call. Each call
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
