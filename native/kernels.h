// Plain numerical kernels of ADMMiRNN, free of Node-API types.
//
// Layout (row-major, batch first):
//   inputs x  [N, T, d]   or token ids [N, T] with values in [0, d)
//   a, s, XU, P, μ1, μ2   [N, T, h]
//   o, μ3                 [N, L, K]   L = T (loss at every step) or 1 (last step)
//   U [h, d], W [h, h], b [h], V [K, h], c [K]
// The row form of a_t = U x_t + W s_{t-1} + b is  A_t = X_t Uᵀ + S_{t-1} Wᵀ + 1 bᵀ.
// Callers (the bindings) have checked every length against Shape before calling.
//
// Where each block lives (docs/ALGORITHM.md has the same table, with paths: keep the two in step).
// TypeScript in lib/admm/ unless named; ops bound in binding_admm.cpp, binding_resync.cpp, binding_bptt.cpp.
//   block                 TypeScript                                   native op                        C++
//   forward pass          RNN.predict, ResyncEngine, AdmmState         forward                          forward.cpp
//   1: (U, W, b)          updateInputWeights (persistent/blocks.ts)    solveUWb (linearised)            weights.cpp
//                         exact: Gram summed over the state views      accumulateUWb, solveUWbFromGram  weights.cpp
//   affine caches XU, P   refreshAffine (persistent/blocks.ts)         inputProjection, recurrentAffine forward.cpp
//   2: a                  updatePreactivations (persistent/blocks.ts)  aStep                            activations.cpp
//   3: s                  updateStates (persistent/blocks.ts)          sStep                            states.cpp
//   4: (V, c)             updateOutputWeights (persistent/blocks.ts)   solveVc (linearised)             weights.cpp
//                         exact: Gram summed over the state views      accumulateVc, solveVcFromGram    weights.cpp
//   5: o                  updateOutputs (persistent/blocks.ts)         oStep                            outputs.cpp
//   6: duals, ρ           updateDuals, ascendView (persistent/         readout, recurrentAffine (the    forward.cpp
//                         blocks.ts); ascend, workers (ascent/)        products the constraints compare)
//   adjoint multipliers   BatchMultipliers (multipliers.ts)            adjointMultipliers               adjoints.cpp
//   local dual walk       BatchMultipliers (multipliers.ts)            localDualWalk                    local_walk.cpp
//   readout-only floor    refitReadout (lib/readout.ts)                readout                          forward.cpp
//   BPTT gradients, loss  BpttTrainer (lib/bptt/trainer.ts)            bpttGradients, bpttLoss          bptt.cpp
// Declarations: this header, resync.h (adjoints, local walk) and bptt.h.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace admm {

enum class StatusCode { kOk = 0, kNotPositiveDefinite = 1, kNonFinite = 2, kOutOfMemory = 3, kInternal = 4 };

struct Status {
  StatusCode code = StatusCode::kOk;
  std::string message;
  bool ok() const { return code == StatusCode::kOk; }
  static Status error(StatusCode c, std::string m) { return Status{c, std::move(m)}; }
};

struct Shape {
  int64_t N = 0, T = 0, d = 0, h = 0, K = 0;
  bool everyStep = false;  // loss at every step (else the last step only)
  int64_t L() const { return everyStep ? T : 1; }
  int64_t stateRow(int64_t n, int64_t t) const { return (n * T + t) * h; }
};

// Exactly one of x / ids is set.
struct Inputs {
  const float* x = nullptr;
  const int32_t* ids = nullptr;
};

enum class Loss { kSoftmaxCrossEntropy, kSquaredError };

// Targets of the loss steps: class ids [N, L] or regression values [N, L, K].
struct Targets {
  const int32_t* labels = nullptr;
  const float* values = nullptr;
};

// ---- forward.cpp --------------------------------------------------------
// XU = X Uᵀ + 1 bᵀ over all N·T rows.
void inputProjection(const Shape& s, const Inputs& in, const float* U, const float* b, float* XU);
// P_t = XU_t + S_{t-1} Wᵀ (S_{-1} = 0).
void recurrentAffine(const Shape& s, const float* XU, const float* S, const float* W, float* P);
// out = S_t Vᵀ + c on the loss steps; out is [N, L, K].
void readout(const Shape& s, const float* S, const float* V, const float* c, float* out);
// Forward pass. A and S ([N, T, h]) may be null: then only O ([N, L, K]) is kept.
// Runs over chunks of kForwardChunk samples, so its scratch does not grow with N.
constexpr int64_t kForwardChunk = 4096;
void forward(const Shape& s, const Inputs& in, const float* U, const float* W, const float* b,
             const float* V, const float* c, float* A, float* S, float* O);

// ---- weights.cpp --------------------------------------------------------
// Solver settings shared by the two weight blocks.
struct WeightStep {
  float rho = 1;      // penalty of the constraint the weights appear in
  float beta = 0;     // weight decay (not on biases)
  float eta = 0;      // proximal anchor to the current weights (0: none)
  bool linearized = false;
  double theta = 1;   // in: starting θ for backtracking; out: the accepted θ
};
// Block 1: [U W b] = argmin ρ/2 Σ_t ‖Z_t − U x_t − W s_{t-1} − b‖² + β/2(‖U‖²+‖W‖²) (+ η/2‖Θ−Θ_k‖²),
// Z = A + M1 (formed in scratch [N, T, h]). S holds the regressor states s_{t-1}.
Status solveUWb(const Shape& s, const Inputs& in, const float* S, const float* A, const float* M1,
                float* scratch, WeightStep& step, float* U, float* W, float* b);
// The same two blocks split for chunked (block-stochastic) sweeps: accumulate* ADD the samples
// of `s` (one chunk) into the lower triangle of G and into R (G: m×m, m = d+h+1 resp. h+1;
// R: h×m resp. K×m, row-major), and *FromGram solve from the sums. scratch: [N, T, h] of the chunk.
void accumulateUWb(const Shape& s, const Inputs& in, const float* S, const float* A, const float* M1, float* scratch,
                   float* G, float* R);
Status solveUWbFromGram(const Shape& s, const float* G, const float* R, WeightStep& step, float* U, float* W,
                        float* b);
void accumulateVc(const Shape& s, const float* S, const float* O, const float* M3, float* G, float* R);
Status solveVcFromGram(const Shape& s, const float* G, const float* R, WeightStep& step, float* V, float* c);
// Block 4: [V c] = argmin ρ/2 Σ_{t∈𝒯} ‖O_t + M3_t − V s_t − c‖² + β/2‖V‖² (+ η/2‖Θ−Θ_k‖²).
Status solveVc(const Shape& s, const float* S, const float* O, const float* M3, WeightStep& step,
               float* V, float* c);

// ---- activations.cpp ----------------------------------------------------
// Block 2, elementwise over n values: a = argmin ρ1/2 (a − p)² + ρ2/2 (q − tanh a)²,
// p = P − M1, q = S + M2. Writes tanh(a) to TA. Returns Σ (Δa)² (the exact step: 0 without `sumChange`).
// Linearized: one gradient step a − φ'(a)/θ with θ found by backtracking (θ in/out).
// How the exact step finishes an element — kReference: Newton until its step is within
// 1e-6 (1 + |a|), the global search for elements that may be non-convex (block 2, pinned bit for
// bit); kShortcuts (the local dual walk): Newton until its error bound is within that tolerance
// (a pass fewer for most elements), and a possibly non-convex element first polished from its warm
// start, kept when a convexity bound proves it global. Same minimisers to float rounding.
enum class AStepFinish { kReference, kShortcuts };
double aStep(int64_t n, const float* P, const float* M1, const float* S, const float* M2, float rho1,
             float rho2, bool linearized, double* theta, float* A, float* TA,
             AStepFinish finish = AStepFinish::kReference, bool sumChange = true);
// out = tanh(A) with the a-step's own tanh, so a chunked sweep can rebuild TA bit for bit.
void tanhInto(int64_t n, const float* A, float* out);
// c(|q|) = max over t of −(1−t²)(1−3t²+2t|q|): the table of convexity thresholds of the exact
// a-step is built from it (the tests call it through the internal binding).
double convexityThreshold(double q);

// ---- states.cpp ---------------------------------------------------------
struct Penalties { float rho1 = 1, rho2 = 1, rho3 = 1; };
// Block 3: all s_t at once (exact: the inverses of ≤ 2 distinct h×h SPD matrices folded into
// one product per block of rows with the stacked right-hand sides; linearized: one gradient step
// with backtracked θ). S is read only by the linearized variant; the result goes to Sout (must not
// alias any input). Returns Σ (Δs)².
Status sStep(const Shape& s, const float* A, const float* TA, const float* M1, const float* M2,
             const float* XU, const float* O, const float* M3, const float* W, const float* V,
             const float* c, const float* S, const Penalties& rho, bool linearized, double* theta,
             float* Sout, double* changeSq);

// The two distinct h×h matrices of block 3, Cholesky-factored once (column-major lower):
// `mid` = ρ2 I + ρ1 WᵀW (+ ρ3 VᵀV when every step has a loss) for steps with a successor,
// `last` = ρ2 I + ρ3 VᵀV for the last step.
struct StateFactors {
  std::vector<float> mid, last;
  Status status;
};
StateFactors factorStateSystems(const Shape& s, const float* W, const float* V, const Penalties& rho);
// Solves s M = r in place for `rows` row vectors of R (h values each, `ld` apart).
void solveStateRows(const std::vector<float>& factor, int64_t rows, int64_t h, float* R, int64_t ld);

// ---- outputs.cpp --------------------------------------------------------
// Block 5: o = argmin R(o, y) + ρ3/2 ‖o − m‖², m = V s_t + c − μ3_t, on every loss step.
// O is updated in place (warm start). Returns Σ (Δo)².
double oStep(const Shape& s, const float* S, const float* V, const float* c, const float* M3,
             const Targets& y, Loss loss, float rho3, float* O);
// One row of block 5 for softmax cross-entropy: o = argmin CE(o, y) + ρ/2‖o − m‖², in place.
void proxCrossEntropyRow(int K, const float* m, int32_t y, double rho, float* o);

// ---- blas_info.cpp ------------------------------------------------------
int blasThreads();
void setBlasThreads(int n);
// C = A B (row-major, m×k times k×n). With rowBlocks (the public sgemm: the readout refit's
// products), blocks of 1,024 rows side by side on the BLAS threads with single-threaded
// OpenBLAS, as the kernels run their tall products: the same bits with any thread count.
// Without (the benchmarks' reference, bound as internal.sgemmThreaded), one OpenBLAS call on
// its own threads.
void sgemm(int m, int n, int k, const float* A, const float* B, float* C, bool rowBlocks);

}  // namespace admm
