/**
 * The scaled augmented Lagrangian of METHOD.md:
 *   L = Σ R(o, y) + β/2(‖U‖² + ‖W‖² + ‖V‖²) + Σ_i ρ_i/2 (‖r_i + μ_i‖² − ‖μ_i‖²),
 * r_1 = a − Ux − Ws − b, r_2 = s − tanh a, r_3 = o − Vs − c.
 */
import { summariseLoss } from '../../loss';
import type { RNN } from '../../rnn';
import type { ConstraintNorms } from '../ascent/ascend';
import { measureConstraints } from './views';
import type { Triple } from '../rho';
import type { AdmmState } from './state';

export function weightDecay(model: RNN, beta: number): number {
  let sq = 0;
  for (const w of [model.U, model.W, model.V]) for (let i = 0; i < w.length; i++) sq += w[i] * w[i];
  return 0.5 * beta * sq;
}

/** L from the loss of o and, per constraint, ‖r + μ‖² and ‖μ‖² (= ‖μ_new‖² and ‖μ_old‖² of an ascent step). */
export function assembleLagrangian(lossSum: number, decay: number, rho: Triple, norms: ConstraintNorms[]): number {
  let value = lossSum + decay;
  for (let i = 0; i < 3; i++) value += 0.5 * rho[i] * (norms[i].dualNewSq - norms[i].dualOldSq);
  return value;
}

/** L at the current point, computed from scratch (duals untouched). */
export async function augmentedLagrangian(st: AdmmState, model: RNN): Promise<number> {
  const norms = await measureConstraints(st, model, [1, 1, 1], false);
  const loss = summariseLoss(st.O, st.shape.K, st.targets);
  return assembleLagrangian(loss.sum, weightDecay(model, st.beta), st.rho, norms);
}
