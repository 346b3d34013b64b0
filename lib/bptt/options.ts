/** Options of the BPTT trainer and of a fit, with their defaults and validation. */
import { type LossName, type LossSteps, LOSS_NAMES, LOSS_STEPS } from '../data';
import { checkBoolean, checkChoice, checkInteger, checkNumber, checkOptionalObject } from '../validate';
import { type OptimizerOptions, type ResolvedOptimizerOptions, resolveOptimizerOptions } from './optimizer-options';
import type { BpttEpochRecord } from './record';
import { type CommonFitOptions, resolveCommonFitOptions } from '../training/fit-options';

export interface BpttTrainerOptions {
  /** Default: inferred from the targets (Int32Array → cross-entropy, Float32Array → squared error). */
  loss?: LossName;
  /** Loss at the last step (default) or at every step. */
  lossSteps?: LossSteps;
  /** As torch.optim; default `{ kind: 'adam' }` (lr 1e-3). */
  optimizer?: OptimizerOptions;
  /** Samples per mini-batch (default 32); the last batch of an epoch may be smaller. */
  batchSize?: number;
  /** Reshuffle the samples every epoch (default true). */
  shuffle?: boolean;
  /** Seed of the shuffling generator (default 0). */
  seed?: number;
  /** Clip the global gradient norm to this value (torch.nn.utils.clip_grad_norm_); default: no clipping. */
  clipGradNorm?: number;
}

export interface ResolvedBpttOptions {
  loss: LossName | undefined;
  lossSteps: LossSteps;
  optimizer: ResolvedOptimizerOptions;
  batchSize: number;
  shuffle: boolean;
  seed: number;
  clipGradNorm: number | undefined;
}

/** The same shape as AdmmTrainer's fit options, with epochs as iterations. */
export interface BpttFitOptions {
  /** Epochs to run (default 100). */
  maxIterations?: number;
  /** Stop when the training loss has not improved by a relative minDelta (default 1e-4) for patience epochs. */
  plateau?: { patience: number; minDelta?: number };
  /** Checked between mini-batches; the model keeps the weights of the last completed update. */
  signal?: AbortSignal;
  /** Called after every epoch; return `false` to stop. */
  onIteration?: (record: BpttEpochRecord) => void | boolean | Promise<void | boolean>;
  /** Continue with the optimizer state, shuffling generator and epoch count of the previous fit. */
  resume?: boolean;
}

export type ResolvedBpttFitOptions = CommonFitOptions<BpttEpochRecord>;

export function resolveBpttOptions(options: unknown): ResolvedBpttOptions {
  checkOptionalObject('options', options);
  const o = options ?? {};
  return {
    loss: o.loss === undefined ? undefined : checkChoice('options.loss', o.loss, LOSS_NAMES),
    lossSteps: o.lossSteps === undefined ? 'last' : checkChoice('options.lossSteps', o.lossSteps, LOSS_STEPS),
    optimizer: resolveOptimizerOptions('options.optimizer', o.optimizer),
    batchSize: o.batchSize === undefined ? 32 : checkInteger('options.batchSize', o.batchSize, 1, 2 ** 31 - 1),
    shuffle: o.shuffle === undefined ? true : checkBoolean('options.shuffle', o.shuffle),
    seed: o.seed === undefined ? 0 : checkInteger('options.seed', o.seed, 0, 2 ** 32 - 1),
    clipGradNorm:
      o.clipGradNorm === undefined ? undefined : checkNumber('options.clipGradNorm', o.clipGradNorm, 0, Infinity, true),
  };
}

export function resolveBpttFitOptions(options: unknown): ResolvedBpttFitOptions {
  checkOptionalObject('options', options);
  return resolveCommonFitOptions<BpttEpochRecord>(options ?? {});
}
