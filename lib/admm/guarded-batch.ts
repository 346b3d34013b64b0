/**
 * The step safeguard's moves on the weights (step-safeguard.ts): around one mini-batch update, back
 * along the update's own step (shorten) and on by `momentum` × the previous batch's step (extend /
 * retract); around one epoch, its undo when the epoch's training loss rose (guardedEpoch). One
 * process (resync/) and a sharded coordinator (parallel/mini-batch-coordinator.ts) differ only in
 * how they run a pass or an update and measure the loss, so both drive the safeguard through here.
 */
import type { RNN, WeightName } from '../rnn';
import { type WeightCopy, copyWeights } from '../training/rollback';
import type { RandomState } from '../random';
import type { Triple } from './rho';
import type { StepSafeguard } from './step-safeguard';

export class GuardedBatches {
  /** The previous batch's step (weights after − before); none at an epoch's start. */
  private lastStep: WeightCopy | undefined;
  private hasLastStep = false;

  constructor(
    private readonly model: RNN,
    readonly guard: StepSafeguard
  ) {}

  /** Each epoch starts without a previous step, so a run resumed from an epoch's snapshot continues exactly. */
  startEpoch(): void {
    this.hasLastStep = false;
  }

  /**
   * One batch through the safeguard: `run` the update at ρ (and η × scale) from the model's
   * weights, returning the batch objective before and after; `objective` measures it at the
   * model's current weights (a point on the step, or the step extended by momentum).
   */
  async update(
    rho: Triple,
    run: (tried: Triple, scale: number) => Promise<{ before: number; after: number }>,
    objective: () => Promise<number>
  ): Promise<void> {
    const model = this.model,
      saved = copyWeights(model);
    let stepped: WeightCopy | undefined, accepted: WeightCopy | undefined;
    await this.guard.update(rho, {
      run,
      shorten: async (alpha) => {
        stepped ??= copyWeights(model);
        interpolateWeights(model, saved, stepped, alpha);
        return objective();
      },
      undo: () => model.setWeightsUnchecked(saved),
      extend: async (mu) => {
        if (!this.hasLastStep) return undefined;
        accepted = copyWeights(model);
        const w = model.weights(),
          last = this.lastStep!;
        for (const name of Object.keys(w) as WeightName[])
          for (let i = 0; i < w[name].length; i++) w[name][i] += mu * last[name][i];
        return objective();
      },
      retract: () => model.setWeightsUnchecked(accepted!),
    });
    if (this.guard.settings.momentum === 0) return;
    const w = model.weights();
    const last = (this.lastStep ??= copyWeights(model));
    for (const name of Object.keys(w) as WeightName[])
      for (let i = 0; i < w[name].length; i++) last[name][i] = w[name][i] - saved[name][i];
    this.hasLastStep = true;
  }
}

/**
 * One batch update at ρ by the run's rule: without a safeguard at ρ and η as they are; with
 * `batches: false` at the safeguard's carried scale, unjudged; else through `guarded.update`.
 * `run` makes the update at (ρ, η × scale) and, when `judged`, measures the batch objective before
 * and after it (unjudged, it may return anything for them).
 */
export async function guardedBatch(
  guarded: GuardedBatches | undefined,
  rho: Triple,
  run: (tried: Triple, scale: number, judged: boolean) => Promise<{ before: number; after: number }>,
  objective: () => Promise<number>
): Promise<void> {
  if (!guarded) await run(rho, 1, false);
  else if (!guarded.guard.settings.batches) {
    const tried = guarded.guard.unjudged(rho);
    await run(tried.rho, tried.scale, false);
  } else await guarded.update(rho, (tried, scale) => run(tried, scale, true), objective);
}

/**
 * Sets the model's weights to old + alpha × (new − old), a point on the segment of one batch update;
 * only the weights `old` holds (the trust region moves U, W, b alone).
 */
export function interpolateWeights(model: RNN, old: Partial<WeightCopy>, stepped: WeightCopy, alpha: number): void {
  const now = model.weights();
  for (const name of Object.keys(old) as WeightName[]) {
    const to = now[name],
      a = old[name]!,
      b = stepped[name];
    for (let i = 0; i < to.length; i++) to[i] = a[i] + alpha * (b[i] - a[i]);
  }
}

/** The true forward-pass loss over the training set: mean per loss term, and accuracy (NaN for regression). */
export interface EpochLoss {
  loss: number;
  accuracy: number;
}

/**
 * One epoch under the safeguard's epoch rule: `pass` runs the epoch's batches from the shuffling
 * generator's current state, `evaluate` measures the training loss. A pass whose loss the safeguard
 * does not accept is undone (the weights and the generator back, `rewind` setting the generator to
 * a saved state) and run again at the larger scale the safeguard set; when no retry is left, the
 * start weights are kept. Without a safeguard: one pass.
 */
export async function guardedEpoch<P>(
  guard: StepSafeguard | undefined,
  model: RNN,
  generator: { state(): RandomState; rewind(state: RandomState): void },
  pass: () => Promise<P>,
  evaluate: () => Promise<EpochLoss>
): Promise<{ pass: P; forward: EpochLoss }> {
  if (guard && guard.epochLoss === undefined) guard.epochLoss = (await evaluate()).loss;
  const start = guard && { weights: copyWeights(model), rng: generator.state() };
  for (let attempt = 0; ; attempt++) {
    const done = await pass();
    const forward = await evaluate();
    if (!guard || !start || guard.acceptEpoch(forward.loss, attempt)) return { pass: done, forward };
    model.setWeightsUnchecked(start.weights);
    if (!guard.canRetryEpoch(attempt)) return { pass: done, forward: await evaluate() };
    generator.rewind(start.rng);
  }
}
