/**
 * The step safeguard's moves on the weights around one mini-batch update (step-safeguard.ts):
 * back along the update's own step (shorten), and on by `momentum` × the previous batch's step
 * (extend / retract). One process (resync/engine.ts) and a sharded coordinator
 * (parallel/mini-batch-coordinator.ts) differ only in how they run the update and measure the batch
 * objective, so both drive the safeguard through this class.
 */
import type { RNN, WeightName } from '../rnn';
import { type WeightCopy, copyWeights } from '../training/rollback';
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

/** Sets the model's weights to old + alpha × (new − old), a point on the segment of one batch update. */
export function interpolateWeights(model: RNN, old: WeightCopy, stepped: WeightCopy, alpha: number): void {
  const now = model.weights();
  for (const name of Object.keys(old) as WeightName[]) {
    const to = now[name],
      a = old[name],
      b = stepped[name];
    for (let i = 0; i < to.length; i++) to[i] = a[i] + alpha * (b[i] - a[i]);
  }
}
