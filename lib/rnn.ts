/**
 * A vanilla (Elman) RNN that owns its weights:
 *   a_t = U x_t + W s_{t-1} + b,  s_t = tanh(a_t),  o_t = V s_t + c,  s_0 = 0.
 */
import { type LossName, type LossSteps, type ModelSizes, type SequenceInputs, type TrainingData, LOSS_NAMES, LOSS_STEPS, inputLayout, lossForTargets, nativeShape, targetLayout } from './data';
import { AdmmError, invalidRange, invalidType } from './errors';
import { type InitScheme, INIT_SCHEMES, type WeightBuffers, defaultScale, initialise } from './init';
import { summariseLoss } from './loss';
import { native } from './native';
import { checkChoice, checkFinite, checkFloat32Array, checkInteger, checkNumber, checkObject, checkOptionalObject } from './validate';

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
    this.inputSize = checkInteger('config.inputSize', config.inputSize, 1, 1 << 24);
    this.hiddenSize = checkInteger('config.hiddenSize', config.hiddenSize, 1, 1 << 14);
    this.outputSize = checkInteger('config.outputSize', config.outputSize, 1, 1 << 20);
    const { inputSize: d, hiddenSize: h, outputSize: K } = this;
    // The native layer's bound on the (U, W, b) system; also keeps the allocations below sane.
    if (h * (d + h + 1) > 2 ** 31)
      throw invalidRange('config.hiddenSize', `such that hiddenSize·(inputSize + hiddenSize + 1) ≤ 2^31 (inputSize ${d})`, h);
    this.U = new Float32Array(h * d);
    this.W = new Float32Array(h * h);
    this.b = new Float32Array(h);
    this.V = new Float32Array(K * h);
    this.c = new Float32Array(K);
    checkOptionalObject('config.init', config.init);
    const init: InitOptions = config.init ?? {};
    const scheme = init.scheme === undefined ? 'normal' : checkChoice('config.init.scheme', init.scheme, INIT_SCHEMES);
    const scale = init.scale === undefined ? defaultScale(scheme) : checkNumber('config.init.scale', init.scale, 0, 1e6);
    const seed = init.seed === undefined ? 0 : checkInteger('config.init.seed', init.seed, 0, 2 ** 32 - 1);
    initialise(this, this, scheme, scale, seed);
  }

  /** Number of trainable parameters. */
  get parameterCount(): number {
    return this.U.length + this.W.length + this.b.length + this.V.length + this.c.length;
  }

  /** The weight buffers themselves (not copies). */
  weights(): Record<WeightName, Float32Array> {
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

  static fromJSON(data: unknown): RNN {
    checkObject('data', data);
    if (data.format !== 'admmirnn.rnn') throw invalidRange('data.format', "'admmirnn.rnn'", data.format);
    if (data.version !== 1) throw invalidRange('data.version', '1', data.version);
    // Checked here so the messages name data.*, not the constructor's config.*.
    const model = new RNN({
      inputSize: checkInteger('data.inputSize', data.inputSize, 1, 1 << 24),
      hiddenSize: checkInteger('data.hiddenSize', data.hiddenSize, 1, 1 << 14),
      outputSize: checkInteger('data.outputSize', data.outputSize, 1, 1 << 20),
    });
    checkObject('data.weights', data.weights);
    const own = model.weights();
    for (const name of WEIGHT_NAMES) {
      const values = data.weights[name];
      if (!Array.isArray(values)) throw invalidType(`data.weights.${name}`, 'an array of numbers', values);
      if (values.length !== own[name].length) throw invalidRange(`data.weights.${name}`, `of length ${own[name].length}`, values);
      for (let i = 0; i < values.length; i++) {
        if (typeof values[i] !== 'number' || !Number.isFinite(values[i]))
          throw invalidRange(`data.weights.${name}`, `finite numbers — element ${i} is ${values[i]}`);
        own[name][i] = values[i];
      }
    }
    return model;
  }

  /** Logits (or regression outputs) [N, K] for the last step, or [N, T, K] for every step. */
  predict(data: SequenceInputs, options: PredictOptions = {}): Float32Array {
    const job = this.predictJob(data, options);
    native.forward(job.args);
    return job.args.O;
  }

  /** As `predict`, computed off the main thread. */
  async predictAsync(data: SequenceInputs, options: PredictOptions = {}): Promise<Float32Array> {
    const job = this.predictJob(data, options);
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
    const job = this.evaluateJob(data, options);
    native.forward(job.args);
    return job.summarise();
  }

  async evaluateAsync(data: TrainingData, options: EvaluateOptions = {}): Promise<Evaluation> {
    const job = this.evaluateJob(data, options);
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
      throw new AdmmError(`${operation}: the model is in use by ${this.owner}; wait for it to finish`, 'ERR_BUSY');
  }

  private predictJob(data: SequenceInputs, options: PredictOptions) {
    this.assertIdle('predict');
    checkObject('options', options);
    const outputs = options.outputs === undefined ? 'last' : checkChoice('options.outputs', options.outputs, LOSS_STEPS);
    const layout = inputLayout('data', data, this);
    const shape = nativeShape(this, layout.N, layout.T, outputs);
    const L = outputs === 'every' ? layout.T : 1;
    const O = new Float32Array(layout.N * L * this.outputSize);
    return { shape, args: { shape, ...layout.native, ...this.weights(), O } };
  }

  private evaluateJob(data: TrainingData, options: EvaluateOptions) {
    checkObject('options', options);
    const lossSteps = options.lossSteps === undefined ? 'last' : checkChoice('options.lossSteps', options.lossSteps, LOSS_STEPS);
    const inferred = lossForTargets((data as unknown as Record<string, unknown>)?.targets);
    const loss = options.loss === undefined ? inferred ?? 'softmax-cross-entropy' : checkChoice('options.loss', options.loss, LOSS_NAMES);
    const job = this.predictJob(data, { outputs: lossSteps });
    const targets = targetLayout('data.targets', data.targets, job.shape, loss, lossSteps);
    const K = this.outputSize;
    return {
      args: job.args,
      summarise: (): Evaluation => {
        const s = summariseLoss(job.args.O, K, targets);
        return { loss: s.sum / s.count, accuracy: loss === 'squared-error' ? NaN : s.correct / s.count, count: s.count };
      },
    };
  }
}
