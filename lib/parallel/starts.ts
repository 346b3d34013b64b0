/**
 * Which shards a parallel run has and what each holds, computed the same way by the coordinator
 * (threads: the data of every shard) and by a worker process that rebuilt the data (its one shard):
 * mode 'persistent' splits the sequences into contiguous rows, the mini-batch modes give every
 * shard all of them (each takes a slice of every batch).
 */
import type { TargetLayout } from '../data';
import type { NativeInputs, NativeShape } from '../native';
import type { ResolvedTrainerOptions } from '../admm/options';
import type { MultiplierSettings } from '../admm/resync/multipliers';
import { MiniBatchShard } from './mini-batch-shard';
import { PersistentShard, type ShardCore } from './shard';
import { shardData, splitRows } from './split';
import type { ShardStart } from './threads';

export interface ShardedData {
  shape: NativeShape;
  inputs: NativeInputs;
  targets: TargetLayout;
}

/** The trainer options that decide the shards: mode 'persistent', or a mini-batch mode with its multiplier settings. */
export type ShardingOptions = Pick<ResolvedTrainerOptions, 'lossSteps'> &
  ({ mode: 'persistent' } | (MultiplierSettings & Pick<ResolvedTrainerOptions, 'batchSize'>));

export function shardStarts(
  { shape, inputs, targets }: ShardedData,
  options: ShardingOptions,
  shards: number
): ShardStart[] {
  const { lossSteps } = options;
  if (options.mode !== 'persistent') {
    const { mode, batchSize, regressors, localSweeps, gamma, sweeps, dualWalk } = options;
    const multipliers = { mode, regressors, localSweeps, gamma, sweeps, dualWalk };
    const data = { shape, inputs, targets, lossSteps, shards, batchSize, multipliers };
    return Array.from({ length: shards }, () => ({ kind: 'mini-batch', data }) as const);
  }
  return splitRows(shape.N, shards).map(
    ([b, e]) => ({ kind: 'persistent', data: shardData(shape, inputs, targets, lossSteps, b, e) }) as const
  );
}

/** The shard `index` that answers publications for `start`. */
export function shardCore(start: ShardStart, index: number): ShardCore {
  return start.kind === 'mini-batch' ? new MiniBatchShard(index, start.data) : new PersistentShard(index, start.data);
}
