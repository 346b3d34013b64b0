/** Options of the ADMM trainer and of a fit, with their defaults and validation. */
import { type LossName, type LossSteps, LOSS_NAMES, LOSS_STEPS } from '../data';
import { invalidRange, invalidType } from '../errors';
import { checkAbortSignal, checkBoolean, checkChoice, checkFunction, checkInteger, checkNumber, checkObject, checkOptionalObject } from '../validate';
import type { AdmmIterationRecord } from './record';

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

export interface AdmmTrainerOptions {
  /** Default: inferred from the targets (Int32Array → cross-entropy, Float32Array → squared error). */
  loss?: LossName;
  /** Loss at the last step (default) or at every step. */
  lossSteps?: LossSteps;
  /** Initial (ρ1, ρ2, ρ3) for the constraints on a, s and o; a number sets all three. Default [100, 100, 10]. */
  rho?: number | readonly [number, number, number];
  /** Default geometric ×1.02 up to 1e6 (the settings of METHOD.md's prototype). */
  rhoPolicy?: RhoPolicy;
  /** Weight decay β on U, W and V, on the summed-loss scale. Default 1e-3 × N. */
  beta?: number;
  /** `'exact'` block minimisation (default) or the paper's single linearised proximal steps. */
  update?: 'exact' | 'linearized';
}

export interface ResolvedTrainerOptions {
  loss: LossName | undefined;
  lossSteps: LossSteps;
  rho: [number, number, number];
  rhoPolicy: Required<RhoPolicy> | { kind: 'fixed' };
  beta: number | undefined;
  update: 'exact' | 'linearized';
}

export interface FitOptions {
  /** Default 100. */
  maxIterations?: number;
  /** Stop when every relative primal residual ≤ primal and the relative dual residual ≤ dual. */
  tolerance?: { primal: number; dual: number };
  /** Stop when the true training loss has not improved by a relative minDelta (default 1e-4) for patience iterations. */
  plateau?: { patience: number; minDelta?: number };
  /** Abort between blocks; the model keeps the weights of the last completed iteration. */
  signal?: AbortSignal;
  /** Called after every iteration; return `false` to stop. */
  onIteration?: (record: AdmmIterationRecord) => void | boolean | Promise<void | boolean>;
  /** Continue from the trainer's current auxiliaries, duals and ρ instead of a fresh forward pass. */
  resume?: boolean;
}

export interface ResolvedFitOptions {
  maxIterations: number;
  tolerance: { primal: number; dual: number } | undefined;
  plateau: { patience: number; minDelta: number } | undefined;
  signal: AbortSignal | undefined;
  onIteration: FitOptions['onIteration'];
  resume: boolean;
}

function resolveRho(value: unknown): [number, number, number] {
  if (value === undefined) return [100, 100, 10];
  if (typeof value === 'number') {
    const r = checkNumber('options.rho', value, 0, 1e12, true);
    return [r, r, r];
  }
  if (!Array.isArray(value) || value.length !== 3) throw invalidType('options.rho', 'a number or [rho1, rho2, rho3]', value);
  return value.map((r, i) => checkNumber(`options.rho[${i}]`, r, 0, 1e12, true)) as [number, number, number];
}

function resolveRhoPolicy(value: unknown): ResolvedTrainerOptions['rhoPolicy'] {
  if (value === undefined) return { kind: 'geometric', factor: 1.02, max: 1e6 };
  checkObject('options.rhoPolicy', value);
  const kind = checkChoice('options.rhoPolicy.kind', value.kind, ['fixed', 'geometric', 'residual-balancing'] as const);
  const num = (key: string, fallback: number, min: number, minExclusive = false) =>
    value[key] === undefined ? fallback : checkNumber(`options.rhoPolicy.${key}`, value[key], min, 1e12, minExclusive);
  if (kind === 'fixed') return { kind };
  if (kind === 'geometric') return { kind, factor: num('factor', 1.02, 0, true), max: num('max', 1e6, 0, true) };
  const policy = { kind, mu: num('mu', 10, 1), tau: num('tau', 2, 1, true), min: num('min', 1e-6, 0, true), max: num('max', 1e6, 0, true) };
  if (policy.min > policy.max) throw invalidRange('options.rhoPolicy.min', `≤ max (${policy.max})`, policy.min);
  return policy;
}

export function resolveTrainerOptions(options: unknown): ResolvedTrainerOptions {
  checkOptionalObject('options', options);
  const o = options ?? {};
  return {
    loss: o.loss === undefined ? undefined : checkChoice('options.loss', o.loss, LOSS_NAMES),
    lossSteps: o.lossSteps === undefined ? 'last' : checkChoice('options.lossSteps', o.lossSteps, LOSS_STEPS),
    rho: resolveRho(o.rho),
    rhoPolicy: resolveRhoPolicy(o.rhoPolicy),
    beta: o.beta === undefined ? undefined : checkNumber('options.beta', o.beta, 0, 1e12),
    update: o.update === undefined ? 'exact' : checkChoice('options.update', o.update, ['exact', 'linearized'] as const),
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
  let plateau: ResolvedFitOptions['plateau'];
  if (o.plateau !== undefined) {
    checkObject('options.plateau', o.plateau);
    plateau = {
      patience: checkInteger('options.plateau.patience', o.plateau.patience, 1),
      minDelta: o.plateau.minDelta === undefined ? 1e-4 : checkNumber('options.plateau.minDelta', o.plateau.minDelta, 0),
    };
  }
  if (o.signal !== undefined) checkAbortSignal('options.signal', o.signal);
  if (o.onIteration !== undefined) checkFunction('options.onIteration', o.onIteration);
  return {
    maxIterations: o.maxIterations === undefined ? 100 : checkInteger('options.maxIterations', o.maxIterations, 0, 1e9),
    tolerance,
    plateau,
    signal: o.signal as AbortSignal | undefined,
    onIteration: o.onIteration as FitOptions['onIteration'],
    resume: o.resume === undefined ? false : checkBoolean('options.resume', o.resume),
  };
}
