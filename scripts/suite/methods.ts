/**
 * The suite's methods by short name: every ADMM mode with default options and BpttTrainer with
 * Adam and SGD (the experiments' definitions: batch 128, Adam lr 1e-3, SGD lr 0.1), and the
 * persistent loop with its dual-walk warm start. The paper's linearised persistent update is
 * available but not run by default.
 */
import { byName, type Method } from '../experiments/methods';

export const METHODS: Record<string, string> = {
  adjoint: 'ADMM adjoint',
  'local-duals': 'ADMM local-duals',
  sweeps: 'ADMM sweeps',
  persistent: 'ADMM persistent (exact)',
  'persistent-linearized': 'ADMM persistent (linearised)',
  'persistent-walk': 'ADMM persistent + dual walk',
  adam: 'BPTT Adam',
  sgd: 'BPTT SGD',
};

export const DEFAULT_METHODS = ['adjoint', 'local-duals', 'sweeps', 'persistent', 'persistent-walk', 'adam', 'sgd'];

/** The method of a short name; an unknown name is a RangeError naming the option. */
export function suiteMethod(key: string): Method & { key: string } {
  const name = METHODS[key];
  if (!name)
    throw new RangeError(`--methods: unknown method '${key}' (choose from ${Object.keys(METHODS).join(', ')})`);
  // Issue 16's item 4: the paper's loop with its gradient-free dual warm start (options.dualWalk).
  if (key === 'persistent-walk') return { name, trainer: 'admm', admm: { mode: 'persistent', dualWalk: true }, key };
  return { ...byName([name])[0], key };
}
