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

/**
 * Refits the model's (V, c) as the persistent loop's warm start, with the loop's β per sequence.
 * The refit's β is per loss term, so with a loss at every step it is divided by T (the same penalty).
 */
export async function warmStartReadout(model: RNN, layout: TrainingLayout, beta: number): Promise<void> {
  const perTerm = layout.lossSteps === 'every' ? beta / layout.shape.T : beta;
  try {
    await refitLayoutAsync(model, layout, { beta: perTerm });
  } catch (e) {
    model.weights(); // a weight transferred away during the refit: that error names it
    throw e;
  }
}
