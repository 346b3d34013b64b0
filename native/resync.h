// Kernels of the resynchronised mini-batch modes (docs/ALGORITHM.md, "The resynchronised
// modes"): each mini-batch starts from a forward pass (every constraint holds) and the
// multipliers are estimated there before the weight solves. Same layout as kernels.h. Napi-free.
#pragma once
#include <cstdint>

#include "kernels.h"

namespace admm {

// Closed-form multipliers at the forward point — the KKT conditions of the augmented
// Lagrangian with every constraint satisfied, which are numerically the BPTT adjoints:
//   λ3_t = −∂R/∂o_t,  λ2_t = Wᵀλ1_{t+1} + Vᵀλ3_t,  λ1_t = (1 − s_t²) ⊙ λ2_t.
// Writes the scaled duals M1 = λ1/ρ1 [N,T,h] and M3 = λ3/ρ3 [N,L,K]; stepNorms[t] = ‖λ2_t‖
// (the signal reaching step t) when not null.
void adjointMultipliers(const Shape& s, const float* S, const float* O, const Targets& y, Loss loss, const float* W,
                        const float* V, float rho1, float rho3, float* M1, float* M3, float* stepNorms);

// Gradient-free local dual walk (mode 'local-duals'). From the forward point (A, S, O) and
// zero duals, walk t = T−1 … 0; at each step repeat `sweeps` times: o-prox (loss steps), the
// exact s_t solve (its successor a_{t+1}, μ1_{t+1} already fixed by the walk), the a_t solve
// with the upstream state at its forward value, and dual steps of size γ. No gradient formula
// is used: information moves back through the local solves and duals only.
// A and O (forward values in) and Saux are overwritten with the walk's auxiliaries, M1 [N,T,h]
// and M3 [N,L,K] with its scaled duals; the weight targets are then A + M1 and O + M3.
// stepNorms[t] = ρ1‖μ1_t‖ when not null.
struct LocalWalk {
  Penalties rho;
  int sweeps = 10;
  float gamma = 2;
  // Optional flag (memory shared with the caller's thread): once it is non-zero the walk stops at
  // the next step of each part, its outputs partly written; the caller, who set it, discards them.
  const int32_t* cancel = nullptr;
};
Status localDualWalk(const Shape& s, const Inputs& in, const float* U, const float* W, const float* b,
                     const float* V, const float* c, const float* S, const Targets& y, Loss loss,
                     const LocalWalk& walk, float* A, float* O, float* M1, float* M3, float* Saux,
                     float* stepNorms);

}  // namespace admm
