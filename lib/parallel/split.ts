/** Contiguous shards of a data set's sequences, and each shard's views of the inputs and targets. */
import type { LossSteps, TargetLayout } from '../data';
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
