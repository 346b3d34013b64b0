/**
 * Training data validated once, at a trainer's public boundary, into an immutable layout that the
 * inner steps (start of a run, resume check, readout refit, evaluation, loss summaries) take
 * instead of the caller's raw `data`, so nothing along one fit validates it again.
 */
import {
  type LossName,
  type LossSteps,
  type ModelSizes,
  type TargetLayout,
  inputLayout,
  lossForTargets,
  nativeShape,
  targetLayout,
} from '../data';
import { invalidType } from '../errors';
import { keptInputs, keptTargets } from '../in-shared-memory';
import { summariseLoss } from '../loss';
import { type NativeInputs, type NativeShape, native } from '../native';
import type { RNN } from '../rnn';

export interface TrainingLayout {
  /** N, T and the model's d, h, K; `everyStep` from lossSteps. */
  readonly shape: NativeShape;
  /** The caller's arrays (not copied). */
  readonly inputs: NativeInputs;
  readonly targets: TargetLayout;
  readonly loss: LossName;
  readonly lossSteps: LossSteps;
  /** runLayout's: the caller's inputs its copies were made from (sameData). */
  readonly source?: NativeInputs;
}

/**
 * Checks `data` (inputs against the model's sizes, targets against the loss and lossSteps) once.
 * `loss` undefined: inferred from the targets (Int32Array → cross-entropy, Float32Array → squared error).
 */
export function trainingLayout(
  data: unknown,
  sizes: ModelSizes,
  options: { loss: LossName | undefined; lossSteps: LossSteps }
): TrainingLayout {
  const inputs = inputLayout('data', data, sizes);
  const targetArray = (data as { targets?: unknown }).targets;
  const loss = options.loss ?? lossForTargets(targetArray);
  if (!loss) throw invalidType('data.targets', 'an Int32Array of class ids or a Float32Array of values', targetArray);
  const shape = Object.freeze(nativeShape(sizes, inputs.N, inputs.T, options.lossSteps));
  const targets = Object.freeze(targetLayout('data.targets', targetArray, shape, loss, options.lossSteps));
  return Object.freeze({ shape, inputs: Object.freeze(inputs.native), targets, loss, lossSteps: options.lossSteps });
}

/** The layout a run keeps (keptInputs, keptTargets); `source` keeps the caller's inputs for sameData. */
export function runLayout(layout: TrainingLayout): TrainingLayout {
  const { inputs, targets } = layout;
  return Object.freeze({
    ...layout,
    inputs: Object.freeze(keptInputs(inputs)),
    targets: Object.freeze(keptTargets(targets)),
    source: layout.source ?? inputs,
  });
}

/** Whether two layouts describe the same arrays (a resumed fit must get the data of its run). */
export function sameData(a: TrainingLayout, b: TrainingLayout): boolean {
  const same = a.shape.N === b.shape.N && a.shape.T === b.shape.T;
  const [x, y] = [a.source ?? a.inputs, b.source ?? b.inputs];
  return same && (x.x ?? x.ids) === (y.x ?? y.ids);
}

/** Mean loss and accuracy (NaN for regression) of the model's forward pass over the layout's data. */
export async function evaluateLayout(model: RNN, layout: TrainingLayout): Promise<{ loss: number; accuracy: number }> {
  const { shape } = layout,
    O = new Float32Array(shape.N * (shape.everyStep ? shape.T : 1) * shape.K);
  await native.forwardAsync({ shape, ...layout.inputs, ...model.weights(), O });
  return lossOf(O, layout);
}

/** Mean loss per loss term and accuracy (NaN for regression) of outputs O over the layout's targets. */
export function lossOf(
  O: Float32Array,
  layout: Pick<TrainingLayout, 'shape' | 'targets'>
): { loss: number; accuracy: number } {
  const s = summariseLoss(O, layout.shape.K, layout.targets);
  return { loss: s.sum / s.count, accuracy: layout.targets.loss === 'squared-error' ? NaN : s.correct / s.count };
}
