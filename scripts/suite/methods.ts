/**
 * The suite's methods by short name: every ADMM mode with default options and BpttTrainer with
 * Adam and SGD (the experiments' definitions: batch 128, Adam lr 1e-3, SGD lr 0.1), the
 * persistent loop without its default dual walk (the paper's loop), the default mode with configuration B of
 * BENCHMARKS.md (the epoch rule only, step clipping: the trade-off of issue 16's items 2 and 3),
 * and the previous settings of the mini-batch modes, which the present ones replaced on this
 * suite's evidence: 'adjoint' without the step clip and with the safeguard's relax 1.1,
 * 'local-duals' without the step clip, 'sweeps' from zero duals (no dual walk, 3 sweeps).
 * The paper's linearised persistent update is available but not run by default.
 */
import type { AdmmTrainerOptions } from '../../lib';
import { byName, type Method } from '../experiments/methods';

export const METHODS: Record<string, string> = {
  adjoint: 'ADMM adjoint',
  'local-duals': 'ADMM local-duals',
  sweeps: 'ADMM sweeps',
  persistent: 'ADMM persistent (exact)',
  'persistent-linearized': 'ADMM persistent (linearised)',
  'persistent-paper': "ADMM persistent, no dual walk (the paper's loop)",
  'adjoint-clip': 'ADMM adjoint, epoch rule + step clip',
  'adjoint-unclipped': 'ADMM adjoint, no step clip, relax 1.1',
  'local-duals-unclipped': 'ADMM local-duals, no step clip',
  'sweeps-unwalked': 'ADMM sweeps, no dual walk, 3 sweeps',
  adam: 'BPTT Adam',
  sgd: 'BPTT SGD',
};

export const DEFAULT_METHODS = [
  'adjoint',
  'local-duals',
  'sweeps',
  'persistent',
  'persistent-paper',
  'adjoint-clip',
  'adjoint-unclipped',
  'local-duals-unclipped',
  'sweeps-unwalked',
  'adam',
  'sgd',
];

/** Configuration B: no batch rule, a rejected epoch's scale relaxed fast, epochs may rise 5%, long steps clipped. */
export const ADJOINT_CLIP = {
  mode: 'adjoint',
  stepClip: 1.25,
  safeguard: { batches: false, relax: 2, epochTolerance: 0.05 },
} as const;

/** The default mode as it was before the step clip and relax 2 became its defaults. */
export const ADJOINT_UNCLIPPED = { mode: 'adjoint', stepClip: false, safeguard: { relax: 1.1 } } as const;

/** The suite's ADMM variants beyond the experiments' methods: their options by short name. */
const VARIANTS: Record<string, AdmmTrainerOptions> = {
  // The persistent mode's defaults: its gradient-free dual walk (issue 16 item 4) included.
  persistent: { mode: 'persistent' },
  // The paper's loop: zero duals at the start, no re-walk.
  'persistent-paper': { mode: 'persistent', dualWalk: false },
  'adjoint-clip': ADJOINT_CLIP,
  'adjoint-unclipped': ADJOINT_UNCLIPPED,
  'local-duals-unclipped': { mode: 'local-duals', stepClip: false },
  'sweeps-unwalked': { mode: 'sweeps', dualWalk: false },
};

/** The method of a short name; an unknown name is a RangeError naming the option. */
export function suiteMethod(key: string): Method & { key: string } {
  const name = METHODS[key];
  if (!name)
    throw new RangeError(`--methods: unknown method '${key}' (choose from ${Object.keys(METHODS).join(', ')})`);
  const admm = VARIANTS[key];
  if (admm) return { name, trainer: 'admm', admm, key };
  return { ...byName([name])[0], key };
}
