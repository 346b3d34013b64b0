/** ρ schedules. Each returns the ρ for the next iteration; the trainer rescales the duals. */
import type { ResolvedTrainerOptions } from './options';

export type Triple = [number, number, number];

/** Absolute primal ‖r_i‖ and dual ‖s_i‖ = ρ_i‖Δ auxiliary_i‖ residuals per constraint. */
export interface ResidualNorms {
  primal: Triple;
  dual: Triple;
}

/** Whether the next ρ is known before this iteration's residuals (so the rescale can be fused). */
export function rhoIsScheduled(policy: ResolvedTrainerOptions['rhoPolicy']): boolean {
  return policy.kind !== 'residual-balancing';
}

export function nextRho(policy: ResolvedTrainerOptions['rhoPolicy'], rho: Triple, residuals?: ResidualNorms): Triple {
  switch (policy.kind) {
    case 'fixed':
      return [...rho];
    case 'geometric':
      return rho.map((r) => Math.min(r * policy.factor, Math.max(r, policy.max))) as Triple;
    case 'residual-balancing': {
      if (!residuals) return [...rho];
      return rho.map((r, i) => {
        const p = residuals.primal[i],
          d = residuals.dual[i];
        let next = r;
        if (p > policy.mu * d) next = r * policy.tau;
        else if (d > policy.mu * p) next = r / policy.tau;
        return Math.min(policy.max, Math.max(policy.min, next));
      }) as Triple;
    }
  }
}
