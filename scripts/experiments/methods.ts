/**
 * The trainers compared: every ADMM mode (and the paper's linearised update) against BPTT with
 * the optimizers the paper names. BPTT learning rates are torch.optim's defaults where torch has
 * one (Adagrad 1e-2, RMSProp 1e-2, Adam 1e-3); SGD 0.1 and Momentum 0.01 × 0.9 (torch has no
 * default). Mini-batches of 128 for all mini-batch methods; no gradient clipping (the claim is
 * about what happens without it).
 */
import type { Config } from '../ablation/runner';

export type Method = Omit<Config, 'init'>;

export const ADMM_METHODS: Method[] = [
  { name: 'ADMM adjoint', trainer: 'admm', admm: { mode: 'adjoint' } },
  { name: 'ADMM local-duals', trainer: 'admm', admm: { mode: 'local-duals' } },
  { name: 'ADMM sweeps', trainer: 'admm', admm: { mode: 'sweeps' } },
  // The paper's claims are tried on the paper's loop: without the default dual walk.
  { name: 'ADMM persistent (exact)', trainer: 'admm', admm: { mode: 'persistent', dualWalk: false } },
  {
    name: 'ADMM persistent (linearised)',
    trainer: 'admm',
    admm: { mode: 'persistent', update: 'linearized', dualWalk: false },
  },
];

const batch = { batchSize: 128 };
export const BPTT_METHODS: Method[] = [
  { name: 'BPTT SGD', trainer: 'bptt', bptt: { ...batch, optimizer: { kind: 'sgd', lr: 0.1 } } },
  {
    name: 'BPTT Momentum',
    trainer: 'bptt',
    bptt: { ...batch, optimizer: { kind: 'momentum', lr: 0.01, momentum: 0.9 } },
  },
  { name: 'BPTT Adagrad', trainer: 'bptt', bptt: { ...batch, optimizer: { kind: 'adagrad' } } },
  { name: 'BPTT RMSProp', trainer: 'bptt', bptt: { ...batch, optimizer: { kind: 'rmsprop' } } },
  { name: 'BPTT Adam', trainer: 'bptt', bptt: { ...batch, optimizer: { kind: 'adam' } } },
];

export const byName = (names: string[]): Method[] =>
  names.map((n) => {
    const m = [...ADMM_METHODS, ...BPTT_METHODS].find((x) => x.name === n);
    if (!m) throw new Error(`unknown method ${n}`);
    return m;
  });

/** The baselines claims (1) and (4) name. */
export const PAPER_BASELINES = ['BPTT SGD', 'BPTT Adam', 'BPTT RMSProp'];
