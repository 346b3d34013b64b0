/**
 * The configuration a Redis run's coordinator publishes and its worker processes rebuild their
 * shard from: where the data comes from (the data options of `admmirnn train`), the sizes, the
 * trainer options that decide the shards (mode, loss steps, batch size, the mini-batch modes'
 * multiplier settings), the shard count, and a
 * digest of the data itself. Its SHA-256 is the run's config hash: a worker checks the text it
 * read against it, and the data it loaded against the digest, so it never answers for other data.
 */
import crypto from 'node:crypto';
import type { LossName, LossSteps } from '../data';
import { invalidRange } from '../errors';
import type { ResolvedTrainerOptions } from '../admm/options';
import type { DualWalkSettings } from '../admm/persistent/dual-walk';
import type { TrainingLayout } from '../training/layout';
import { checkInteger, checkNumber, checkObject } from '../validate';
import { RedisTransportError } from './redis/errors';

/**
 * /2: the shards walk (persistent runs: the publications ask for the dual walk; 'sweeps': the
 * walk's settings in `resync`). A worker of /1 refuses a /2 run instead of running it without
 * the walk; this version still reads /1 runs, whose shards did not walk.
 */
export const RUN_CONFIG_FORMAT = 'admmirnn-run/2';

export interface RunConfig {
  format: 'admmirnn-run/1' | typeof RUN_CONFIG_FORMAT;
  /** The data options of `admmirnn train` that load the run's data (null: workers bring their own). */
  data: Record<string, unknown> | null;
  sizes: { N: number; T: number; d: number; h: number; K: number };
  loss: LossName;
  lossSteps: LossSteps;
  mode: 'persistent' | 'adjoint' | 'local-duals' | 'sweeps';
  batchSize: number;
  /** The mini-batch modes' multiplier settings (absent in mode 'persistent'). */
  resync?: {
    regressors: 'forward' | 'auxiliary';
    localSweeps: number;
    gamma: number;
    sweeps: number;
    /** 'sweeps': the dual walk's settings, or false (absent from a coordinator of an earlier version: false). */
    dualWalk?: DualWalkSettings | false;
  };
  shards: number;
  /** SHA-256 of the inputs' and targets' bytes as the trainer validated them. */
  dataDigest: string;
  /** The trainer's options (for the record and the hash: workers need only the fields above). */
  trainer: Record<string, unknown>;
  /** Recovery checkpoints: the shared directory the workers write their shard files to (absent: none). */
  checkpoints?: { dir: string };
}

/** SHA-256 of the data as laid out for the kernels (inputs, then targets). */
export function dataDigest(layout: TrainingLayout): string {
  const hash = crypto.createHash('sha256');
  const parts = [
    layout.inputs.x ?? layout.inputs.ids!,
    layout.targets.loss === 'squared-error' ? layout.targets.values : layout.targets.labels,
  ];
  for (const a of parts) hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return hash.digest('hex');
}

/** The run's configuration text (JSON) and its hash. */
export function runConfig(
  layout: TrainingLayout,
  options: Readonly<ResolvedTrainerOptions>,
  shards: number,
  data: Record<string, unknown> | undefined,
  checkpoints?: { dir: string }
): { text: string; hash: string } {
  const { N, T, d, h, K } = layout.shape;
  const { parallel: _parallel, ...trainer } = options;
  const { regressors, localSweeps, gamma, sweeps, dualWalk } = options;
  const config: RunConfig = {
    format: RUN_CONFIG_FORMAT,
    data: data ?? null,
    sizes: { N, T, d, h, K },
    loss: layout.loss,
    lossSteps: options.lossSteps,
    mode: options.mode,
    batchSize: options.batchSize,
    ...(options.mode === 'persistent' ? {} : { resync: { regressors, localSweeps, gamma, sweeps, dualWalk } }),
    shards,
    dataDigest: dataDigest(layout),
    trainer: JSON.parse(JSON.stringify(trainer)),
    ...(checkpoints ? { checkpoints: { dir: checkpoints.dir } } : {}),
  };
  const text = JSON.stringify(config);
  return { text, hash: configHash(text) };
}

export function configHash(text: string): string {
  return 'sha256:' + crypto.createHash('sha256').update(text).digest('hex');
}

/** Reads a published configuration, refusing (ERR_CONFIG_MISMATCH) text that does not hash to `hash`. */
export function readRunConfig(text: string, hash: string): RunConfig {
  if (configHash(text) !== hash)
    throw new RedisTransportError(`the run's configuration does not hash to ${hash}`, 'ERR_CONFIG_MISMATCH');
  const c = JSON.parse(text) as RunConfig;
  checkObject('config', c);
  if (c.format !== RUN_CONFIG_FORMAT && c.format !== 'admmirnn-run/1')
    throw invalidRange('config.format', `'${RUN_CONFIG_FORMAT}' or 'admmirnn-run/1'`, c.format);
  checkObject('config.sizes', c.sizes);
  for (const k of ['N', 'T', 'd', 'h', 'K'] as const) checkInteger(`config.sizes.${k}`, c.sizes[k], 1);
  checkInteger('config.shards', c.shards, 1, c.sizes.N);
  checkInteger('config.batchSize', c.batchSize, 1);
  const choice = <T>(name: string, value: T, allowed: readonly T[]) => {
    if (!allowed.includes(value)) throw invalidRange(name, allowed.map((a) => `'${a}'`).join(' or '), value);
  };
  choice('config.mode', c.mode, ['persistent', 'adjoint', 'local-duals', 'sweeps']);
  if (c.mode !== 'persistent') {
    checkObject('config.resync', c.resync);
    choice('config.resync.regressors', c.resync.regressors, ['forward', 'auxiliary']);
    checkInteger('config.resync.localSweeps', c.resync.localSweeps, 1, 1000);
    checkNumber('config.resync.gamma', c.resync.gamma, 0, 100, true);
    checkInteger('config.resync.sweeps', c.resync.sweeps, 1, 1000);
    const walk = c.resync.dualWalk;
    if (walk !== undefined && walk !== false) {
      checkObject('config.resync.dualWalk', walk);
      checkNumber('config.resync.dualWalk.scale', walk.scale, 0, 1e6, true);
      checkInteger('config.resync.dualWalk.every', walk.every, 1, 1);
    }
  }
  choice('config.lossSteps', c.lossSteps, ['last', 'every']);
  choice('config.loss', c.loss, ['softmax-cross-entropy', 'squared-error']);
  if (c.data !== null) checkObject('config.data', c.data);
  if (c.checkpoints !== undefined) {
    checkObject('config.checkpoints', c.checkpoints);
    if (typeof c.checkpoints.dir !== 'string' || c.checkpoints.dir === '')
      throw invalidRange('config.checkpoints.dir', 'a directory path', c.checkpoints.dir);
  }
  return c;
}
