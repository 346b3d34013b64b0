/**
 * The five optimizers, one update per call of step(), following torch.optim's single-tensor
 * code paths line by line (so one step can be checked against a hand computation). Each
 * keeps per-parameter state (Float32Array, like torch's float32 buffers) indexed by position.
 */
import { invalidRange, invalidType } from '../errors';
import { checkFloat32Array, checkInteger, checkObject } from '../validate';
import { type ResolvedOptimizerOptions, resolveOptimizerOptions } from './optimizer-options';

/**
 * An optimizer's progress: the update count and, per parameter, its state buffers (momentum,
 * squared averages…; none before the first update).
 */
export interface OptimizerState {
  steps: number;
  buffers: Float32Array[][];
}

export interface Optimizer {
  readonly options: Readonly<ResolvedOptimizerOptions>;
  /** Updates completed so far. */
  readonly steps: number;
  /** State buffers per parameter: 1 (SGD, momentum, Adagrad), 2 (Adam) or 3 (RMSprop). */
  readonly buffersPerParameter: number;
  /** One update of every parameter from its gradient (gradients are not modified). */
  step(params: readonly Float32Array[], grads: readonly Float32Array[]): void;
  /** A copy of the progress, so a run can be checkpointed and continued bit for bit. */
  exportState(): OptimizerState;
  /**
   * Continues from exportState()'s copy: `lengths` are the parameters' sizes, which the
   * buffers must match (all parameters, or none before the first update). Checks, then copies.
   */
  restoreState(state: unknown, lengths: readonly number[], name?: string): void;
}

type Update = (p: Float32Array, g: Float32Array, state: Float32Array[], step: number) => void;

/** Shared bookkeeping: step count, lazily created state buffers, the weight-decayed gradient. */
class BaseOptimizer implements Optimizer {
  steps = 0;
  private state: Float32Array[][] = [];

  constructor(
    readonly options: Readonly<ResolvedOptimizerOptions>,
    private readonly buffers: number,
    private readonly update: Update,
    private readonly initial = 0
  ) {}

  get buffersPerParameter(): number {
    return this.buffers;
  }

  exportState(): OptimizerState {
    return { steps: this.steps, buffers: this.state.map((list) => list.map((b) => b.slice())) };
  }

  restoreState(state: unknown, lengths: readonly number[], name = 'state'): void {
    checkObject(name, state);
    const steps = checkInteger(`${name}.steps`, state.steps, 0);
    const { buffers } = state;
    const expected = steps === 0 ? 0 : lengths.length;
    if (!Array.isArray(buffers) || buffers.length !== expected)
      throw invalidType(
        `${name}.buffers`,
        `an array of ${expected} per-parameter buffer lists (${steps} steps)`,
        buffers
      );
    const copy = buffers.map((list: unknown, i) => {
      if (!Array.isArray(list) || list.length !== this.buffers)
        throw invalidType(
          `${name}.buffers[${i}]`,
          `an array of ${this.buffers} Float32Arrays (${this.options.kind})`,
          list
        );
      return list.map((b: unknown, k) => {
        const values = checkFloat32Array(`${name}.buffers[${i}][${k}]`, b, lengths[i]);
        for (let j = 0; j < values.length; j++)
          if (values[j] - values[j] !== 0)
            throw invalidRange(`${name}.buffers[${i}][${k}]`, `finite — element ${j} is ${values[j]}`);
        return values.slice();
      });
    });
    this.steps = steps;
    this.state = copy;
  }

  step(params: readonly Float32Array[], grads: readonly Float32Array[]): void {
    if (!Array.isArray(params)) throw invalidType('params', 'an array of Float32Arrays', params);
    if (!Array.isArray(grads)) throw invalidType('grads', 'an array of Float32Arrays', grads);
    if (params.length !== grads.length)
      throw invalidRange('grads', `one gradient per parameter (${params.length})`, grads);
    // Every check before the first update, so a bad call changes nothing.
    params.forEach((p, i) => {
      checkFloat32Array(`params[${i}]`, p);
      checkFloat32Array(`grads[${i}]`, grads[i], p.length);
    });
    this.steps++;
    params.forEach((p, i) => {
      if (!this.state[i])
        this.state[i] = Array.from({ length: this.buffers }, () => new Float32Array(p.length).fill(this.initial));
      this.update(p, grads[i], this.state[i], this.steps);
    });
  }
}

/** SGD, with torch's momentum buffer (first step: buf = g), dampening and Nesterov. */
function sgd(o: Extract<ResolvedOptimizerOptions, { kind: 'sgd' | 'momentum' }>): Update {
  const { lr, momentum: mu, dampening, nesterov, weightDecay: wd } = o;
  return (p, grad, [buf], step) => {
    for (let i = 0; i < p.length; i++) {
      let g = grad[i] + wd * p[i];
      if (mu !== 0) {
        buf[i] = step === 1 ? g : mu * buf[i] + (1 - dampening) * g;
        g = nesterov ? g + mu * buf[i] : buf[i];
      }
      p[i] -= lr * g;
    }
  };
}

/** Adagrad: sum += g², θ −= lr/(1 + (t−1)·lrDecay) · g / (√sum + eps). */
function adagrad(o: Extract<ResolvedOptimizerOptions, { kind: 'adagrad' }>): Update {
  const { lr, lrDecay, eps, weightDecay: wd } = o;
  return (p, grad, [sum], step) => {
    const clr = lr / (1 + (step - 1) * lrDecay);
    for (let i = 0; i < p.length; i++) {
      const g = grad[i] + wd * p[i];
      sum[i] += g * g;
      p[i] -= (clr * g) / (Math.sqrt(sum[i]) + eps);
    }
  };
}

/** RMSprop: v = αv + (1−α)g²; centred: ḡ = αḡ + (1−α)g, denominator √(v − ḡ²) + eps; optional momentum. */
function rmsprop(o: Extract<ResolvedOptimizerOptions, { kind: 'rmsprop' }>): Update {
  const { lr, alpha, eps, momentum: mu, centered, weightDecay: wd } = o;
  return (p, grad, [sq, avg, buf]) => {
    for (let i = 0; i < p.length; i++) {
      const g = grad[i] + wd * p[i];
      sq[i] = alpha * sq[i] + (1 - alpha) * g * g;
      let denom: number;
      if (centered) {
        avg[i] = alpha * avg[i] + (1 - alpha) * g;
        denom = Math.sqrt(sq[i] - avg[i] * avg[i]) + eps;
      } else denom = Math.sqrt(sq[i]) + eps;
      if (mu > 0) {
        buf[i] = mu * buf[i] + g / denom;
        p[i] -= lr * buf[i];
      } else p[i] -= (lr * g) / denom;
    }
  };
}

/** Adam with bias correction: θ −= lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + eps). */
function adam(o: Extract<ResolvedOptimizerOptions, { kind: 'adam' }>): Update {
  const {
    lr,
    betas: [b1, b2],
    eps,
    weightDecay: wd,
  } = o;
  return (p, grad, [m, v], step) => {
    const stepSize = lr / (1 - b1 ** step);
    const bc2Sqrt = Math.sqrt(1 - b2 ** step);
    for (let i = 0; i < p.length; i++) {
      const g = grad[i] + wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      p[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2Sqrt + eps);
    }
  };
}

/** An optimizer from options as in torch.optim (default: Adam with torch's defaults). */
export function createOptimizer(options?: unknown, name = 'optimizer'): Optimizer {
  const o = resolveOptimizerOptions(name, options);
  switch (o.kind) {
    case 'sgd':
    case 'momentum':
      return new BaseOptimizer(o, 1, sgd(o));
    case 'adagrad':
      return new BaseOptimizer(o, 1, adagrad(o), o.initialAccumulatorValue);
    case 'rmsprop':
      return new BaseOptimizer(o, 3, rmsprop(o));
    case 'adam':
      return new BaseOptimizer(o, 2, adam(o));
  }
}
