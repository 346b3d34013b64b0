/** What the trainer reports per iteration and at the end of a fit. */
import type { FitStatus } from '../training/fit-loop';

/** What every iteration record has, in every mode. */
export interface AdmmRecordBase {
  /** 1-based iteration number within the trainer's run (continues across resumed fits). */
  iteration: number;
  /** Mean loss per loss term of the true forward pass with the current weights. */
  loss: number;
  /** Training accuracy of the true forward pass (classification; NaN for regression). */
  accuracy: number;
  /** Mean loss per loss term of the auxiliary outputs o (what ADMM is fitting). */
  auxiliaryLoss: number;
  /** (ρ1, ρ2, ρ3) used in this iteration. */
  rho: [number, number, number];
  /**
   * The signal reaching each step t = 1..T — the quantity whose vanishing or explosion the
   * paper's claims are about. Mini-batch modes: the mean over batches of ‖λ2_t‖ (adjoint) or
   * ρ1‖μ1_t‖ (dual modes), each norm over one batch. Persistent mode: ρ1‖μ1_t‖ over all sequences
   * after this iteration's dual ascent.
   */
  stepSignal?: number[];
  /** Wall-clock seconds of this iteration, including the forward-pass loss. */
  seconds: number;
  /** Seconds since the fit started. */
  elapsed: number;
}

/** An iteration of mode 'persistent': the blocks run on the whole data set, so it has residuals. */
export interface PersistentIterationRecord extends AdmmRecordBase {
  kind: 'persistent';
  /** Augmented Lagrangian after this iteration's primal blocks (summed-loss scale, at this iteration's ρ). */
  lagrangian: number;
  /**
   * Relative primal residuals ‖a − Ux − Ws − b‖, ‖s − tanh a‖, ‖o − Vs − c‖, each over the larger
   * norm of its two sides.
   */
  primalResiduals: { a: number; s: number; o: number };
  /** Relative dual residual ‖(ρ1Δa, ρ2Δs, ρ3Δo)‖ / ‖(ρ1μ1, ρ2μ2, ρ3μ3)‖. */
  dualResidual: number;
  /** θ accepted by backtracking per linearised block (only with update: 'linearized'). */
  theta?: { uwb: number; a: number; s: number; vc: number };
}

/**
 * An epoch of the mini-batch modes ('adjoint', 'local-duals', 'sweeps'): each batch has its own
 * auxiliaries, duals and Lagrangian, so there are no whole-data residuals to report.
 */
export interface MiniBatchIterationRecord extends AdmmRecordBase {
  kind: 'mini-batch';
}

/** What the trainer reports per iteration; `kind` says which fields the mode has. */
export type AdmmIterationRecord = PersistentIterationRecord | MiniBatchIterationRecord;

export type { FitStatus } from '../training/fit-loop';

export interface FitResult {
  status: FitStatus;
  /** Human-readable reason, e.g. which quantity became non-finite. */
  message: string;
  history: AdmmIterationRecord[];
  seconds: number;
  /** With readoutRefit: the training loss and accuracy after (V, c) was refitted. */
  refit?: { loss: number; accuracy: number };
}
