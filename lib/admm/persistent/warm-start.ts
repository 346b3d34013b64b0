/**
 * The persistent loop's warm start (issue 16, item 4). The untrained network's readout (V, c) is
 * random, so its forward pass — from which the loop's auxiliaries start — predicts at chance,
 * while the same hidden states with a fitted readout give the readout-only floor. Refitting (V, c)
 * on the forward states first, with the loop's own β, starts the loop at that floor with o = Vs + c
 * at the minimiser of the (V, c, o) subproblem for the initial states: blocks 4 and 5 then move
 * only as far as the states do. Softmax regression (cross-entropy) or ridge (squared error) of the
 * last layer only: no adjoint is propagated through time.
 */
import { refitLayoutAsync } from '../../readout';
import type { RNN } from '../../rnn';
import type { TrainingLayout } from '../../training/layout';

export type WarmStart = 'readout' | 'none';
export const WARM_STARTS: readonly WarmStart[] = ['readout', 'none'];

/** The refit's L-BFGS iterations on small problems (the readout-only floor's own). */
const FULL_REFIT_ITERATIONS = 300;
/** Logit entries (loss terms × classes) × iterations the warm start may evaluate. */
const WARM_START_LOGIT_WORK = 1.5e8;
/** Iterations the warm start keeps however large the problem. */
const MIN_WARM_START_ITERATIONS = 20;

/**
 * L-BFGS iterations of the warm start's softmax regression over `terms` loss terms and `classes`
 * classes: each costs a pass over every logit, so a large one is cut short (a loss at every step
 * of a 61-character text: 106,700 × 61 logits, 0.3 CPU-s an iteration, so 300 cost some 50
 * iterations of the loop itself, and 23 leave most of a 20-second budget to the loop); blocks 4
 * and 5 go on fitting the readout from there.
 */
export function warmStartIterations(terms: number, classes: number): number {
  const affordable = Math.floor(WARM_START_LOGIT_WORK / (terms * classes));
  return Math.max(MIN_WARM_START_ITERATIONS, Math.min(FULL_REFIT_ITERATIONS, affordable));
}

/**
 * Refits the model's (V, c) as the persistent loop's warm start, with the loop's β per sequence.
 * The refit's β is per loss term, so with a loss at every step it is divided by T (the same penalty).
 * `interrupt` runs between its L-BFGS iterations and forward batches; what it throws stops the
 * refit there with (V, c) untouched.
 */
export async function warmStartReadout(
  model: RNN,
  layout: TrainingLayout,
  beta: number,
  interrupt?: () => void
): Promise<void> {
  const { N, T, K } = layout.shape;
  const perTerm = layout.lossSteps === 'every' ? beta / T : beta;
  const terms = layout.lossSteps === 'every' ? N * T : N;
  try {
    await refitLayoutAsync(model, layout, { beta: perTerm, maxIterations: warmStartIterations(terms, K), interrupt });
  } catch (e) {
    model.weights(); // a weight transferred away during the refit: that error names it
    throw e;
  }
}
