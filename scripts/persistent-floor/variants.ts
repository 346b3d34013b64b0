/** The starts and ρ settings of the persistent loop that scripts/persistent-floor.ts compares. */
import { type AdmmTrainerOptions, type RNN, type TrainingData, refitReadout } from '../../lib';

export interface Variant {
  description: string;
  /** Runs on the untrained model before the trainer starts (no gradient through time). */
  start?: (model: RNN, train: TrainingData) => void | Promise<void>;
  options: AdmmTrainerOptions;
}

const readoutFirst = (model: RNN, train: TrainingData) => {
  refitReadout(model, train);
};
/** The floor's own regularisation (refitReadout: 1e-4 per loss term) instead of the loop's default 1e-3. */
const FLOOR_BETA = 1e-4;
/**
 * The true-loss safeguard's settings these variants were measured with. The variants measured
 * before it became the default say `safeguard: false`, so a rerun reproduces them.
 */
const GUARD = { backoff: 4, relax: 1.05 };

export const PERSISTENT_VARIANTS: Record<string, Variant> = {
  default: {
    description:
      'the defaults before the warm start: the init readout (warmStart none), β 1e-3, ρ (100, 100, 10) ×1.02',
    options: { warmStart: 'none', beta: 1e-3, safeguard: false },
  },
  warm: {
    description: "warm start (readout refitted with the loop's β) at the old β 1e-3",
    options: { beta: 1e-3, safeguard: false },
  },
  'readout-first': {
    description: '(V, c) refitted on the forward states first (the floor), then the old defaults (β 1e-3)',
    start: readoutFirst,
    options: { warmStart: 'none', beta: 1e-3, safeguard: false },
  },
  'readout-first-rho10': {
    description: 'readout first, β 1e-3, ρ (10, 10, 1) ×1.02',
    start: readoutFirst,
    options: { warmStart: 'none', beta: 1e-3, rho: [10, 10, 1], safeguard: false },
  },
  'readout-first-beta': {
    description:
      "readout first, β = 1e-4 (the floor's), ρ (100, 100, 10) ×1.02 — the same run as the new defaults " +
      '(warm start, β 1e-4)',
    start: readoutFirst,
    options: { warmStart: 'none', beta: FLOOR_BETA, safeguard: false },
  },
  'readout-first-beta-rho10': {
    description: 'readout first, β = 1e-4, ρ (10, 10, 1) ×1.02',
    start: readoutFirst,
    options: { warmStart: 'none', beta: FLOOR_BETA, rho: [10, 10, 1], safeguard: false },
  },
  'readout-first-beta-rho1': {
    description: 'readout first, β = 1e-4, ρ (1, 1, 1) ×1.02',
    start: readoutFirst,
    options: { warmStart: 'none', beta: FLOOR_BETA, rho: [1, 1, 1], safeguard: false },
  },
  'warm-beta-guard-rho1': {
    description: 'warm start, β = 1e-4, true-loss safeguard (×4 on a rise, ÷1.05 on a fall), ρ (1, 1, 1) ×1.02',
    options: { beta: FLOOR_BETA, safeguard: GUARD, rho: [1, 1, 1] },
  },
  'warm-beta-guard-rho10': {
    description: 'warm start, β = 1e-4, true-loss safeguard (×4 on a rise, ÷1.05 on a fall), ρ (10, 10, 1) ×1.02',
    options: { beta: FLOOR_BETA, safeguard: GUARD, rho: [10, 10, 1] },
  },
  'dual-walk': {
    description:
      'defaults + dualWalk: duals from the local dual walk (γ 2, 10 rounds, at the loop’s ρ) × 20 at the start, ' +
      'resynchronised and re-walked every 10 iterations',
    options: { dualWalk: { scale: 20, every: 10 } },
  },
  'dual-walk-once': {
    description: 'defaults + dualWalk at the start only (× 20, every 0)',
    options: { dualWalk: { scale: 20, every: 0 } },
  },
  'dual-walk-unscaled': {
    description: 'defaults + dualWalk × 1 at the start only (the walk’s own duals)',
    options: { dualWalk: { scale: 1, every: 0 } },
  },
  'dual-walk-scale50': {
    description: 'defaults + dualWalk × 50, re-walked every 10 iterations',
    options: { dualWalk: { scale: 50, every: 10 } },
  },
};
