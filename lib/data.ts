/**
 * Data layout (row-major, batch first):
 * - inputs: `Float32Array` [N, T, d], or token ids `Int32Array` [N, T] in [0, d) standing for
 *   one-hot vectors (then U x_t is a column gather, not a product);
 * - class targets: `Int32Array` [N] (loss at the last step) or [N, T] (every step);
 * - regression targets: `Float32Array` [N, K] or [N, T, K].
 */
import { invalidRange, invalidType } from './errors';
import type { NativeInputs, NativeShape } from './native';
import { checkFinite, checkIndices, checkInteger, checkObject } from './validate';

export type LossName = 'softmax-cross-entropy' | 'squared-error';
export type LossSteps = 'last' | 'every';
export const LOSS_NAMES: readonly LossName[] = ['softmax-cross-entropy', 'squared-error'];
export const LOSS_STEPS: readonly LossSteps[] = ['last', 'every'];

/** Sequences to run the model on. */
export interface SequenceInputs {
  inputs: Float32Array | Int32Array;
  /** T, the number of steps of every sequence. */
  sequenceLength: number;
}

/** Sequences with targets, for training and evaluation. */
export interface TrainingData extends SequenceInputs {
  targets: Int32Array | Float32Array;
}

export interface ModelSizes {
  inputSize: number;
  hiddenSize: number;
  outputSize: number;
}

/** Validated inputs: the sample count and the native view. */
export interface InputLayout {
  N: number;
  T: number;
  native: NativeInputs;
}

export function inputLayout(name: string, data: unknown, sizes: ModelSizes): InputLayout {
  checkObject(name, data);
  const T = checkInteger(`${name}.sequenceLength`, data.sequenceLength, 1, 2 ** 31 - 1);
  const x = data.inputs;
  const d = sizes.inputSize;
  if (x instanceof Float32Array) {
    if (x.length === 0 || x.length % (T * d) !== 0)
      throw invalidRange(`${name}.inputs`, `a non-empty Float32Array of length N·T·d = N·${T}·${d}`, x);
    checkFinite(`${name}.inputs`, x);
    return { N: x.length / (T * d), T, native: { x } };
  }
  if (x instanceof Int32Array) {
    if (x.length === 0 || x.length % T !== 0)
      throw invalidRange(`${name}.inputs`, `a non-empty Int32Array of token ids of length N·T = N·${T}`, x);
    checkIndices(`${name}.inputs`, x, d, 'token ids');
    return { N: x.length / T, T, native: { ids: x } };
  }
  throw invalidType(`${name}.inputs`, 'a Float32Array [N, T, d] or an Int32Array of token ids [N, T]', x);
}

export type TargetLayout =
  { loss: 'softmax-cross-entropy'; labels: Int32Array } | { loss: 'squared-error'; values: Float32Array };

/** The loss a target array implies: class ids → cross-entropy, real values → squared error. */
export function lossForTargets(targets: unknown): LossName | undefined {
  if (targets instanceof Int32Array) return 'softmax-cross-entropy';
  if (targets instanceof Float32Array) return 'squared-error';
  return undefined;
}

export function targetLayout(
  name: string,
  targets: unknown,
  shape: { N: number; T: number; K: number },
  loss: LossName,
  lossSteps: LossSteps
): TargetLayout {
  const L = lossSteps === 'every' ? shape.T : 1;
  const where =
    lossSteps === 'every' ? `every step ([N, T] = [${shape.N}, ${shape.T}])` : `the last step ([N] = [${shape.N}])`;
  if (loss === 'softmax-cross-entropy') {
    if (!(targets instanceof Int32Array))
      throw invalidType(name, "an Int32Array of class ids (loss 'softmax-cross-entropy')", targets);
    if (targets.length !== shape.N * L) throw invalidRange(name, `class ids for ${where}`, targets);
    checkIndices(name, targets, shape.K, 'class ids');
    return { loss, labels: targets };
  }
  if (!(targets instanceof Float32Array))
    throw invalidType(name, "a Float32Array of target values (loss 'squared-error')", targets);
  if (targets.length !== shape.N * L * shape.K)
    throw invalidRange(name, `${shape.K} values per target for ${where}`, targets);
  checkFinite(name, targets);
  return { loss, values: targets };
}

export function nativeShape(sizes: ModelSizes, N: number, T: number, lossSteps: LossSteps): NativeShape {
  return { N, T, d: sizes.inputSize, h: sizes.hiddenSize, K: sizes.outputSize, everyStep: lossSteps === 'every' };
}

/** Sequences [begin, begin + count) of native inputs (views, nothing copied); `d` = input size. */
export function inputRange(inputs: NativeInputs, T: number, d: number, begin: number, count: number): NativeInputs {
  return inputs.x
    ? { x: inputs.x.subarray(begin * T * d, (begin + count) * T * d) }
    : { ids: inputs.ids.subarray(begin * T, (begin + count) * T) };
}

/** The targets of sequences [begin, begin + count) (views); `L` loss steps per sequence, `K` outputs. */
export function targetRange(targets: TargetLayout, L: number, K: number, begin: number, count: number): TargetLayout {
  return targets.loss === 'squared-error'
    ? { loss: 'squared-error', values: targets.values.subarray(begin * L * K, (begin + count) * L * K) }
    : { loss: 'softmax-cross-entropy', labels: targets.labels.subarray(begin * L, (begin + count) * L) };
}
