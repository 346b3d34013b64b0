/** The configurations the ablation compares (the remedies of docs/ALGORITHM.md's resynchronised modes, one change at a time). */
import type { Config } from './runner';

const sigma = { scheme: 'normal', scale: 0.1, seed: 0 } as const;
const orthogonal = { scheme: 'orthogonal', seed: 0 } as const;

export const CONFIGS: Config[] = [
  {
    name: "persistent (the paper's loop, exact)",
    trainer: 'admm',
    init: sigma,
    admm: { mode: 'persistent', dualWalk: false },
  },
  {
    name: 'persistent, linearised (paper)',
    trainer: 'admm',
    init: sigma,
    admm: { mode: 'persistent', update: 'linearized', dualWalk: false },
  },
  // From zero duals, as variant C was measured (the mode's default now starts from the dual walk).
  {
    name: 'sweeps ×3 per batch (C)',
    trainer: 'admm',
    init: sigma,
    admm: { mode: 'sweeps', dualWalk: false, sweeps: 3 },
  },
  { name: 'local-duals (B)', trainer: 'admm', init: sigma, admm: { mode: 'local-duals' } },
  {
    name: 'local-duals, auxiliary regressors',
    trainer: 'admm',
    init: sigma,
    admm: { mode: 'local-duals', regressors: 'auxiliary' },
  },
  { name: 'local-duals, orthogonal init', trainer: 'admm', init: orthogonal, admm: { mode: 'local-duals' } },
  { name: 'adjoint (A)', trainer: 'admm', init: sigma, admm: { mode: 'adjoint' } },
  { name: 'adjoint, no proximal anchor (η = 0)', trainer: 'admm', init: sigma, admm: { mode: 'adjoint', eta: 0 } },
  {
    name: 'adjoint, trust region ‖ΔW‖ ≤ 0.05‖W‖',
    trainer: 'admm',
    init: sigma,
    admm: { mode: 'adjoint', trustRegion: 0.05 },
  },
  { name: 'adjoint, orthogonal init', trainer: 'admm', init: orthogonal, admm: { mode: 'adjoint' } },
  {
    name: 'adjoint, orthogonal init, readout refit',
    trainer: 'admm',
    init: orthogonal,
    admm: { mode: 'adjoint', readoutRefit: true },
  },
  {
    name: 'BPTT Adam (lr 1e-3, batch 128)',
    trainer: 'bptt',
    init: sigma,
    bptt: { optimizer: { kind: 'adam' }, batchSize: 128 },
  },
  {
    name: 'BPTT Adam, orthogonal init',
    trainer: 'bptt',
    init: orthogonal,
    bptt: { optimizer: { kind: 'adam' }, batchSize: 128 },
  },
];
