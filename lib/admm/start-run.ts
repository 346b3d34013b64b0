/**
 * A fit's start that its AbortSignal can stop: the persistent mode's warm start of the readout
 * and first dual walk take as long as several iterations, so an abort lands in them too. Aborted
 * before iteration 1, a fit keeps the weights it began with (the last completed iteration's, as
 * an abort anywhere else does) and no run: a later fit starts afresh.
 */
import type { RNN } from '../rnn';
import { Stop } from '../training/fit-loop';
import type { TrainingLayout } from '../training/layout';
import { copyWeights } from '../training/rollback';
import { type AdmmEngine, Aborted, type RunEngine, startEngine } from './engine';
import type { ResolvedTrainerOptions } from './options';

/**
 * startEngine (`warm`: with the warm start) and `keep` of the engine, or the Stop of a fit that
 * `signal` aborted while it started (the model's weights put back, nothing kept).
 */
export async function startRun(
  model: RNN,
  layout: TrainingLayout,
  options: Readonly<ResolvedTrainerOptions>,
  { warm, signal }: { warm: boolean; signal: AbortSignal | undefined },
  keep: (engine: RunEngine) => void
): Promise<Stop | undefined> {
  const before = signal && copyWeights(model);
  let engine: RunEngine | undefined;
  try {
    engine = await startEngine(model, layout, options, warm, signal, () => new Aborted());
  } catch (e) {
    if (!(e instanceof Aborted)) throw e;
  }
  // Also an abort after the last check: the first iteration would not start either.
  if (engine && !signal?.aborted) {
    keep(engine);
    return undefined;
  }
  await (engine as AdmmEngine | undefined)?.close?.();
  model.setWeightsUnchecked(before!);
  return new Stop('aborted', 'aborted before iteration 1, while the run started; the weights the fit began with kept');
}
