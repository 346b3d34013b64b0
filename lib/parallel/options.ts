/** `options.parallel` of the ADMM trainer: its validation and defaults. */
import { invalidRange } from '../errors';
import { checkChoice, checkInteger, checkObject } from '../validate';

export interface ParallelOptions {
  /** Shards, one worker thread each (≥ 1, at most the number of sequences). */
  workers: number;
  /** 0 (default): synchronous; τ > 0: a round may use a shard's answer up to τ iterations old. */
  staleness?: number;
  /** How shards and coordinator talk; 'threads' (default): worker threads of this process. */
  transport?: 'threads';
}

export interface ResolvedParallelOptions {
  workers: number;
  staleness: number;
  transport: 'threads';
}

/** Most shards one trainer starts (each is a worker thread with its own V8 isolate). */
export const MAX_WORKERS = 256;

export function resolveParallelOptions(
  value: unknown,
  mode: string,
  update: string,
  chunkSize: unknown
): ResolvedParallelOptions | undefined {
  if (value === undefined) return undefined;
  checkObject('options.parallel', value);
  const workers = checkInteger('options.parallel.workers', value.workers, 1, MAX_WORKERS);
  const staleness =
    value.staleness === undefined ? 0 : checkInteger('options.parallel.staleness', value.staleness, 0, 1000);
  const transport =
    value.transport === undefined
      ? 'threads'
      : checkChoice('options.parallel.transport', value.transport, ['threads'] as const);
  if (mode !== 'persistent' && mode !== 'adjoint') {
    const why = `unset in mode '${mode}' (sharded training runs modes 'persistent' and 'adjoint')`;
    throw invalidRange('options.parallel', why, value);
  }
  if (update !== 'exact') {
    const why = "unset with update 'linearized' (its θ backtracking needs the whole data set)";
    throw invalidRange('options.parallel', why, value);
  }
  if (chunkSize !== undefined)
    throw invalidRange('options.chunkSize', 'unset with options.parallel (a shard holds its samples whole)', chunkSize);
  return { workers, staleness, transport };
}
