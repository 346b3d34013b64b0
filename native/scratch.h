// Grow-only per-thread scratch buffers: the one idiom for the kernels' temporaries that grow
// with the data (N·T rows). First-touch page faults of fresh large buffers are expensive, so
// buffers are kept per thread and reused by later calls instead of being allocated per call.
// Temporaries of the model's size (h×h Grams, factors, Θ) stay plain std::vectors per call. Each call
// site passes its own Tag type, so buffers that are live at the same time never alias.
// The libuv pool threads and the main thread live as long as the process, so every buffer is
// registered: releaseScratch() frees them all between kernels (the trainers call it when a fit
// ends), scratchBytesHeld() sums them.
#pragma once
#include <cstddef>
#include <vector>

namespace admm {

class ScratchSlot {
 public:
  virtual size_t bytes() const = 0;
  virtual void release() = 0;

 protected:
  ~ScratchSlot() = default;
};

// Registers a slot for its lifetime (the thread's): declared after the buffer it describes, so it
// unregisters before the buffer is destroyed.
class ScratchRegistration {
 public:
  explicit ScratchRegistration(ScratchSlot* slot);
  ~ScratchRegistration();
  ScratchRegistration(const ScratchRegistration&) = delete;
  ScratchRegistration& operator=(const ScratchRegistration&) = delete;

 private:
  ScratchSlot* slot_;
};

// Both must run while no kernel runs (under the bindings' kernel lock): a kernel's thread resizes
// its buffers without a lock of their own.
size_t scratchBytesHeld();
size_t releaseScratch();  // bytes freed

template <class T>
class ScratchVector final : public ScratchSlot {
 public:
  std::vector<T> buffer;
  size_t bytes() const override { return buffer.capacity() * sizeof(T); }
  void release() override {
    buffer.clear();
    buffer.shrink_to_fit();
  }

 private:
  ScratchRegistration registration_{this};
};

template <class Tag, class T = float>
T* scratchBuffer(size_t n) {
  thread_local ScratchVector<T> slot;
  if (slot.buffer.size() < n) {
    slot.release();  // the old buffer first: never both at once
    slot.buffer.resize(n);
  }
  return slot.buffer.data();
}

}  // namespace admm
