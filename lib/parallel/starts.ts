/**
 * Which shards a parallel run has and what each holds, computed the same way by the coordinator
 * (threads: the data of every shard) and by a worker process that rebuilt the data (its one shard):
 * mode 'persistent' splits the sequences into contiguous rows, mode 'adjoint' gives every shard
 * all of them (each takes a slice of every batch).
 */
import type { TargetLayout } from '../data';
import type { NativeInputs, NativeShape } from '../native';
import type { ResolvedTrainerOptions } from '../admm/options';
import { AdjointShard } from './adjoint-shard';
import { PersistentShard, type ShardCore } from './shard';
import { shardData, splitRows } from './split';
import type { ShardStart } from './threads';

export interface ShardedData {
  shape: NativeShape;
  inputs: NativeInputs;
  targets: TargetLayout;
}

export function shardStarts(
  { shape, inputs, targets }: ShardedData,
  options: Pick<ResolvedTrainerOptions, 'mode' | 'lossSteps' | 'batchSize'>,
  shards: number
): ShardStart[] {
  if (options.mode === 'adjoint') {
    const data = { shape, inputs, targets, lossSteps: options.lossSteps, shards, batchSize: options.batchSize };
    return Array.from({ length: shards }, () => ({ kind: 'adjoint', data }) as const);
  }
  return splitRows(shape.N, shards).map(
    ([b, e]) => ({ kind: 'persistent', data: shardData(shape, inputs, targets, options.lossSteps, b, e) }) as const
  );
}

/** The shard `index` that answers publications for `start`. */
export function shardCore(start: ShardStart, index: number): ShardCore {
  return start.kind === 'adjoint' ? new AdjointShard(index, start.data) : new PersistentShard(index, start.data);
}
