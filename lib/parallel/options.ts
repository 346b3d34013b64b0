/** `options.parallel` of the ADMM trainer: its validation and defaults. */
import path from 'node:path';
import { invalidRange, invalidType } from '../errors';
import { checkChoice, checkInteger, checkObject } from '../validate';
import { checkRedisUrl, checkRunName, checkShardCount } from './redis/keys';

/**
 * Whether the (not yet validated) options.parallel asks for bounded staleness τ > 0: the other
 * options that a run with stale shards cannot have read it before the parallel options are checked.
 */
export function boundedStaleness(parallel: unknown): boolean {
  const staleness = (parallel as { staleness?: unknown } | undefined)?.staleness;
  return typeof staleness === 'number' && staleness > 0;
}

/** Shards on worker threads of this process (the default transport). */
export interface ThreadParallelOptions {
  /** Shards, one worker thread each (≥ 1, at most the number of sequences). */
  workers: number;
  /** 0 (default): synchronous; τ > 0: a round may use a shard's answer up to τ iterations old. */
  staleness?: number;
  transport?: 'threads';
}

/** Shards in worker processes (`admmirnn worker`) on any machine, talking through Redis (needs `ioredis`). */
export interface RedisParallelOptions {
  transport: 'redis';
  /** redis:// or rediss:// URL of the server. */
  url: string;
  /** The run's name: its keys in Redis are `admmirnn:{run}:…`; the workers join it by name. */
  run: string;
  /** Shards (≥ 1, at most the number of sequences): one `admmirnn worker` each. */
  shards: number;
  staleness?: number;
  /**
   * Where `admmirnn worker` loads the data from: the data options of `admmirnn train` (e.g.
   * `{ mnist: true, limit: 1000 }`, `{ inputs: 'x.npy', targets: 'y.npy' }`), published with the
   * run's configuration. Without it, workers must bring their own data (runRedisWorker).
   */
  data?: Record<string, unknown>;
  /**
   * Recovery checkpoints: every `every` iterations (epochs) the coordinator and, in mode
   * 'persistent', each worker write their state to `dir`, which all of them must reach under this
   * path (a shared filesystem, e.g. a PVC). A lost worker's replacement (same shard index) then
   * rolls the run back to the last checkpoint and it goes on; a restarted coordinator continues from it.
   */
  checkpoints?: { dir: string; every: number };
  /** With checkpoints: how long to wait for a lost shard's replacement (ms, default 60,000) before ERR_SHARD_LOST. */
  replacementMs?: number;
  /** The coordinator's lease TTL (ms, default 10,000): a restarted coordinator waits out its predecessor's. */
  leaseMs?: number;
  /** Told of each lost shard and rollback (the CLI logs them). */
  onRecovery?: (message: string) => void;
}

export type ParallelOptions = ThreadParallelOptions | RedisParallelOptions;

export type ResolvedParallelOptions =
  | { transport: 'threads'; shards: number; staleness: number }
  | {
      transport: 'redis';
      shards: number;
      staleness: number;
      url: string;
      run: string;
      data?: Record<string, unknown>;
      checkpoints?: { dir: string; every: number };
      replacementMs: number;
      leaseMs: number;
      onRecovery?: (message: string) => void;
    };

/** Most shards one trainer starts (each is a worker thread with its own V8 isolate). */
export const MAX_WORKERS = 256;

/** Recovery checkpoints: an absolute directory (workers may start elsewhere) and a cadence. */
function checkCheckpoints(value: unknown): { dir: string; every: number } | undefined {
  if (value === undefined) return undefined;
  checkObject('options.parallel.checkpoints', value);
  const { dir, every } = value;
  if (typeof dir !== 'string' || dir === '' || dir.includes('\0'))
    throw invalidType('options.parallel.checkpoints.dir', 'a directory path (non-empty string)', dir);
  return { dir: path.resolve(dir), every: checkInteger('options.parallel.checkpoints.every', every, 1) };
}

/** The JSON data description of a Redis run, checked to be a plain object of JSON values (small). */
function checkData(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  checkObject('options.parallel.data', value);
  const text = JSON.stringify(value);
  if (text.length > 64 * 1024) throw invalidRange('options.parallel.data', 'at most 64 KiB as JSON', text.length);
  return JSON.parse(text) as Record<string, unknown>;
}

function checkRecoveryListener(value: unknown): (message: string) => void {
  if (typeof value !== 'function') throw invalidType('options.parallel.onRecovery', 'a function', value);
  return value as (message: string) => void;
}

export function resolveParallelOptions(
  value: unknown,
  update: string,
  chunkSize: unknown
): ResolvedParallelOptions | undefined {
  if (value === undefined) return undefined;
  checkObject('options.parallel', value);
  const transport =
    value.transport === undefined
      ? 'threads'
      : checkChoice('options.parallel.transport', value.transport, ['threads', 'redis'] as const);
  const staleness =
    value.staleness === undefined ? 0 : checkInteger('options.parallel.staleness', value.staleness, 0, 1000);
  const resolved: ResolvedParallelOptions =
    transport === 'threads'
      ? { transport, shards: checkInteger('options.parallel.workers', value.workers, 1, MAX_WORKERS), staleness }
      : {
          transport,
          url: checkRedisUrl('options.parallel.url', value.url),
          run: checkRunName('options.parallel.run', value.run),
          shards: checkShardCount('options.parallel.shards', value.shards),
          staleness,
          data: checkData(value.data),
          checkpoints: checkCheckpoints(value.checkpoints),
          replacementMs:
            value.replacementMs === undefined
              ? 60_000
              : checkInteger('options.parallel.replacementMs', value.replacementMs, 0, 2 ** 31 - 1),
          leaseMs:
            value.leaseMs === undefined
              ? 10_000
              : checkInteger('options.parallel.leaseMs', value.leaseMs, 100, 3_600_000),
          ...(value.onRecovery === undefined ? {} : { onRecovery: checkRecoveryListener(value.onRecovery) }),
        };
  if (transport === 'threads')
    for (const key of ['checkpoints', 'replacementMs', 'leaseMs', 'onRecovery'])
      if (value[key] !== undefined)
        throw invalidRange(
          `options.parallel.${key}`,
          "unset with transport 'threads' (recovery needs 'redis')",
          value[key]
        );
  if (transport === 'redis' && value.workers !== undefined)
    throw invalidRange('options.parallel.workers', "unset with transport 'redis' (use shards)", value.workers);
  if (update !== 'exact') {
    const why = "unset with update 'linearized' (its θ backtracking needs the whole data set)";
    throw invalidRange('options.parallel', why, value);
  }
  if (chunkSize !== undefined)
    throw invalidRange(
      'options.chunkSize',
      'unset with options.parallel (each shard chooses its own chunks)',
      chunkSize
    );
  return resolved;
}
