/** What the BPTT trainer reports per epoch and at the end of a fit (FitStatus shared with ADMM, lib/training). */
import type { FitStatus } from '../training/fit-loop';

export interface BpttEpochRecord {
  /** 1-based epoch number within the trainer's run (continues across resumed fits). */
  iteration: number;
  /** Mean loss per loss term of the true forward pass on the training data, after the epoch. */
  loss: number;
  /** Training accuracy of that forward pass (classification; NaN for regression). */
  accuracy: number;
  /** Mean over the epoch's mini-batches of their mean loss, each taken before its update. */
  batchLoss: number;
  /** Global gradient norm (all parameters, before clipping and weight decay), mean over the epoch's mini-batches. */
  gradientNorm: number;
  /** Largest global gradient norm of the epoch's mini-batches. */
  maxGradientNorm: number;
  /** Mini-batches whose gradient was scaled down by clipping. */
  clippedBatches: number;
  /**
   * ‖∂L/∂s_t‖ for t = 1..T (Frobenius over the mini-batch, of the mean-per-term loss the
   * optimizer minimises), averaged over the epoch's mini-batches: vanishing or exploding
   * gradients through time show as decay or growth towards t = 1.
   */
  stepGradientNorms: number[];
  /** Wall-clock seconds of this epoch, including the training-set forward pass for `loss`. */
  seconds: number;
  /** Wall-clock seconds of the epoch's mini-batch updates alone (the training loop, without that pass). */
  trainSeconds: number;
  /** Seconds since the fit started. */
  elapsed: number;
}

export interface BpttFitResult {
  status: FitStatus;
  /** Human-readable reason, e.g. which quantity became non-finite. */
  message: string;
  history: BpttEpochRecord[];
  seconds: number;
}
