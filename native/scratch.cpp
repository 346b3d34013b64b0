// The registry of every thread's scratch buffers (scratch.h).
#include "scratch.h"

#include <algorithm>
#include <mutex>

namespace admm {
namespace {

// Neither is ever destroyed: threads that end after static destruction still unregister.
std::mutex& registryMutex() {
  static auto* m = new std::mutex();
  return *m;
}

std::vector<ScratchSlot*>& registry() {
  static auto* slots = new std::vector<ScratchSlot*>();
  return *slots;
}

}  // namespace

ScratchRegistration::ScratchRegistration(ScratchSlot* slot) : slot_(slot) {
  std::lock_guard<std::mutex> lock(registryMutex());
  registry().push_back(slot);
}

ScratchRegistration::~ScratchRegistration() {
  std::lock_guard<std::mutex> lock(registryMutex());
  auto& slots = registry();
  slots.erase(std::remove(slots.begin(), slots.end(), slot_), slots.end());
}

size_t scratchBytesHeld() {
  std::lock_guard<std::mutex> lock(registryMutex());
  size_t total = 0;
  for (const ScratchSlot* slot : registry()) total += slot->bytes();
  return total;
}

size_t releaseScratch() {
  std::lock_guard<std::mutex> lock(registryMutex());
  size_t freed = 0;
  for (ScratchSlot* slot : registry()) {
    freed += slot->bytes();
    slot->release();
  }
  return freed;
}

}  // namespace admm
