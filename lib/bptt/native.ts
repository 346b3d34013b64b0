/** The typed BPTT op of the addon (native/binding_bptt.cpp), on top of the core binding. */
import { type NativeBinding, type NativeInputs, type NativeShape, type WeightArgs, native } from '../native';

/** What both ops read: data, targets, weights and an optional mini-batch. */
export type BpttLossArgs = WeightArgs & {
  shape: NativeShape;
  /** Mini-batch: sample indices in [0, N) and their count (default: every sample in order). */
  batch?: Int32Array;
  batchSize?: number;
} & NativeInputs &
  ({ loss: 'softmax-cross-entropy'; labels: Int32Array } | { loss: 'squared-error'; values: Float32Array });

export type BpttGradientsArgs = BpttLossArgs & {
  /** Outputs, overwritten with the gradients of scale · Σ R over the batch's loss terms. */
  gU: Float32Array;
  gW: Float32Array;
  gb: Float32Array;
  gV: Float32Array;
  gc: Float32Array;
  /** Output [T]: ‖∂L/∂s_t‖ over the batch (Frobenius norm), t = 1..T. */
  stepNorms?: Float32Array;
  /** Multiplies the gradients (not the reported loss); default 1, the summed loss. */
  scale?: number;
};

export interface BpttGradientsResult {
  /** Σ R over the batch's loss terms (unscaled: the scale of lib/loss.ts). */
  loss: number;
  /** Correct arg-max predictions (cross-entropy only, else 0). */
  correct: number;
  /** Loss terms: batch size × loss steps. */
  count: number;
}

export interface BpttBinding {
  bpttGradients(args: BpttGradientsArgs): BpttGradientsResult;
  bpttGradientsAsync(args: BpttGradientsArgs): Promise<BpttGradientsResult>;
  /** The forward half alone: loss, hits and count of the batch. */
  bpttLoss(args: BpttLossArgs): BpttGradientsResult;
  bpttLossAsync(args: BpttLossArgs): Promise<BpttGradientsResult>;
}

export const bpttNative = native as NativeBinding & BpttBinding;
