/** Contiguous shards of a data set's sequences, and each shard's views of the inputs and targets. */
import type { LossSteps, TargetLayout } from '../data';
import { sharedFloats } from '../in-shared-memory';
import type { NativeInputs, NativeShape } from '../native';
import type { ShardData } from './shard';

/** [begin, end) of each of `shards` contiguous shards of N sequences; sizes differ by one at most, larger first. */
export function splitRows(N: number, shards: number): [number, number][] {
  const base = Math.floor(N / shards),
    extra = N % shards,
    out: [number, number][] = [];
  for (let i = 0, begin = 0; i < shards; i++) {
    const end = begin + base + (i < extra ? 1 : 0);
    out.push([begin, end]);
    begin = end;
  }
  return out;
}

/** Views (not copies) of rows [begin, end) of the data. */
export function shardData(
  shape: NativeShape,
  inputs: NativeInputs,
  targets: TargetLayout,
  lossSteps: LossSteps,
  begin: number,
  end: number
): ShardData {
  const { T, d, K } = shape,
    L = shape.everyStep ? T : 1;
  const shardInputs: NativeInputs = inputs.x
    ? { x: inputs.x.subarray(begin * T * d, end * T * d) }
    : { ids: inputs.ids!.subarray(begin * T, end * T) };
  const shardTargets: TargetLayout =
    targets.loss === 'squared-error'
      ? { loss: 'squared-error', values: targets.values.subarray(begin * L * K, end * L * K) }
      : { loss: 'softmax-cross-entropy', labels: targets.labels.subarray(begin * L, end * L) };
  return { shape: { ...shape, N: end - begin }, inputs: shardInputs, targets: shardTargets, lossSteps };
}

/**
 * A copy of a shard's rows that shares no memory with the whole data set (dense arrays on shared
 * memory, as the kernels use them in place): a worker process that loaded the whole set keeps
 * only these, and the rest is released.
 */
export function ownRows(data: ShardData): ShardData {
  const shared = (a: Float32Array) => {
    const copy = sharedFloats(a.length);
    copy.set(a);
    return copy;
  };
  const inputs: NativeInputs = data.inputs.x ? { x: shared(data.inputs.x) } : { ids: data.inputs.ids!.slice() };
  const t = data.targets;
  const targets: TargetLayout =
    t.loss === 'squared-error'
      ? { loss: 'squared-error', values: shared(t.values) }
      : { loss: 'softmax-cross-entropy', labels: t.labels.slice() };
  return { ...data, inputs, targets };
}
