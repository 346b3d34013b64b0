// Backpropagation through time for the vanilla RNN of kernels.h (same layout and weights),
// free of Node-API types. Used by the BPTT baselines the paper compares ADMM against.
#pragma once
#include <cstdint>

#include "kernels.h"

namespace admm {

// Gradients of scale · Σ_{samples, loss steps} R(o_t, y_t) with respect to the weights.
struct BpttGradients {
  float *U, *W, *b, *V, *c;  // overwritten, same sizes as the weights
  float* stepNorms;          // [T] ‖∂L/∂s_t‖ over the batch (Frobenius), null to skip
};

struct BpttResult {
  double loss = 0;      // Σ R over the batch's loss terms (unscaled, as lib/loss.ts sums)
  int64_t correct = 0;  // arg-max hits (cross-entropy only)
  int64_t count = 0;    // loss terms: batch size × L
};

// One forward pass keeping the states, then the backward pass through all T steps
// (skipped when g is null: the loss only). `batch` ([batchSize] row indices into the s.N samples, each checked by the caller) selects
// the mini-batch; null means every sample in order. Targets are indexed by sample as in Targets.
BpttResult bpttGradients(const Shape& s, const Inputs& in, const Targets& y, Loss loss,
                         const int32_t* batch, int64_t batchSize, float scale, const float* U,
                         const float* W, const float* b, const float* V, const float* c,
                         const BpttGradients* g);

}  // namespace admm
