/**
 * A trainer's run state in a checkpoint, for an exact resume.
 *
 * ADMM: the `admm` metadata entry and the `admm.*` tensors.
 *
 * - Persistent mode: `admm` = { iteration, rho, theta, beta, safeguard?: { scale, epochLoss? } } and
 *   the tensors `admm.A`, `admm.S`, `admm.TA`, `admm.M1`, `admm.M2` F32 [N, T, h], `admm.O`,
 *   `admm.M3` F32 [N, L, K].
 * - Mini-batch modes: `admm` = { kind: "mini-batch", iteration, rho, rng: { words, spareNormal? },
 *   safeguard?: { scale, floor?, epochLoss? } } (epochs done, the next ρ, the shuffling generator,
 *   the step safeguard's multiplier of ρ, its floor and the last accepted epoch loss), no state tensors.
 * - Either, after a readoutRefit: `admm.V` F32 [K, h] and `admm.c` F32 [K], the readout the run
 *   continues from (the model's tensors hold the refitted one).
 *
 * BPTT: `bptt` = { iteration, steps, buffers, rng } (epochs done, optimizer updates, state buffers
 * per weight, the shuffling generator) and the tensors `bptt.<weight>.<k>` (k < buffers) shaped
 * like `model.<weight>` — the optimizer's state buffers (none before the first update).
 */
import { type AdmmRunSnapshot, type AdmmStateSnapshot, SNAPSHOT_ARRAYS } from '../admm/snapshot';
import { readSafeguardSnapshot } from '../admm/step-safeguard';
import { invalidRange } from '../errors';
import { Random } from '../random';
import { checkInteger, checkNumber, checkObject } from '../validate';
import type { BpttStateSnapshot } from '../bptt/trainer';
import { MAX_ITERATION, type ShardedRunInfo, type TaskInfo } from './format';
import type { Tensor } from './safetensors';

/** Sizes that shape the state tensors. */
interface Sizes {
  h: number;
  K: number;
}

/** Adds the run state's tensors to `tensors` and returns its `admm` metadata entry. */
export function encodeAdmmState(
  state: AdmmRunSnapshot,
  task: TaskInfo | undefined,
  sizes: Sizes,
  tensors: Map<string, Tensor>
): string {
  const { h, K } = sizes;
  let entry: Record<string, unknown>;
  if (state.kind === 'mini-batch') {
    const { iteration, rho, rng, safeguard } = state;
    entry = { kind: 'mini-batch', iteration, rho, rng, ...(safeguard === undefined ? {} : { safeguard }) };
  } else {
    if (!task)
      throw invalidRange('checkpoint.task', 'given with admmState (its sequenceLength and lossSteps shape the state)');
    const T = task.sequenceLength,
      L = task.lossSteps === 'every' ? T : 1;
    const N = state.A.length / (T * h);
    if (!Number.isInteger(N) || N < 1)
      throw invalidRange('checkpoint.admmState.A', `of length N·T·h = N·${T}·${h}`, state.A);
    for (const key of SNAPSHOT_ARRAYS) {
      const shape = key === 'O' || key === 'M3' ? [N, L, K] : [N, T, h];
      tensors.set(`admm.${key}`, { data: state[key], shape });
    }
    const { iteration, rho, theta, beta, safeguard } = state;
    entry = { iteration, rho, theta, beta, ...(safeguard === undefined ? {} : { safeguard }) };
  }
  if (state.readout) {
    tensors.set('admm.V', { data: state.readout.V, shape: [K, h] });
    tensors.set('admm.c', { data: state.readout.c, shape: [K] });
  }
  return JSON.stringify(entry);
}

/** Takes the F32 tensor `key` of `shape` out of the file's tensors (an error naming the file if it differs). */
export type TakeTensor = (key: string, shape: number[]) => Float32Array;

function readRho(where: string, value: unknown): [number, number, number] {
  if (!Array.isArray(value) || value.length !== 3) throw invalidRange(`${where}.rho`, '[rho1, rho2, rho3]', value);
  return value.map((r, i) => checkNumber(`${where}.rho[${i}]`, r, 0, Infinity, true)) as [number, number, number];
}

/**
 * Decodes the `admm` entry `raw` (already parsed, an object) and takes its tensors out of
 * `tensors` with `take`; `where` names the entry in errors.
 */
export function decodeAdmmState(
  where: string,
  raw: Record<string, unknown>,
  task: TaskInfo | undefined,
  sizes: Sizes,
  tensors: ReadonlyMap<string, { shape: readonly number[] }>,
  take: TakeTensor
): AdmmRunSnapshot {
  const { h, K } = sizes;
  let state: AdmmRunSnapshot;
  if (raw.kind === 'mini-batch') {
    state = {
      kind: 'mini-batch',
      iteration: checkInteger(`${where}.iteration`, raw.iteration, 0, MAX_ITERATION),
      rho: readRho(where, raw.rho),
      rng: Random.fromState(raw.rng, `${where}.rng`).getState(),
      ...(raw.safeguard === undefined ? {} : { safeguard: readSafeguardSnapshot(raw.safeguard, `${where}.safeguard`) }),
    };
  } else {
    if (raw.kind !== undefined) throw invalidRange(`${where}.kind`, '"mini-batch" or absent (persistent)', raw.kind);
    if (!task) throw invalidRange(where.replace(/admm$/, 'task'), 'present when the ADMM state is');
    const T = task.sequenceLength,
      L = task.lossSteps === 'every' ? T : 1;
    const N = tensors.get('admm.A')?.shape[0] ?? 1;
    if (N < 1)
      throw invalidRange(`${where.replace(/__metadata__\.admm$/, 'tensor admm.A')}`, 'of at least one sequence', N);
    const arrays = Object.fromEntries(
      SNAPSHOT_ARRAYS.map((key) => [key, take(`admm.${key}`, key === 'O' || key === 'M3' ? [N, L, K] : [N, T, h])])
    ) as Record<(typeof SNAPSHOT_ARRAYS)[number], Float32Array>;
    checkObject(`${where}.theta`, raw.theta);
    const theta = raw.theta;
    const persistent: AdmmStateSnapshot = {
      kind: 'persistent',
      ...arrays,
      iteration: checkInteger(`${where}.iteration`, raw.iteration, 0, MAX_ITERATION),
      rho: readRho(where, raw.rho),
      theta: { uwb: 0, a: 0, s: 0, vc: 0 },
      beta: checkNumber(`${where}.beta`, raw.beta, 0),
      ...(raw.safeguard === undefined ? {} : { safeguard: readSafeguardSnapshot(raw.safeguard, `${where}.safeguard`) }),
    };
    for (const k of ['uwb', 'a', 's', 'vc'] as const)
      persistent.theta[k] = checkNumber(`${where}.theta.${k}`, theta[k], 0, Infinity, true);
    state = persistent;
  }
  if (tensors.has('admm.V') || tensors.has('admm.c'))
    state.readout = { V: take('admm.V', [K, h]), c: take('admm.c', [K]) };
  return state;
}

const WEIGHTS = ['U', 'W', 'b', 'V', 'c'] as const;

/** The weights' shapes: [h, d], [h, h], [h], [K, h], [K]. */
function weightShapes({ d, h, K }: Sizes & { d: number }): number[][] {
  return [[h, d], [h, h], [h], [K, h], [K]];
}

/** Adds the BPTT state's tensors to `tensors` and returns its `bptt` metadata entry. */
export function encodeBpttState(
  state: BpttStateSnapshot,
  sizes: Sizes & { d: number },
  tensors: Map<string, Tensor>
): string {
  const { iteration, optimizer, rng } = state,
    shapes = weightShapes(sizes);
  const buffers = optimizer.buffers.length === 0 ? 0 : optimizer.buffers[0].length;
  if (optimizer.buffers.length !== 0 && optimizer.buffers.length !== WEIGHTS.length)
    throw invalidRange(
      'checkpoint.bpttState.optimizer.buffers',
      `one list per weight (${WEIGHTS.length})`,
      optimizer.buffers
    );
  optimizer.buffers.forEach((list, i) => {
    if (list.length !== buffers)
      throw invalidRange(`checkpoint.bpttState.optimizer.buffers[${i}]`, `${buffers} buffers`, list);
    list.forEach((data, k) => tensors.set(`bptt.${WEIGHTS[i]}.${k}`, { data, shape: shapes[i] }));
  });
  return JSON.stringify({ iteration, steps: optimizer.steps, buffers, rng });
}

/** Decodes the `bptt` entry `raw` (already parsed, an object) and takes its tensors with `take`. */
export function decodeBpttState(
  where: string,
  raw: Record<string, unknown>,
  sizes: Sizes & { d: number },
  take: TakeTensor
): BpttStateSnapshot {
  const steps = checkInteger(`${where}.steps`, raw.steps, 0);
  // 3 is the most any optimizer keeps (RMSprop); none before the first update.
  const buffers = checkInteger(`${where}.buffers`, raw.buffers, steps === 0 ? 0 : 1, steps === 0 ? 0 : 3);
  const shapes = weightShapes(sizes);
  const perWeight = (w: string, i: number) =>
    Array.from({ length: buffers }, (_, k) => take(`bptt.${w}.${k}`, shapes[i]));
  return {
    iteration: checkInteger(`${where}.iteration`, raw.iteration, 0, MAX_ITERATION),
    optimizer: {
      steps,
      buffers: buffers === 0 ? [] : WEIGHTS.map(perWeight),
    },
    rng: Random.fromState(raw.rng, `${where}.rng`).getState(),
  };
}

/** A sharded run's recovery record, checked field by field (on write and on read). */
export function checkShardedInfo(where: string, raw: unknown): ShardedRunInfo {
  checkObject(where, raw);
  const r = raw as Record<string, unknown>;
  if (typeof r.run !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(r.run))
    throw invalidRange(`${where}.run`, 'a run name (1 to 64 characters among A-Z a-z 0-9 . _ -)', r.run);
  if (typeof r.configHash !== 'string' || !/^[A-Za-z0-9:._-]{1,128}$/.test(r.configHash))
    throw invalidRange(`${where}.configHash`, 'a configuration digest', r.configHash);
  const shards = checkInteger(`${where}.shards`, r.shards, 1, 4096);
  return {
    run: r.run,
    shards,
    ...(r.shard === undefined ? {} : { shard: checkInteger(`${where}.shard`, r.shard, 0, shards - 1) }),
    iteration: checkInteger(`${where}.iteration`, r.iteration, 0, MAX_ITERATION),
    rho: readRho(where, r.rho),
    configHash: r.configHash,
    ...(r.safeguard === undefined ? {} : { safeguard: readSafeguardSnapshot(r.safeguard, `${where}.safeguard`) }),
  };
}
