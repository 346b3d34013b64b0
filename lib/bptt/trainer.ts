/**
 * BpttTrainer: trains the same RNN as AdmmTrainer by backpropagation through time with the
 * torch.optim optimizers the paper compares against. Same interface shape as AdmmTrainer:
 *
 *   const trainer = new BpttTrainer(model, { optimizer: { kind: 'adam' }, batchSize: 128 });
 *   const { history, status } = await trainer.fit(data, { maxIterations: 10, onIteration: console.log });
 *
 * One iteration is one epoch. Each mini-batch minimises the mean loss per loss term of the
 * batch (torch's reduction = 'mean'); the reported `loss` is the same mean over the training set.
 * fit() never blocks the event loop: every mini-batch runs in the native async twin.
 */
import { FitGuard, Stop, drain } from '../training/fit-loop';
import { type TrainingData, inputLayout, lossForTargets, nativeShape, targetLayout, type TargetLayout } from '../data';
import { invalidType } from '../errors';
import { type NativeInputs, type NativeShape, native } from '../native';
import { Random, type RandomState } from '../random';
import { RNN, type WeightName } from '../rnn';
import { epochBatches } from '../training/batches';
import { clipGradNorm, globalNorm } from './clipping';
import {
  type BpttFitOptions,
  type BpttTrainerOptions,
  type ResolvedBpttOptions,
  resolveBpttFitOptions,
  resolveBpttOptions,
} from './options';
import { type Optimizer, type OptimizerState, createOptimizer } from './optimizers';
import { checkInteger, checkObject } from '../validate';
import { checkMemory } from '../memory-limit';
import { keptInputs, keptTargets, sharedCopyBytes, sharedFloats } from '../in-shared-memory';
import type { BpttEpochRecord, BpttFitResult } from './record';

const WEIGHTS: readonly WeightName[] = ['U', 'W', 'b', 'V', 'c'];

/** Validated training data as the native op takes it. */
interface Job {
  shape: NativeShape;
  inputs: NativeInputs;
  targets: TargetLayout;
  /** Consecutive sample ranges for the epoch's training-set loss (bounded workspace, yields between them). */
  evaluationBatches: Int32Array[];
}

/**
 * What a BPTT run carries from one epoch to the next, so fit(…, { resume: true }) on a new
 * trainer continues it bit for bit: the epochs done, the optimizer and the shuffling generator.
 */
export interface BpttStateSnapshot {
  /** Completed epochs. */
  iteration: number;
  /** Buffers per weight in the order U, W, b, V, c. */
  optimizer: OptimizerState;
  rng: RandomState;
}

/** Samples per native call when measuring the training-set loss. */
const EVALUATION_BATCH = 512;

function allFinite(arrays: readonly Float32Array[]): boolean {
  for (const a of arrays) for (let i = 0; i < a.length; i++) if (a[i] - a[i] !== 0) return false;
  return true;
}

export class BpttTrainer {
  readonly model: RNN;
  readonly options: Readonly<ResolvedBpttOptions>;
  private optimizer: Optimizer;
  private rng: Random;
  private epoch = 0;
  private readonly guard = new FitGuard('BpttTrainer');
  /** Gradient buffers, one per weight, and a copy of the weights before each update. */
  private readonly grads: Record<WeightName, Float32Array>;
  private readonly saved: Record<WeightName, Float32Array>;

  constructor(model: RNN, options: BpttTrainerOptions = {}) {
    if (!(model instanceof RNN)) throw invalidType('model', 'an RNN', model);
    this.model = model;
    this.options = resolveBpttOptions(options);
    this.optimizer = createOptimizer(this.options.optimizer, 'options.optimizer');
    this.rng = new Random(this.options.seed);
    const w = model.weights();
    // Written by every async gradient call: on shared memory, used in place (in-shared-memory.ts).
    const grads = WEIGHTS.map((k) => [k, sharedFloats(w[k].length)]);
    this.grads = Object.fromEntries(grads) as Record<WeightName, Float32Array>;
    this.saved = Object.fromEntries(WEIGHTS.map((k) => [k, new Float32Array(w[k].length)])) as Record<
      WeightName,
      Float32Array
    >;
  }

  /** Optimizer updates made so far (mini-batches). */
  get steps(): number {
    return this.optimizer.steps;
  }

  /** A copy of the run's epoch count, optimizer state and shuffling generator (for a checkpoint). */
  exportState(): BpttStateSnapshot {
    return { iteration: this.epoch, optimizer: this.optimizer.exportState(), rng: this.rng.getState() };
  }

  /**
   * Continues a run saved with exportState() on this trainer's model: fit(data, { resume: true })
   * then reproduces the uninterrupted run. Checks everything first; a bad snapshot changes nothing.
   */
  restoreState(snapshot: BpttStateSnapshot): void {
    this.guard.assertIdle();
    checkObject('snapshot', snapshot);
    const iteration = checkInteger('snapshot.iteration', snapshot.iteration, 0);
    const rng = Random.fromState(snapshot.rng, 'snapshot.rng');
    const optimizer = createOptimizer(this.options.optimizer, 'options.optimizer');
    const weights = this.model.weights();
    optimizer.restoreState(
      snapshot.optimizer,
      WEIGHTS.map((k) => weights[k].length),
      'snapshot.optimizer'
    );
    this.optimizer = optimizer;
    this.rng = rng;
    this.epoch = iteration;
  }

  /**
   * Runs epochs, yielding each record; the generator's return value is the FitResult.
   * Stopping: maxIterations (epochs), loss plateau, AbortSignal (checked between mini-batches),
   * or onIteration returning false. A non-finite loss, gradient or weight ends the run with
   * status 'diverged' and the weights from before the offending update.
   */
  async *iterate(
    data: TrainingData,
    options: BpttFitOptions = {}
  ): AsyncGenerator<BpttEpochRecord, BpttFitResult, void> {
    const opts = resolveBpttFitOptions(options);
    const job = this.prepare(data);
    const start = () => {
      if (opts.resume) return;
      this.optimizer = createOptimizer(this.options.optimizer, 'options.optimizer');
      this.rng = new Random(this.options.seed);
      this.epoch = 0;
    };
    return yield* this.guard.run(this.model, opts, start, { next: (signal) => this.runEpoch(job, signal) });
  }

  /** Runs iterate() to the end and returns its FitResult. */
  fit(data: TrainingData, options: BpttFitOptions = {}): Promise<BpttFitResult> {
    return drain(this.iterate(data, options));
  }

  /** Σ loss, hits and count of the true forward pass over the training set. */
  private async trainingLoss(job: Job): Promise<{ loss: number; correct: number; count: number }> {
    const total = { loss: 0, correct: 0, count: 0 };
    for (const batch of job.evaluationBatches) {
      const r = await native.bpttLossAsync({
        shape: job.shape,
        ...job.inputs,
        ...job.targets,
        ...this.model.weights(),
        batch,
        batchSize: batch.length,
      });
      total.loss += r.loss;
      total.correct += r.correct;
      total.count += r.count;
    }
    return total;
  }

  private prepare(data: TrainingData): Job {
    const layout = inputLayout('data', data, this.model);
    const loss = this.options.loss ?? lossForTargets((data as unknown as Record<string, unknown>).targets);
    if (!loss)
      throw invalidType('data.targets', 'an Int32Array of class ids or a Float32Array of values', data.targets);
    const shape = nativeShape(this.model, layout.N, layout.T, this.options.lossSteps);
    const targets = targetLayout('data.targets', data.targets, shape, loss, this.options.lossSteps);
    const bytes = sharedCopyBytes(layout.native, targets) + this.workspaceBytes(shape);
    checkMemory(`BpttTrainer on N = ${shape.N}, T = ${shape.T}, h = ${shape.h}`, bytes);
    // Every mini-batch call reads the whole data: a plain ArrayBuffer would be copied each time.
    const evaluationBatches = epochBatches(shape.N, EVALUATION_BATCH, undefined);
    return { shape, inputs: keptInputs(layout.native), targets: keptTargets(targets), evaluationBatches };
  }

  /**
   * The optimizer's state (at most two buffers per weight) and the kernel's workspace for the
   * largest batch it sees (a mini-batch or an evaluation batch): states, their gradients and the
   * batch's inputs (T·B·(2h + d)) and outputs (B·L·K).
   */
  private workspaceBytes(shape: NativeShape): number {
    const parameters = Object.values(this.model.weights()).reduce((n, w) => n + w.length, 0);
    const B = Math.min(shape.N, Math.max(this.options.batchSize, EVALUATION_BATCH)),
      L = shape.everyStep ? shape.T : 1;
    return 4 * (2 * parameters + shape.T * B * (2 * shape.h + shape.d) + B * L * shape.K);
  }

  /** One pass over the shuffled mini-batches, then the training-set forward pass. */
  private async runEpoch(job: Job, signal: AbortSignal | undefined): Promise<BpttEpochRecord | Stop> {
    const started = performance.now();
    const { shape } = job;
    const epoch = this.epoch + 1;
    const L = shape.everyStep ? shape.T : 1;
    const weights = this.model.weights();
    const params = WEIGHTS.map((k) => weights[k]);
    const grads = WEIGHTS.map((k) => this.grads[k]);
    const stepNorms = sharedFloats(shape.T);
    const stepNormSum = new Float64Array(shape.T);
    let normSum = 0,
      normMax = 0,
      clipped = 0,
      lossSum = 0;
    const batches = epochBatches(shape.N, this.options.batchSize, this.options.shuffle ? this.rng : undefined);
    for (let k = 0; k < batches.length; k++) {
      if (signal?.aborted) return new Stop('aborted', `aborted during iteration ${epoch} after ${k} mini-batches`);
      const batch = batches[k];
      const r = await native.bpttGradientsAsync({
        shape,
        ...job.inputs,
        ...job.targets,
        ...weights,
        gU: this.grads.U,
        gW: this.grads.W,
        gb: this.grads.b,
        gV: this.grads.V,
        gc: this.grads.c,
        stepNorms,
        batch,
        batchSize: batch.length,
        scale: 1 / (batch.length * L),
      });
      const norm =
        this.options.clipGradNorm === undefined ? globalNorm(grads) : clipGradNorm(grads, this.options.clipGradNorm);
      if (!Number.isFinite(r.loss) || !Number.isFinite(norm))
        return new Stop(
          'diverged',
          `non-finite ${Number.isFinite(r.loss) ? 'gradient' : 'loss'} at iteration ${epoch}, mini-batch ${k + 1}; weights before it kept`
        );
      const current = this.model.weights(); // a RangeError if one was transferred meanwhile
      WEIGHTS.forEach((w) => this.saved[w].set(current[w]));
      this.optimizer.step(params, grads);
      if (!allFinite(params)) {
        this.model.setWeightsUnchecked(this.saved);
        return new Stop(
          'diverged',
          `non-finite weights after the update of iteration ${epoch}, mini-batch ${k + 1}; weights before it kept`
        );
      }
      lossSum += r.loss / r.count;
      normSum += norm;
      normMax = Math.max(normMax, norm);
      if (this.options.clipGradNorm !== undefined && this.options.clipGradNorm / (norm + 1e-6) < 1) clipped++;
      for (let t = 0; t < shape.T; t++) stepNormSum[t] += stepNorms[t];
    }
    const trainSeconds = (performance.now() - started) / 1000;
    const forward = await this.trainingLoss(job);
    const loss = forward.loss / forward.count;
    if (!Number.isFinite(loss))
      return new Stop('diverged', `non-finite training loss after iteration ${epoch}; its weights kept (all finite)`);
    this.epoch = epoch;
    const n = Math.max(batches.length, 1);
    const seconds = (performance.now() - started) / 1000;
    return {
      iteration: epoch,
      loss,
      accuracy: job.targets.loss === 'softmax-cross-entropy' ? forward.correct / forward.count : NaN,
      batchLoss: lossSum / n,
      gradientNorm: normSum / n,
      maxGradientNorm: normMax,
      clippedBatches: clipped,
      stepGradientNorms: Array.from(stepNormSum, (v) => v / n),
      seconds,
      trainSeconds,
      elapsed: seconds,
    };
  }
}
