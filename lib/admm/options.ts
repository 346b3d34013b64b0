/** Options of the ADMM trainer and of a fit, with their defaults and validation. */
import { type LossName, type LossSteps, LOSS_NAMES, LOSS_STEPS } from '../data';
import { invalidRange, invalidType } from '../errors';
import { checkBoolean, checkChoice, checkInteger, checkNumber, checkObject, checkOptionalObject } from '../validate';
import type { AdmmIterationRecord } from './record';
import { type SafeguardSettings, resolveSafeguard } from './step-safeguard';
import { WARM_STARTS, type WarmStart } from './persistent/warm-start';
import type { DualWalkSettings } from './persistent/dual-walk';
import { type CommonFitOptions, resolveCommonFitOptions } from '../training/fit-options';
import {
  type ParallelOptions,
  type ResolvedParallelOptions,
  boundedStaleness,
  resolveParallelOptions,
} from '../parallel/options';

/**
 * How ρ = (ρ1, ρ2, ρ3) changes after each iteration (scaled duals are rescaled so λ = ρμ is kept).
 * - `fixed`;
 * - `geometric`: ρ ← min(ρ·factor, max), the prototype's ×1.02 schedule;
 * - `residual-balancing` (Boyd et al. 2011, §3.4.1), per constraint: ρ_i ← ρ_i·tau when the
 *   primal residual exceeds mu × the dual residual, ρ_i ← ρ_i/tau in the opposite case.
 */
export type RhoPolicy =
  | { kind: 'fixed' }
  | { kind: 'geometric'; factor: number; max?: number }
  | { kind: 'residual-balancing'; mu?: number; tau?: number; min?: number; max?: number };

/**
 * - `'persistent'`: the paper's loop (docs/ALGORITHM.md) — full batch, auxiliaries and duals persist across
 *   iterations (the paper's method). One iteration = one pass of the six blocks.
 * - `'adjoint'`, `'local-duals'`, `'sweeps'`: resynchronised mini-batch modes (docs/ALGORITHM.md):
 *   every mini-batch restarts from a forward pass, estimates the multipliers, then solves the
 *   weights. `'adjoint'` estimates them in closed form — the BPTT adjoint recursion, so it
 *   propagates adjoints through time; `'local-duals'` by a gradient-free local dual walk;
 *   `'sweeps'` by a few persistent-loop sweeps on the batch. One iteration = one epoch.
 */
export type AdmmMode = 'persistent' | 'adjoint' | 'local-duals' | 'sweeps';
export const ADMM_MODES: readonly AdmmMode[] = ['persistent', 'adjoint', 'local-duals', 'sweeps'];

export interface AdmmTrainerOptions {
  /** Default `'adjoint'`, the best configuration of the ablation in EXPERIMENTS.md. */
  mode?: AdmmMode;
  /** Default: inferred from the targets (Int32Array → cross-entropy, Float32Array → squared error). */
  loss?: LossName;
  /** Loss at the last step (default) or at every step. */
  lossSteps?: LossSteps;
  /** Initial (ρ1, ρ2, ρ3) for the constraints on a, s and o; a number sets all three. Default [100, 100, 10] (persistent), 1 (mini-batch modes). */
  rho?: number | readonly [number, number, number];
  /** Default geometric ×1.02 up to 1e6 (the paper's prototype); mini-batch modes: per epoch, residual balancing not available. */
  rhoPolicy?: RhoPolicy;
  /**
   * Weight decay per sample: β = beta × the samples in the solve (N, or the batch size).
   * Default 1e-3 (persistent: 1e-4).
   */
  beta?: number;
  /** Mini-batch modes: sequences per mini-batch (default 128). */
  batchSize?: number;
  /** Mini-batch modes: proximal anchor per sample, η = eta × batch size (default 1). */
  eta?: number;
  /** Mini-batch modes: regress the weights on forward states (default) or on the auxiliary states. */
  regressors?: 'forward' | 'auxiliary';
  /** Mini-batch modes: scale back any (U, W, b) step with ‖ΔW‖_F > trustRegion · ‖W‖_F (default: no limit). */
  trustRegion?: number;
  /**
   * Mini-batch modes: clip each batch's weight step (U, W, b, V, c together) to stepClip × the
   * running mean of the epoch's step lengths (lib/admm/step-clip.ts; ≥ 1), or false for none.
   * Default 1.25 in modes 'adjoint' (chosen on the suite with the safeguard's relax 2) and
   * 'local-duals' (chosen on the suite), none in 'sweeps'.
   */
  stepClip?: number | false;
  /**
   * 'local-duals' (and the dual walk of 'sweeps' and 'persistent'): repetitions of the local solve
   * per step (default 5; 10 for the persistent mode's `dualWalk`) and dual step size γ (default 2;
   * 0.5 with lossSteps 'every').
   */
  localSweeps?: number;
  gamma?: number;
  /** 'sweeps': persistent-loop sweeps per mini-batch (default 1 after the dual walk, 3 without it). */
  sweeps?: number;
  /**
   * Mini-batch modes: the step safeguard (step-safeguard.ts) — a batch update that raises the
   * batch's objective is shortened along its direction (the update at a larger ρ) until it does not,
   * then moved on by `momentum` × the previous batch's step if that does not raise it either; an
   * epoch whose training loss rises is undone; also sharded (options.parallel), bit for bit as one
   * process with one shard. Default true; false turns it off; an object overrides its settings
   * ({ backoff: 2, relax: 2 in mode 'adjoint' and 1.1 in the others, momentum: 0.9, maxAttempts: 8,
   * maxScale: 1e6, epochTolerance: 0.01, maxEpochAttempts: 3 }).
   * Persistent mode (default true, also with synchronous `parallel`, bit for bit as one process):
   * an iteration whose true loss rises is rejected, the auxiliaries resynchronised to the forward
   * pass and ρ raised, never past the ρ policy's bounds (persistent/safeguard.ts). Under
   * `parallel.staleness` > 0 neither exists (no loss of one weight version to judge): false or unset.
   */
  safeguard?: boolean | Partial<SafeguardSettings>;
  /**
   * Persistent mode: `'readout'` (default) refits (V, c) on the untrained network's forward states
   * (with this β) before the auxiliaries are set, so iteration 1 starts at the readout-only floor
   * instead of the random readout's chance level (persistent/warm-start.ts); `'none'`: the model's own (V, c).
   */
  warmStart?: WarmStart;
  /**
   * Persistent mode: start the scaled duals μ1, μ3 from the gradient-free local dual walk of mode
   * 'local-duals' (with `localSweeps`, `gamma`) at the forward point, times `scale` (default 20),
   * instead of zero; with `every` > 0 (default 1), resynchronise the auxiliaries to the forward
   * pass and walk again every `every` iterations (persistent/dual-walk.ts). `true`: the defaults.
   * Default on in mode 'persistent' (floor + 0.10 on every suite classification task; `false`: the
   * paper's loop with zero duals); sharded, each shard walks its rows (off under
   * `parallel.staleness` > 0, where the shards are at different weights). Mode 'sweeps': each
   * batch's sweeps start from the walk's duals × `scale` (default 1; `every` is 1: every batch
   * walks from its forward pass); default on, sharded too.
   * Off in 'adjoint' and 'local-duals'.
   */
  dualWalk?: boolean | { scale?: number; every?: number };
  /** Mini-batch modes: seed of the shuffling (default 0). */
  seed?: number;
  /** Refit (V, c) on the forward states when the fit ends (softmax regression / ridge). Default false. */
  readoutRefit?: boolean;
  /** `'exact'` block minimisation (default) or the paper's single linearised proximal steps. */
  update?: 'exact' | 'linearized';
  /**
   * Persistent mode, exact update: sweep the sample-separable blocks (a, s, o, duals) over
   * chunks of this many sequences and accumulate the weight Grams over chunks, so only
   * a, s, μ1, μ2 are held at full size (4 instead of 7 buffers of N·T·h floats). A full pass
   * gives the unchunked iterate up to float rounding. Default: automatic (automaticChunkSize):
   * no chunking while the three whole-data caches (tanh a, XU, P) take at most 1 GiB, chunks
   * whose caches take ~256 MiB above that. A value ≥ N keeps the state whole.
   */
  chunkSize?: number;
  /**
   * Exact update: shard the samples over `workers` worker threads or Redis workers (README
   * "Scaling out"). Persistent mode: blocks 2, 3, 5, 6 run on the shards, blocks 1 and 4 on their
   * summed Grams; the mini-batch modes: each shard runs the multiplier step on its slice of every
   * batch, the weight solves on the slices' summed Grams (and the step safeguard on the summed losses).
   * `staleness` τ > 0 lets a round use a shard's answer up to τ iterations (batches) old (asynchronous).
   */
  parallel?: ParallelOptions;
}

export interface ResolvedTrainerOptions {
  mode: AdmmMode;
  loss: LossName | undefined;
  lossSteps: LossSteps;
  rho: [number, number, number];
  rhoPolicy: Required<RhoPolicy> | { kind: 'fixed' };
  beta: number;
  update: 'exact' | 'linearized';
  batchSize: number;
  eta: number;
  regressors: 'forward' | 'auxiliary';
  trustRegion: number | undefined;
  stepClip: number | false;
  localSweeps: number;
  gamma: number;
  sweeps: number;
  safeguard: SafeguardSettings | false;
  warmStart: WarmStart;
  dualWalk: DualWalkSettings | false;
  seed: number;
  readoutRefit: boolean;
  chunkSize: number | undefined;
  parallel: ResolvedParallelOptions | undefined;
}

export interface FitOptions {
  /** Default 100. */
  maxIterations?: number;
  /** Stop when every relative primal residual ≤ primal and the relative dual residual ≤ dual. */
  tolerance?: { primal: number; dual: number };
  /** Stop when the true training loss has not improved by a relative minDelta (default 1e-4) for patience iterations. */
  plateau?: { patience: number; minDelta?: number };
  /**
   * Abort between blocks (persistent mode: also within the warm start and the dual walks); the
   * model keeps the weights of the last completed iteration, or those the fit began with.
   */
  signal?: AbortSignal;
  /** Called after every iteration; return `false` to stop. */
  onIteration?: (record: AdmmIterationRecord) => void | boolean | Promise<void | boolean>;
  /**
   * Continue the trainer's run (or the one restoreState put in) instead of starting afresh:
   * persistent mode from its auxiliaries, duals and ρ; mini-batch modes from their epoch count, ρ
   * and shuffling generator; both from the readout before the last fit's readoutRefit.
   */
  resume?: boolean;
}

export interface ResolvedFitOptions extends CommonFitOptions<AdmmIterationRecord> {
  tolerance: { primal: number; dual: number } | undefined;
}

function resolveRho(value: unknown, mode: AdmmMode): [number, number, number] {
  if (value === undefined) return mode === 'persistent' ? [100, 100, 10] : [1, 1, 1];
  if (typeof value === 'number') {
    const r = checkNumber('options.rho', value, 0, 1e12, true);
    return [r, r, r];
  }
  if (!Array.isArray(value) || value.length !== 3)
    throw invalidType('options.rho', 'a number or [rho1, rho2, rho3]', value);
  return value.map((r, i) => checkNumber(`options.rho[${i}]`, r, 0, 1e12, true)) as [number, number, number];
}

function resolveRhoPolicy(value: unknown, mode: AdmmMode): ResolvedTrainerOptions['rhoPolicy'] {
  if (value === undefined) return { kind: 'geometric', factor: mode === 'persistent' ? 1.02 : 1.05, max: 1e6 };
  checkObject('options.rhoPolicy', value);
  const kind = checkChoice('options.rhoPolicy.kind', value.kind, ['fixed', 'geometric', 'residual-balancing'] as const);
  const num = (key: string, fallback: number, min: number, minExclusive = false) =>
    value[key] === undefined ? fallback : checkNumber(`options.rhoPolicy.${key}`, value[key], min, 1e12, minExclusive);
  if (kind === 'fixed') return { kind };
  if (kind === 'geometric') return { kind, factor: num('factor', 1.02, 0, true), max: num('max', 1e6, 0, true) };
  if (mode !== 'persistent')
    throw invalidRange('options.rhoPolicy.kind', `'fixed' or 'geometric' in mode '${mode}'`, kind);
  const policy = {
    kind,
    mu: num('mu', 10, 1),
    tau: num('tau', 2, 1, true),
    min: num('min', 1e-6, 0, true),
    max: num('max', 1e6, 0, true),
  };
  if (policy.min > policy.max) throw invalidRange('options.rhoPolicy.min', `≤ max (${policy.max})`, policy.min);
  return policy;
}

function resolveWarmStart(value: unknown, mode: AdmmMode): WarmStart {
  if (value === undefined) return mode === 'persistent' ? 'readout' : 'none';
  const start = checkChoice('options.warmStart', value, WARM_STARTS);
  // Every mini-batch restarts from a forward pass with the current readout: nothing to warm.
  if (start !== 'none' && mode !== 'persistent')
    throw invalidRange('options.warmStart', `'none' in mode '${mode}'`, start);
  return start;
}

/**
 * The defaults of options.dualWalk: a re-walk after every iteration reaches floor + 0.10 on mnist,
 * temporal order and reber (h = 128) by iteration 6, 3 and 39; every 10 did not on reber
 * (results/persistent-floor/FINDINGS.md).
 */
export const DEFAULT_DUAL_WALK: Readonly<DualWalkSettings> = { scale: 20, every: 1 };

/**
 * Mode 'sweeps''s walk: the batch's sweeps then refine the walk's own duals. One sweep after the
 * walk learnt more per CPU-second than three, and far more than the three sweeps from zero duals
 * that were the default before (BENCHMARKS.md, "'sweeps' from the walk's duals").
 */
export const DEFAULT_SWEEPS_DUAL_WALK: Readonly<DualWalkSettings> = { scale: 1, every: 1 };

function resolveDualWalk(value: unknown, mode: AdmmMode, parallel: unknown): DualWalkSettings | false {
  if (value === false) return false;
  const defaults = mode === 'sweeps' ? DEFAULT_SWEEPS_DUAL_WALK : DEFAULT_DUAL_WALK;
  const walks = mode === 'persistent' || mode === 'sweeps';
  // Every shard walks its own rows ('sweeps': its slice of the batch). The persistent walk needs
  // every shard at the same weights: bounded staleness has no such point.
  const unwalkable = mode === 'persistent' && boundedStaleness(parallel);
  if (value === undefined) return walks && !unwalkable ? { ...defaults } : false;
  if (!walks) throw invalidRange('options.dualWalk', `false or unset in mode '${mode}'`, value);
  if (unwalkable)
    throw invalidRange(
      'options.dualWalk',
      "false or unset with options.parallel.staleness > 0 in mode 'persistent'",
      value
    );
  if (value === true) return { ...defaults };
  checkObject('options.dualWalk', value);
  const every =
    value.every === undefined ? defaults.every : checkInteger('options.dualWalk.every', value.every, 0, 2 ** 31 - 1);
  // Every batch of mode 'sweeps' restarts from its forward pass, so it walks every time.
  if (mode === 'sweeps' && every !== 1)
    throw invalidRange('options.dualWalk.every', "1 or unset in mode 'sweeps' (every batch walks)", every);
  return {
    scale:
      value.scale === undefined ? defaults.scale : checkNumber('options.dualWalk.scale', value.scale, 0, 1e6, true),
    every,
  };
}

/** Bytes above which the persistent loop's whole-data caches (tanh a, XU, P) are chunked by default. */
export const AUTO_CHUNK_ABOVE_BYTES = 2 ** 30;
/** Bytes of those caches per chunk when chunking by default. */
export const AUTO_CHUNK_CACHE_BYTES = 2 ** 28;

/**
 * The default chunkSize of the exact persistent loop: undefined (whole state) while the three
 * caches of N·T·h floats fit in AUTO_CHUNK_ABOVE_BYTES; above that, the number of sequences whose
 * caches take AUTO_CHUNK_CACHE_BYTES (60,000 MNIST-shaped sequences at h = 128: 3.0 GB of caches
 * whole, chunks of 6,241 sequences, 1.75× → 1.08× the theoretical working set in BENCHMARKS.md).
 */
export function automaticChunkSize(N: number, T: number, h: number): number | undefined {
  const cacheBytesPerSequence = 3 * 4 * T * h;
  if (N * cacheBytesPerSequence <= AUTO_CHUNK_ABOVE_BYTES) return undefined;
  return Math.max(1, Math.floor(AUTO_CHUNK_CACHE_BYTES / cacheBytesPerSequence));
}

function resolveChunkSize(value: unknown, mode: AdmmMode, update: 'exact' | 'linearized'): number | undefined {
  if (value === undefined) return undefined;
  const size = checkInteger('options.chunkSize', value, 1, 2 ** 31 - 1);
  // Mini-batch modes already hold one batch; the linearised steps backtrack θ over the whole data set at once.
  if (mode !== 'persistent')
    throw invalidRange('options.chunkSize', `unset in mode '${mode}' (it belongs to the persistent mode)`, size);
  if (update !== 'exact')
    throw invalidRange(
      'options.chunkSize',
      "unset with update 'linearized' (its θ backtracking needs the whole data set)",
      size
    );
  return size;
}

/**
 * The clip of 'adjoint' and 'local-duals', chosen on the suite. In the default mode, with the
 * safeguard's relax 2 (DEFAULT_ADJOINT_SAFEGUARD), it lifted embedded Reber off its plateau
 * (BENCHMARKS.md, "What holds the default on Reber's plateau, and step clipping"); in 'local-duals'
 * it also spares the rejected epochs that a rare overlong step caused (BENCHMARKS.md, "Step
 * clipping in 'local-duals'"). 'sweeps' was not measured with it.
 */
export const DEFAULT_STEP_CLIP = 1.25;

/** Resolved to a number or false (kept as false, so a checkpoint's options rebuild it off). */
function resolveStepClip(value: unknown, mode: AdmmMode): number | false {
  if (value === undefined) return mode === 'adjoint' || mode === 'local-duals' ? DEFAULT_STEP_CLIP : false;
  if (value === false) return false;
  if (typeof value !== 'number') throw invalidType('options.stepClip', 'a number ≥ 1 or false', value);
  const clip = checkNumber('options.stepClip', value, 1, 1e9);
  if (mode === 'persistent')
    throw invalidRange('options.stepClip', "unset in mode 'persistent' (it clips the mini-batch modes' steps)", clip);
  return clip;
}

export function resolveTrainerOptions(options: unknown): ResolvedTrainerOptions {
  checkOptionalObject('options', options);
  const o = options ?? {};
  const mode = o.mode === undefined ? 'adjoint' : checkChoice('options.mode', o.mode, ADMM_MODES);
  const optional = <T>(key: string, fallback: T, check: (name: string, v: unknown) => T): T =>
    o[key] === undefined ? fallback : check(`options.${key}`, o[key]);
  const update = optional('update', 'exact' as const, (n, v) => checkChoice(n, v, ['exact', 'linearized'] as const));
  if (update === 'linearized' && mode !== 'persistent')
    throw invalidRange(
      'options.update',
      `'exact' in mode '${mode}' (the linearised steps belong to the persistent loop)`,
      update
    );
  const lossSteps = optional('lossSteps', 'last' as const, (n, v) => checkChoice(n, v, LOSS_STEPS));
  const dualWalk = resolveDualWalk(o.dualWalk, mode, o.parallel);
  return {
    mode,
    loss: optional('loss', undefined, (n, v) => checkChoice(n, v, LOSS_NAMES)),
    lossSteps,
    rho: resolveRho(o.rho, mode),
    rhoPolicy: resolveRhoPolicy(o.rhoPolicy, mode),
    // Persistent: the readout-only floor's own regularisation, so the warm-started loop starts at
    // that floor (mnist10k: 0.725 test; with 1e-3 its readout gives 0.680, where the loop stayed).
    beta: optional('beta', mode === 'persistent' ? 1e-4 : 1e-3, (n, v) => checkNumber(n, v, 0, 1e9)),
    update,
    batchSize: optional('batchSize', 128, (n, v) => checkInteger(n, v, 1, 2 ** 31 - 1)),
    eta: optional('eta', 1, (n, v) => checkNumber(n, v, 0, 1e9)),
    regressors: optional('regressors', 'forward' as const, (n, v) =>
      checkChoice(n, v, ['forward', 'auxiliary'] as const)
    ),
    trustRegion: optional('trustRegion', undefined, (n, v) => checkNumber(n, v, 0, 1e9, true)),
    stepClip: resolveStepClip(o.stepClip, mode),
    // 'local-duals': 5 rounds had the best mean rank on the suite among 3, 5, 7 and 10 (BENCHMARKS.md,
    // "Fewer walk rounds"); 'sweeps' walks as 'local-duals' (with 10 it learnt less per CPU-second,
    // BENCHMARKS.md); the persistent dual walk keeps the 10 its measured curves used.
    localSweeps: optional('localSweeps', mode === 'persistent' ? 10 : 5, (n, v) => checkInteger(n, v, 1, 1000)),
    // With a loss at every step the over-relaxed walk (γ = 2) diverges (Metamorphosis: 13 nats
    // after one epoch, where γ = 0.5 reaches 2.32); with the last step only, γ = 2 learns fastest.
    gamma: optional('gamma', lossSteps === 'every' ? 0.5 : 2, (n, v) => checkNumber(n, v, 0, 100, true)),
    sweeps: optional('sweeps', dualWalk ? 1 : 3, (n, v) => checkInteger(n, v, 1, 1000)),
    safeguard: resolveSafeguard(o.safeguard, mode, o.parallel),
    warmStart: resolveWarmStart(o.warmStart, mode),
    dualWalk,
    seed: optional('seed', 0, (n, v) => checkInteger(n, v, 0, 2 ** 32 - 1)),
    readoutRefit: optional('readoutRefit', false, checkBoolean),
    chunkSize: resolveChunkSize(o.chunkSize, mode, update),
    parallel: resolveParallelOptions(o.parallel, update, o.chunkSize),
  };
}

export function resolveFitOptions(options: unknown): ResolvedFitOptions {
  checkOptionalObject('options', options);
  const o = options ?? {};
  let tolerance: ResolvedFitOptions['tolerance'];
  if (o.tolerance !== undefined) {
    checkObject('options.tolerance', o.tolerance);
    tolerance = {
      primal: checkNumber('options.tolerance.primal', o.tolerance.primal, 0),
      dual: checkNumber('options.tolerance.dual', o.tolerance.dual, 0),
    };
  }
  return { ...resolveCommonFitOptions<AdmmIterationRecord>(o), tolerance };
}
