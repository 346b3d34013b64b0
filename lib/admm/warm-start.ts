/**
 * The persistent loop's warm start (issue 16, item 4). The untrained network's readout (V, c) is
 * random, so its forward pass — from which the loop's auxiliaries start — predicts at chance,
 * while the same hidden states with a fitted readout give the readout-only floor. Refitting (V, c)
 * on the forward states first, with the loop's own β, starts the loop at that floor with o = Vs + c
 * at the minimiser of the (V, c, o) subproblem for the initial states: blocks 4 and 5 then move
 * only as far as the states do. Softmax regression (cross-entropy) or ridge (squared error) of the
 * last layer only: no adjoint is propagated through time.
 */
import type { TrainingData } from '../data';
import { refitReadoutAsync } from '../readout';
import type { RNN } from '../rnn';
import type { ResolvedTrainerOptions } from './options';

export type WarmStart = 'readout' | 'none';
export const WARM_STARTS: readonly WarmStart[] = ['readout', 'none'];

/**
 * Refits the model's (V, c) as the persistent loop's warm start. The loop's β is per sequence and
 * the refit's per loss term, so with a loss at every step it is divided by T (the same penalty).
 */
export async function warmStartReadout(
  model: RNN, data: TrainingData, options: Pick<Readonly<ResolvedTrainerOptions>, 'lossSteps' | 'beta'>
): Promise<void> {
  const perTerm = options.lossSteps === 'every' ? options.beta / data.sequenceLength : options.beta;
  try {
    await refitReadoutAsync(model, data, { lossSteps: options.lossSteps, beta: perTerm });
  } catch (e) {
    model.weights();  // a weight transferred away during the refit: that error names it
    throw e;
  }
}
