/**
 * A vanilla (Elman) RNN that owns its weights:
 *   a_t = U x_t + W s_{t-1} + b,  s_t = tanh(a_t),  o_t = V s_t + c,  s_0 = 0.
 */
import {
  type LossName,
  type LossSteps,
  type ModelSizes,
  type SequenceInputs,
  type TrainingData,
  LOSS_NAMES,
  LOSS_STEPS,
  inputLayout,
  lossForTargets,
  nativeShape,
  targetLayout,
} from './data';
import { TrainerError, invalidRange, invalidType } from './errors';
import { type InitScheme, INIT_SCHEMES, type WeightBuffers, defaultScale, initialise } from './init';
import { summariseLoss } from './loss';
import { checkMemory } from './memory-limit';
import { native } from './native';
import { onSharedMemory } from './in-shared-memory';
import {
  checkChoice,
  checkFinite,
  checkFloat32Array,
  checkInteger,
  checkNumber,
  checkObject,
  checkOptionalObject,
} from './validate';

export interface InitOptions {
  /** Default `'normal'`. */
  scheme?: InitScheme;
  /** σ for `normal`, half-width for `uniform`, gain for `glorot` / `orthogonal`. */
  scale?: number;
  /** Seed of the weight generator (default 0). */
  seed?: number;
}

export interface RNNConfig extends ModelSizes {
  init?: InitOptions;
}

export interface PredictOptions {
  /** Outputs of the last step only ([N, K], default) or of every step ([N, T, K]). */
  outputs?: LossSteps;
}

export interface EvaluateOptions {
  loss?: LossName;
  lossSteps?: LossSteps;
}

export interface Evaluation {
  /** Mean loss per loss term (nats for cross-entropy). */
  loss: number;
  /** Fraction of correct arg-max predictions (NaN for regression). */
  accuracy: number;
  count: number;
}

/** Plain-data form of a model (JSON-safe). */
export interface RNNData {
  format: 'admmirnn.rnn';
  version: 1;
  inputSize: number;
  hiddenSize: number;
  outputSize: number;
  weights: { U: number[]; W: number[]; b: number[]; V: number[]; c: number[] };
}

const WEIGHT_NAMES = ['U', 'W', 'b', 'V', 'c'] as const;
export type WeightName = (typeof WEIGHT_NAMES)[number];
/** One Float32Array per weight: U [h, d], W [h, h], b [h], V [K, h], c [K]. */
export type RNNWeights = Record<WeightName, Float32Array>;

/** Most parameters a model may have, h·(d + h + 1) + K·(h + 1): 8 GiB of float32. */
export const MAX_PARAMETERS = 2 ** 31;

/**
 * The sizes under `prefix` (config / data), checked before anything is allocated for them: each
 * in range, the (U, W, b) system within the native layer's indexing bound, and the total within
 * MAX_PARAMETERS (V = K·h has no other bound, and sizes may come from an untrusted file).
 */
export function checkSizes(prefix: string, raw: Record<string, unknown>): ModelSizes {
  const d = checkInteger(`${prefix}.inputSize`, raw.inputSize, 1, 1 << 24);
  const h = checkInteger(`${prefix}.hiddenSize`, raw.hiddenSize, 1, 1 << 14);
  const K = checkInteger(`${prefix}.outputSize`, raw.outputSize, 1, 1 << 20);
  if (h * (d + h + 1) > 2 ** 31)
    throw invalidRange(
      `${prefix}.hiddenSize`,
      `such that hiddenSize·(inputSize + hiddenSize + 1) ≤ 2^31 (inputSize ${d})`,
      h
    );
  const count = h * (d + h + 1) + K * (h + 1);
  if (count > MAX_PARAMETERS)
    throw invalidRange(
      prefix,
      `sizes with at most 2^31 parameters, hiddenSize·(inputSize + hiddenSize + 1) + outputSize·(hiddenSize + 1) (inputSize ${d}, hiddenSize ${h}, outputSize ${K})`,
      count
    );
  checkMemory(`a model of ${count} parameters (inputSize ${d}, hiddenSize ${h}, outputSize ${K})`, 4 * count);
  return { inputSize: d, hiddenSize: h, outputSize: K };
}

/** The length of each weight for these sizes. */
function weightLengths({ inputSize: d, hiddenSize: h, outputSize: K }: ModelSizes): Record<WeightName, number> {
  return { U: h * d, W: h * h, b: h, V: K * h, c: K };
}

/** Set only for the duration of a constructor call whose weights are overwritten right after it. */
let skipInitialisation = false;

export class RNN implements WeightBuffers {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly outputSize: number;
  /** [hiddenSize, inputSize] */
  readonly U: Float32Array;
  /** [hiddenSize, hiddenSize] */
  readonly W: Float32Array;
  readonly b: Float32Array;
  /** [outputSize, hiddenSize] */
  readonly V: Float32Array;
  readonly c: Float32Array;
  private owner: string | undefined;

  constructor(config: RNNConfig) {
    checkObject('config', config);
    const sizes = checkSizes('config', config);
    checkOptionalObject('config.init', config.init);
    const init: InitOptions = config.init ?? {};
    const scheme = init.scheme === undefined ? 'normal' : checkChoice('config.init.scheme', init.scheme, INIT_SCHEMES);
    const scale =
      init.scale === undefined ? defaultScale(scheme) : checkNumber('config.init.scale', init.scale, 0, 1e6);
    const seed = init.seed === undefined ? 0 : checkInteger('config.init.seed', init.seed, 0, 2 ** 32 - 1);
    ({ inputSize: this.inputSize, hiddenSize: this.hiddenSize, outputSize: this.outputSize } = sizes);
    const lengths = weightLengths(sizes);
    this.U = new Float32Array(lengths.U);
    this.W = new Float32Array(lengths.W);
    this.b = new Float32Array(lengths.b);
    this.V = new Float32Array(lengths.V);
    this.c = new Float32Array(lengths.c);
    if (!skipInitialisation) initialise(this, this, scheme, scale, seed);
  }

  /**
   * A model with the given weights (copied), without the random initialisation `new RNN` does:
   * the sizes and every weight (type, length, finite) are checked before anything is allocated.
   * `config.init` is kept as a record of how the weights were first made; it is not applied.
   */
  static withWeights(config: RNNConfig, weights: RNNWeights): RNN {
    checkObject('config', config);
    const lengths = weightLengths(checkSizes('config', config));
    checkObject('weights', weights);
    for (const name of WEIGHT_NAMES)
      checkFinite(`weights.${name}`, checkFloat32Array(`weights.${name}`, weights[name], lengths[name]));
    const model = RNN.uninitialised(config);
    model.setWeightsUnchecked(weights);
    return model;
  }

  /**
   * A model whose weights are all zero, for a caller that fills them next (a checkpoint reader):
   * no time spent on a random initialisation that would be overwritten. @internal
   */
  static uninitialised(config: RNNConfig): RNN {
    skipInitialisation = true;
    try {
      return new RNN(config);
    } finally {
      skipInitialisation = false;
    }
  }

  /** Number of trainable parameters. */
  get parameterCount(): number {
    return this.U.length + this.W.length + this.b.length + this.V.length + this.c.length;
  }

  /** The weight buffers themselves (not copies). */
  weights(): Record<WeightName, Float32Array> {
    // A weight whose buffer was transferred away (postMessage, structuredClone) reads as empty.
    const lengths = weightLengths(this);
    for (const name of WEIGHT_NAMES)
      if (this[name].length !== lengths[name])
        throw invalidRange(
          `model.${name}`,
          `${lengths[name]} weights long (was its buffer transferred or detached?)`,
          this[name]
        );
    return { U: this.U, W: this.W, b: this.b, V: this.V, c: this.c };
  }

  /** Copies weights in (each must have this model's size and be finite). */
  setWeights(weights: Partial<Record<WeightName, Float32Array>>): void {
    checkObject('weights', weights);
    this.assertIdle('setWeights');
    const own = this.weights();
    for (const name of WEIGHT_NAMES) {
      if (weights[name] === undefined) continue;
      const w = checkFloat32Array(`weights.${name}`, weights[name], own[name].length);
      checkFinite(`weights.${name}`, w);
    }
    for (const name of WEIGHT_NAMES) if (weights[name]) own[name].set(weights[name] as Float32Array);
  }

  /** Restores weights the library itself saved (same sizes, no checks, ignores the lock). @internal */
  setWeightsUnchecked(weights: Record<WeightName, Float32Array>): void {
    const own = this.weights();
    for (const name of WEIGHT_NAMES) own[name].set(weights[name]);
  }

  clone(): RNN {
    return RNN.fromJSON(this.toJSON());
  }

  toJSON(): RNNData {
    const w = this.weights();
    return {
      format: 'admmirnn.rnn',
      version: 1,
      inputSize: this.inputSize,
      hiddenSize: this.hiddenSize,
      outputSize: this.outputSize,
      weights: { U: Array.from(w.U), W: Array.from(w.W), b: Array.from(w.b), V: Array.from(w.V), c: Array.from(w.c) },
    };
  }

  /**
   * A model from `toJSON`'s output. The declared sizes are checked against the weight arrays
   * before the model is allocated, so a small document cannot make a large model.
   */
  static fromJSON(data: unknown): RNN {
    checkObject('data', data);
    if (data.format !== 'admmirnn.rnn') throw invalidRange('data.format', "'admmirnn.rnn'", data.format);
    if (data.version !== 1) throw invalidRange('data.version', '1', data.version);
    const sizes = checkSizes('data', data);
    const lengths = weightLengths(sizes);
    checkObject('data.weights', data.weights);
    const arrays = {} as Record<WeightName, unknown[]>;
    for (const name of WEIGHT_NAMES) {
      const values = data.weights[name];
      if (!Array.isArray(values)) throw invalidType(`data.weights.${name}`, 'an array of numbers', values);
      if (values.length !== lengths[name])
        throw invalidRange(`data.weights.${name}`, `of length ${lengths[name]}`, values);
      arrays[name] = values;
    }
    const model = RNN.uninitialised(sizes);
    const own = model.weights();
    for (const name of WEIGHT_NAMES) {
      const values = arrays[name];
      for (let i = 0; i < values.length; i++) {
        if (typeof values[i] !== 'number' || !Number.isFinite(values[i]))
          throw invalidRange(`data.weights.${name}`, `finite numbers — element ${i} is ${values[i]}`);
        own[name][i] = values[i] as number;
      }
    }
    return model;
  }

  /** Logits (or regression outputs) [N, K] for the last step, or [N, T, K] for every step. */
  predict(data: SequenceInputs, options: PredictOptions = {}): Float32Array {
    const job = this.predictJob(data, options, false);
    native.forward(job.args);
    return job.args.O;
  }

  /** As `predict`, computed off the main thread. */
  async predictAsync(data: SequenceInputs, options: PredictOptions = {}): Promise<Float32Array> {
    const job = this.predictJob(data, options, true);
    this.lock('predictAsync');
    try {
      await native.forwardAsync(job.args);
    } finally {
      this.unlock();
    }
    return job.args.O;
  }

  /** Mean loss and accuracy on labelled data. */
  evaluate(data: TrainingData, options: EvaluateOptions = {}): Evaluation {
    const job = this.evaluateJob(data, options, false);
    native.forward(job.args);
    return job.summarise();
  }

  async evaluateAsync(data: TrainingData, options: EvaluateOptions = {}): Promise<Evaluation> {
    const job = this.evaluateJob(data, options, true);
    this.lock('evaluateAsync');
    try {
      await native.forwardAsync(job.args);
    } finally {
      this.unlock();
    }
    return job.summarise();
  }

  /**
   * Marks the model as in use by a long-running operation (a trainer's fit, an async
   * prediction), so overlapping work that would read half-updated weights is refused.
   * @internal
   */
  lock(owner: string): void {
    this.assertIdle(owner);
    this.owner = owner;
  }

  /** @internal */
  unlock(): void {
    this.owner = undefined;
  }

  /** @internal */
  assertIdle(operation: string): void {
    if (this.owner !== undefined)
      throw new TrainerError(`${operation}: the model is in use by ${this.owner}; wait for it to finish`, 'ERR_BUSY');
  }

  /** `async`: the binding copies the inputs and outputs on plain ArrayBuffers (in-shared-memory.ts). */
  private predictJob(data: SequenceInputs, options: PredictOptions, async: boolean) {
    this.assertIdle('predict');
    checkObject('options', options);
    const outputs =
      options.outputs === undefined ? 'last' : checkChoice('options.outputs', options.outputs, LOSS_STEPS);
    const layout = inputLayout('data', data, this);
    const shape = nativeShape(this, layout.N, layout.T, outputs);
    const L = outputs === 'every' ? layout.T : 1;
    const outputBytes = 4 * layout.N * L * this.outputSize;
    const x = layout.native.x,
      inputCopy = async && x && !onSharedMemory(x) ? x.byteLength : 0;
    checkMemory(`a forward pass over ${layout.N} sequences`, (async ? 2 : 1) * outputBytes + inputCopy);
    const O = new Float32Array(layout.N * L * this.outputSize);
    return { shape, args: { shape, ...layout.native, ...this.weights(), O } };
  }

  private evaluateJob(data: TrainingData, options: EvaluateOptions, async: boolean) {
    checkObject('options', options);
    const lossSteps =
      options.lossSteps === undefined ? 'last' : checkChoice('options.lossSteps', options.lossSteps, LOSS_STEPS);
    const inferred = lossForTargets((data as unknown as Record<string, unknown>)?.targets);
    const loss =
      options.loss === undefined
        ? (inferred ?? 'softmax-cross-entropy')
        : checkChoice('options.loss', options.loss, LOSS_NAMES);
    const job = this.predictJob(data, { outputs: lossSteps }, async);
    const targets = targetLayout('data.targets', data.targets, job.shape, loss, lossSteps);
    const K = this.outputSize;
    return {
      args: job.args,
      summarise: (): Evaluation => {
        const s = summariseLoss(job.args.O, K, targets);
        return {
          loss: s.sum / s.count,
          accuracy: loss === 'squared-error' ? NaN : s.correct / s.count,
          count: s.count,
        };
      },
    };
  }
}
