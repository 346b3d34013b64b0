/**
 * The persistent loop's residuals (named as SPORCO's ADMM class names them) and the scaled
 * augmented Lagrangian of docs/ALGORITHM.md:
 *   L = Σ R(o, y) + β/2(‖U‖² + ‖W‖² + ‖V‖²) + Σ_i ρ_i/2 (‖r_i + μ_i‖² − ‖μ_i‖²),
 * r_1 = a − Ux − Ws − b, r_2 = s − tanh a, r_3 = o − Vs − c.
 */
import type { RNN } from '../../rnn';
import type { ConstraintNorms } from '../ascent/ascend';
import type { AdmmIterationRecord } from '../record';
import type { Triple } from '../rho';

/** One iteration's residuals per constraint i = 1, 2, 3 (a, s, o). */
export interface Residuals {
  /** rsdl_r: primal residuals ‖r_i‖. */
  primal: Triple;
  /** rsdl_rn: their normalisers max(‖left_i‖, ‖right_i‖), the larger norm of each constraint's two sides. */
  primalScale: Triple;
  /** rsdl_s: dual residuals ρ_i‖Δ auxiliary_i‖ (the change of a, s, o in this iteration's blocks). */
  dual: Triple;
  /** rsdl_sn: the dual normaliser ‖(ρ1μ1, ρ2μ2, ρ3μ3)‖ after the ascent, at this iteration's ρ. */
  dualScale: number;
}

/** The residuals from the ascent's norms, the blocks' Σ(Δ)² and the iteration's ρ. */
export function residuals(norms: readonly ConstraintNorms[], change: Triple, rho: Triple): Residuals {
  return {
    primal: norms.map((n) => Math.sqrt(n.residualSq)) as Triple,
    primalScale: norms.map((n) => Math.max(Math.sqrt(n.leftSq), Math.sqrt(n.rightSq))) as Triple,
    dual: change.map((c, i) => rho[i] * Math.sqrt(c)) as Triple,
    dualScale: Math.sqrt(norms.reduce((s, n, i) => s + rho[i] * rho[i] * n.dualNewSq, 0)),
  };
}

/** The relative primal residuals ‖r_i‖ / rsdl_rn_i, as the record reports them. */
export function relativePrimal(r: Residuals): { a: number; s: number; o: number } {
  const [a, s, o] = r.primal.map((p, i) => p / Math.max(r.primalScale[i], 1e-30));
  return { a, s, o };
}

/** The relative dual residual ‖rsdl_s‖ / rsdl_sn, as the record reports it. */
export function relativeDual(r: Residuals): number {
  return Math.hypot(...r.dual) / Math.max(r.dualScale, 1e-30);
}

export function weightDecay(model: RNN, beta: number): number {
  let sq = 0;
  for (const w of [model.U, model.W, model.V]) for (let i = 0; i < w.length; i++) sq += w[i] * w[i];
  return 0.5 * beta * sq;
}

/** L from the loss of o and, per constraint, ‖r + μ‖² and ‖μ‖² (‖μ_new‖² and ‖μ_old‖² of an ascent step). */
export function assembleLagrangian(
  lossSum: number,
  decay: number,
  rho: Triple,
  norms: readonly ConstraintNorms[]
): number {
  let value = lossSum + decay;
  for (let i = 0; i < 3; i++) value += 0.5 * rho[i] * (norms[i].dualNewSq - norms[i].dualOldSq);
  return value;
}

/** Why a fit stops at `record` on its residual tolerance (mode 'persistent'), or undefined. */
export function withinTolerance(
  record: AdmmIterationRecord,
  tol: { primal: number; dual: number } | undefined
): string | undefined {
  if (!tol || record.kind !== 'persistent') return undefined;
  const p = record.primalResiduals;
  if (Math.max(p.a, p.s, p.o) <= tol.primal && record.dualResidual <= tol.dual)
    return `relative residuals within tolerance (primal ≤ ${tol.primal}, dual ≤ ${tol.dual})`;
  return undefined;
}
