/**
 * Step clipping of the mini-batch modes (options.stepClip): a batch whose weight step — U, W, b,
 * V, c together, as the solves give it — is longer than `factor` × the running mean of the
 * epoch's step lengths is scaled back to that length, along its own direction. The analogue of
 * gradient-norm clipping for RNNs: on embedded Reber the (U, W, b) solves now and then return a
 * step many times longer than the batches around it (the recurrence amplifies it through the
 * padded prefix), one such step undoes epochs of progress, and the step safeguard answers it by
 * shortening every later step (BENCHMARKS.md).
 *
 * Lengths are compared at the safeguard's scale 1 (a step tried at scale s is measured × s), so a
 * shortened or rescaled step does not move the mean. The mean restarts with each epoch (the
 * epoch's first step sets it), so a run resumed from an epoch's snapshot continues exactly.
 */
import type { RNN, WeightName } from '../rnn';
import type { WeightCopy } from '../training/rollback';
import { interpolateWeights } from './guarded-batch';

/** Weight of the newest step in the running mean of step lengths. */
const MEAN_WEIGHT = 0.05;
const NAMES: readonly WeightName[] = ['U', 'W', 'b', 'V', 'c'];

export class StepClip {
  private mean: number | undefined;

  constructor(readonly factor: number) {}

  startEpoch(): void {
    this.mean = undefined;
  }

  /**
   * Scales the model's step from `before` back to at most factor × the running mean (the step
   * tried at safeguard scale `scale`); returns the factor applied to the step (1: unchanged).
   */
  apply(model: RNN, before: WeightCopy, scale: number): number {
    const w = model.weights();
    let sq = 0;
    for (const name of NAMES) {
      const now = w[name],
        old = before[name];
      for (let i = 0; i < now.length; i++) sq += (now[i] - old[i]) ** 2;
    }
    const length = Math.sqrt(sq) * scale;
    if (!Number.isFinite(length)) return 1; // the safeguard, or the fit's NaN check, reports it
    const mean = this.mean ?? length,
      limit = this.factor * mean;
    this.mean = (1 - MEAN_WEIGHT) * mean + MEAN_WEIGHT * Math.min(length, limit);
    if (length <= limit) return 1;
    const shrink = limit / length;
    // The point at `shrink` on the segment from `before` to the step just taken (elementwise, so
    // the model's own weights can be the segment's end).
    interpolateWeights(model, before, w, shrink);
    return shrink;
  }
}
