/**
 * Optimizer settings for BPTT, named and defaulted exactly as torch.optim (camelCase):
 * weightDecay is added to the gradient (g + λθ) before the update, on every parameter.
 */
import { checkBoolean, checkChoice, checkNumber, checkObject } from '../validate';
import { invalidRange, invalidType } from '../errors';

/** torch.optim.SGD without momentum: θ ← θ − lr·g. `lr` has no default. */
export interface SgdOptions {
  kind: 'sgd';
  lr: number;
  weightDecay?: number;
}

/** torch.optim.SGD with momentum (default 0.9), dampening (0) and the Nesterov variant (false). */
export interface MomentumOptions {
  kind: 'momentum';
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

/** torch.optim.Adagrad: lr 1e-2, lrDecay 0, eps 1e-10, initialAccumulatorValue 0. */
export interface AdagradOptions {
  kind: 'adagrad';
  lr?: number;
  lrDecay?: number;
  eps?: number;
  initialAccumulatorValue?: number;
  weightDecay?: number;
}

/** torch.optim.RMSprop: lr 1e-2, alpha 0.99, eps 1e-8, momentum 0, centered false. */
export interface RmspropOptions {
  kind: 'rmsprop';
  lr?: number;
  alpha?: number;
  eps?: number;
  momentum?: number;
  centered?: boolean;
  weightDecay?: number;
}

/** torch.optim.Adam: lr 1e-3, betas [0.9, 0.999], eps 1e-8 (with bias correction). */
export interface AdamOptions {
  kind: 'adam';
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
}

export type OptimizerOptions = SgdOptions | MomentumOptions | AdagradOptions | RmspropOptions | AdamOptions;
export type OptimizerKind = OptimizerOptions['kind'];
export const OPTIMIZER_KINDS: readonly OptimizerKind[] = ['sgd', 'momentum', 'adagrad', 'rmsprop', 'adam'];

/** Every field present, defaults filled in. */
export type ResolvedOptimizerOptions =
  | {
      kind: 'sgd' | 'momentum';
      lr: number;
      momentum: number;
      dampening: number;
      nesterov: boolean;
      weightDecay: number;
    }
  | { kind: 'adagrad'; lr: number; lrDecay: number; eps: number; initialAccumulatorValue: number; weightDecay: number }
  | {
      kind: 'rmsprop';
      lr: number;
      alpha: number;
      eps: number;
      momentum: number;
      centered: boolean;
      weightDecay: number;
    }
  | { kind: 'adam'; lr: number; betas: [number, number]; eps: number; weightDecay: number };

export function resolveOptimizerOptions(name: string, value: unknown): ResolvedOptimizerOptions {
  if (value === undefined) return { kind: 'adam', lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 };
  checkObject(name, value);
  const kind = checkChoice(`${name}.kind`, value.kind, OPTIMIZER_KINDS);
  const num = (key: string, fallback: number | undefined, max = Infinity): number => {
    if (value[key] === undefined && fallback !== undefined) return fallback;
    return checkNumber(`${name}.${key}`, value[key], 0, max);
  };
  const bool = (key: string): boolean =>
    value[key] === undefined ? false : checkBoolean(`${name}.${key}`, value[key]);
  const weightDecay = num('weightDecay', 0);
  switch (kind) {
    case 'sgd':
    case 'momentum': {
      const o = {
        kind,
        lr: num('lr', undefined),
        momentum: num('momentum', kind === 'momentum' ? 0.9 : 0),
        dampening: num('dampening', 0),
        nesterov: bool('nesterov'),
        weightDecay,
      };
      if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0))
        throw invalidRange(
          `${name}.nesterov`,
          'used with momentum > 0 and dampening 0 (as torch.optim.SGD)',
          o.nesterov
        );
      return o;
    }
    case 'adagrad':
      return {
        kind,
        lr: num('lr', 1e-2),
        lrDecay: num('lrDecay', 0),
        eps: num('eps', 1e-10),
        initialAccumulatorValue: num('initialAccumulatorValue', 0),
        weightDecay,
      };
    case 'rmsprop':
      return {
        kind,
        lr: num('lr', 1e-2),
        alpha: num('alpha', 0.99),
        eps: num('eps', 1e-8),
        momentum: num('momentum', 0),
        centered: bool('centered'),
        weightDecay,
      };
    case 'adam': {
      let betas: [number, number] = [0.9, 0.999];
      if (value.betas !== undefined) {
        const b = value.betas;
        if (!Array.isArray(b) || b.length !== 2) throw invalidType(`${name}.betas`, '[beta1, beta2]', b);
        betas = [0, 1].map((i) => {
          const v = checkNumber(`${name}.betas[${i}]`, b[i], 0);
          if (v >= 1) throw invalidRange(`${name}.betas[${i}]`, 'in [0, 1)', v);
          return v;
        }) as [number, number];
      }
      return { kind, lr: num('lr', 1e-3), betas, eps: num('eps', 1e-8), weightDecay };
    }
  }
}
