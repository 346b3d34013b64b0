/**
 * Buffers that the native async kernels use in place. An async kernel works on a copy of every
 * array on a plain ArrayBuffer, because JavaScript could detach (transfer) that buffer while the
 * kernel runs, and on SharedArrayBuffer memory directly, since that cannot be detached or moved
 * (native/binding_args.h). The trainers therefore keep what their kernels read and write over
 * and over, including a copy of data given on plain ArrayBuffers, on SharedArrayBuffers.
 */
import type { TargetLayout } from './data';
import type { NativeInputs } from './native';

export const sharedFloats = (n: number): Float32Array => new Float32Array(new SharedArrayBuffer(4 * n));

export const onSharedMemory = (a: ArrayBufferView): boolean => a.buffer instanceof SharedArrayBuffer;

/** `a` itself when it is on a SharedArrayBuffer, else a copy on one. */
export function sharedCopy(a: Float32Array): Float32Array {
  if (onSharedMemory(a)) return a;
  const copy = sharedFloats(a.length);
  copy.set(a);
  return copy;
}

/**
 * Dense inputs on shared memory. Token ids stay as they are: the binding copies and checks
 * index arrays at every call anyway.
 */
export const sharedInputs = (inputs: NativeInputs): NativeInputs => (inputs.x ? { x: sharedCopy(inputs.x) } : inputs);

export const sharedTargets = (targets: TargetLayout): TargetLayout =>
  targets.loss === 'squared-error' ? { loss: targets.loss, values: sharedCopy(targets.values) } : targets;

/**
 * What a run keeps of the caller's data, taken before its first await: dense values on shared
 * memory, ids and labels copied, so that the caller transferring its arrays once fit() has returned
 * (to a worker, by structuredClone) cannot take them from under the run.
 */
export const keptInputs = (inputs: NativeInputs): NativeInputs =>
  inputs.x ? { x: sharedCopy(inputs.x) } : { ids: inputs.ids.slice() };

export const keptTargets = (targets: TargetLayout): TargetLayout =>
  targets.loss === 'squared-error' ? sharedTargets(targets) : { loss: targets.loss, labels: targets.labels.slice() };

/** Bytes `sharedInputs` and `sharedTargets` add for this data (the copies of plain buffers). */
export function sharedCopyBytes(inputs: NativeInputs, targets: TargetLayout): number {
  const x = inputs.x && !onSharedMemory(inputs.x) ? inputs.x.byteLength : 0;
  const values = targets.loss === 'squared-error' && !onSharedMemory(targets.values) ? targets.values.byteLength : 0;
  return x + values;
}
