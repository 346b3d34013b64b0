/**
 * AdmmTrainer: trains an RNN with ADMM. Mode 'persistent' is ADMMiRNN (METHOD.md) with one
 * method per block, SPORCO-style (persistent-run.ts); the default 'adjoint' and the other
 * resynchronised mini-batch modes run epochs of ResyncEngine (mini-batch-run.ts).
 * The fit loop itself is lib/training's, shared with BpttTrainer.
 *
 *   const trainer = new AdmmTrainer(model, { rho: [100, 100, 10] });
 *   const { history, status } = await trainer.fit(data, { maxIterations: 50, onIteration: console.log });
 *
 * fit() never blocks the event loop: the blocks run in native async workers, the
 * TypeScript-side dual updates yield between chunks, and a readoutRefit between L-BFGS iterations.
 */
import { type TrainingData, inputLayout, lossForTargets, nativeShape, targetLayout } from '../data';
import { AdmmError, invalidType } from '../errors';
import { checkMemory } from '../memory-limit';
import { refitReadoutAsync } from '../readout';
import { RNN } from '../rnn';
import { sharedCopyBytes, sharedInputs, sharedTargets } from '../in-shared-memory';
import { FitGuard, type FitStatus, Stop, drain } from '../training/fit-loop';
import { copyWeights, firstNonFinite } from '../training/rollback';
import { checkObject } from '../validate';
import { type BlockConfig, updateInputWeights, updateOutputs, updateOutputWeights, updatePreactivations, updateStates } from './blocks';
import { measureConstraints } from './chunked-sweep';
import { augmentedLagrangian } from './lagrangian';
import { type MiniBatchRun, markSchedule, miniBatchEpoch, startMiniBatchRun } from './mini-batch-run';
import {
  type AdmmTrainerOptions, type FitOptions, type ResolvedFitOptions, type ResolvedTrainerOptions, automaticChunkSize,
  resolveFitOptions, resolveTrainerOptions,
} from './options';
import { persistentIteration, startPersistentRun } from './persistent-run';
import { ParallelRun } from '../parallel/run';
import type { AdmmIterationRecord, FitResult } from './record';
import { ResyncEngine } from './resync';
import { AdmmState } from './state';
import {
  type AdmmRunSnapshot, type RunReadout, applySnapshot, readMiniBatchSnapshot, readRunReadout, takeSnapshot,
} from './snapshot';

/** An iteration interrupted by the fit's AbortSignal. */
class Aborted extends Error {}

export class AdmmTrainer {
  readonly model: RNN;
  readonly options: Readonly<ResolvedTrainerOptions>;
  private st: AdmmState | undefined;
  private batches: MiniBatchRun | undefined;
  /** A sharded persistent run (options.parallel): its state lives in its shards. */
  private par: ParallelRun | undefined;
  /** The (V, c) before the readoutRefit that ended the last fit: a resumed fit continues from it. */
  private runReadout: RunReadout | undefined;
  private readonly guard = new FitGuard('AdmmTrainer');
  /** The caller's input array of the current run (its state may hold a shared copy of it). */
  private source: Float32Array | Int32Array | undefined;

  constructor(model: RNN, options: AdmmTrainerOptions = {}) {
    if (!(model instanceof RNN)) throw invalidType('model', 'an RNN', model);
    this.model = model;
    this.options = resolveTrainerOptions(options);
  }

  /** The current auxiliaries, duals and ρ (undefined before the first fit or initialise). */
  get state(): AdmmState | undefined {
    return this.st;
  }

  private get blockConfig(): BlockConfig {
    return { linearized: this.options.update === 'linearized' };
  }

  /** The state, for the single-block methods: a chunked sweep has no whole-data a or s block. */
  private requireWholeState(): AdmmState {
    const st = this.requireState();
    if (st.chunked)
      throw new AdmmError(`the single-block methods need the unchunked state (this one sweeps chunks of ${st.chunkRows} sequences, from options.chunkSize or chosen automatically for large data; options.chunkSize ≥ N keeps it whole); use step()`, 'ERR_CHUNKED_STATE');
    return st;
  }

  private requireState(): AdmmState {
    const mode = this.options.mode;
    if (mode !== 'persistent')
      throw new AdmmError(`step() and the block methods belong to mode 'persistent', not '${mode}'; use epoch()`, 'ERR_WRONG_MODE');
    if (this.par) throw this.parallelState('the single-block methods and lagrangian()');
    if (!this.st) throw new AdmmError('call initialise(data) or fit(data) first', 'ERR_NOT_INITIALISED');
    return this.st;
  }

  private parallelState(what: string): AdmmError {
    return new AdmmError(`${what} need the run's state in this process; a parallel run (options.parallel) keeps it in its shards`, 'ERR_PARALLEL_STATE');
  }

  /**
   * Validates the data and starts a run. Persistent mode: auxiliaries from one forward pass
   * (every constraint holds), duals zero, ρ at its initial value. Mini-batch modes: the
   * per-batch buffers and the shuffling generator.
   */
  async initialise(data: TrainingData): Promise<void> {
    const model = this.model, o = this.options;
    const layout = inputLayout('data', data, model);
    const loss = o.loss ?? lossForTargets(data.targets);
    if (!loss) throw invalidType('data.targets', 'an Int32Array of class ids or a Float32Array of values', data.targets);
    const shape = nativeShape(model, layout.N, layout.T, o.lossSteps);
    const plainTargets = targetLayout('data.targets', data.targets, shape, loss, o.lossSteps);
    const chunkSize = o.chunkSize ?? (o.update === 'exact' && !o.parallel ? automaticChunkSize(shape.N, shape.T, shape.h) : undefined);
    const outputs = shape.N * (shape.everyStep ? shape.T : 1) * shape.K;
    const copies = sharedCopyBytes(layout.native, plainTargets);
    checkMemory(
      `AdmmTrainer (mode '${o.mode}') on N = ${shape.N}, T = ${shape.T}, h = ${shape.h}`,
      copies + (o.parallel
        ? ParallelRun.bytesFor(shape, o, o.parallel.workers, layout.native.x !== undefined)
        : o.mode === 'persistent'
        ? AdmmState.bytesFor(shape, chunkSize ?? shape.N)
        : ResyncEngine.bytesFor(shape, o, layout.native.x !== undefined, loss === 'squared-error') + 4 * outputs)
    );
    await this.closeParallel();
    this.st = this.batches = this.runReadout = undefined;
    this.source = layout.native.x ?? layout.native.ids;
    // The async kernels would copy data on plain ArrayBuffers at every call (in-shared-memory.ts).
    const inputs = sharedInputs(layout.native), targets = sharedTargets(plainTargets);
    if (o.parallel) this.par = ParallelRun.start(model, shape, inputs, targets, o, o.parallel);
    else if (o.mode !== 'persistent')
      this.batches = startMiniBatchRun(model, shape, inputs, targets, { ...o, mode: o.mode });
    else this.st = await startPersistentRun(model, shape, inputs, targets, o, chunkSize);
  }

  /**
   * A copy of what the run carries into its next iteration, for a checkpoint. Persistent mode:
   * auxiliaries, duals, ρ, θ, β and the iteration count. Mini-batch modes: the epoch count, the
   * next ρ and the shuffling generator. Both: the (V, c) to continue from if a readoutRefit
   * replaced the model's at the end of the last fit.
   */
  exportState(): AdmmRunSnapshot {
    const readout = this.runReadout && { readout: { V: this.runReadout.V.slice(), c: this.runReadout.c.slice() } };
    if (this.par) throw this.parallelState('exportState()');
    const run = this.batches;
    if (run)
      return { kind: 'mini-batch', iteration: run.epoch, rho: [...run.rho], rng: run.rng.getState(), ...readout };
    if (!this.st) throw new AdmmError('exportState: call initialise(data) or fit(data) first', 'ERR_NOT_INITIALISED');
    return { ...takeSnapshot(this.st), ...readout };
  }

  /**
   * Continues a run saved with exportState(): validates `data` as initialise() does (it must be
   * the data of the saved run), then copies the snapshot in; fit(data, { resume: true }) then
   * reproduces the uninterrupted run bit for bit, in every mode. On a bad snapshot the previous
   * state is kept. Returns the persistent mode's state (undefined in the mini-batch modes).
   */
  async restoreState(data: TrainingData, snapshot: AdmmRunSnapshot): Promise<AdmmState | undefined> {
    this.guard.assertIdle();
    checkObject('snapshot', snapshot);
    if (this.options.parallel) throw this.parallelState('restoreState()');
    const mode = this.options.mode;
    const schedule = mode === 'persistent' ? undefined : readMiniBatchSnapshot(snapshot, mode);
    const readout = readRunReadout(snapshot, this.model);
    const previous = { st: this.st, batches: this.batches, readout: this.runReadout };
    try {
      await this.initialise(data);
      if (schedule) Object.assign(this.batches!, { epoch: schedule.iteration, rho: schedule.rho, rng: schedule.rng });
      else applySnapshot(this.st!, snapshot);
    } catch (e) {
      ({ st: this.st, batches: this.batches, readout: this.runReadout } = previous);
      throw e;
    }
    this.runReadout = readout;
    return this.st;
  }

  // ---- the blocks, in METHOD.md's order -------------------------------------------------

  /** Block 1: (U, W, b). */
  updateInputWeights(): Promise<void> {
    return updateInputWeights(this.requireWholeState(), this.model, this.blockConfig);
  }
  /** Block 2: pre-activations a. */
  updatePreactivations(): Promise<void> {
    return updatePreactivations(this.requireWholeState(), this.model, this.blockConfig);
  }
  /** Block 3: states s. */
  updateStates(): Promise<void> {
    return updateStates(this.requireWholeState(), this.model, this.blockConfig);
  }
  /** Block 4: (V, c). */
  updateOutputWeights(): Promise<void> {
    return updateOutputWeights(this.requireWholeState(), this.model, this.blockConfig);
  }
  /** Block 5: outputs o. */
  updateOutputs(): Promise<void> {
    return updateOutputs(this.requireWholeState(), this.model);
  }
  /** Block 6 alone: the dual ascent at the current ρ (no ρ change). */
  async updateDuals(): Promise<void> {
    await measureConstraints(this.requireWholeState(), this.model, [1, 1, 1], true);
  }
  /** The augmented Lagrangian at the current point (summed-loss scale). */
  lagrangian(): Promise<number> {
    return augmentedLagrangian(this.requireState(), this.model);
  }

  /**
   * One ADMM iteration: the five primal blocks, the dual ascent (block 6), the ρ update,
   * then the true forward-pass loss. Throws if `signal` aborts between blocks.
   */
  async step(signal?: AbortSignal): Promise<AdmmIterationRecord> {
    if (this.par && this.options.mode === 'persistent') return this.par.next(signal, () => new Aborted());
    return persistentIteration(this.requireState(), this.model, this.options, signal, () => new Aborted());
  }

  /** Mini-batch modes: one epoch of resynchronised mini-batches, then the forward-pass loss. */
  async epoch(signal?: AbortSignal): Promise<AdmmIterationRecord> {
    const run = this.batches;
    if (this.options.mode === 'persistent')
      throw new AdmmError("epoch() belongs to the mini-batch modes, not 'persistent'; use step()", 'ERR_WRONG_MODE');
    if (this.par) return this.par.next(signal, () => new Aborted());
    if (!run) throw new AdmmError('epoch(): call initialise(data) or fit(data) first', 'ERR_NOT_INITIALISED');
    return miniBatchEpoch(run, this.model, this.options.rhoPolicy, signal, () => new Aborted());
  }

  /** The iteration count of the current run (0 before the first). */
  private get completed(): number {
    return this.st?.iteration ?? this.par?.iteration ?? this.batches?.epoch ?? 0;
  }

  /**
   * Runs iterations, yielding each record; the generator's return value is the FitResult.
   * Stopping: maxIterations, residual tolerances, loss plateau, AbortSignal, or onIteration
   * returning false. NaN/Inf or a failed factorisation ends the run with the last finite weights.
   */
  async *iterate(data: TrainingData, options: FitOptions = {}): AsyncGenerator<AdmmIterationRecord, FitResult, void> {
    const opts = resolveFitOptions(options);
    const start = () => (!opts.resume || !(this.st || this.par || this.batches) ? this.initialise(data) : this.resume(data));
    return yield* this.guard.run(this.model, opts, start, {
      next: (signal) => this.nextIteration(signal),
      converged: (record) => this.convergence(record, opts),
      conclude: (status) => this.concludeFit(data, status),
    });
  }

  private resume(data: TrainingData): void {
    this.checkResumable(data);
    if (this.runReadout) {
      this.model.V.set(this.runReadout.V);
      this.model.c.set(this.runReadout.c);
      this.runReadout = undefined;
    }
  }

  /** One iteration of the fit; on a failure or non-finite result the weights before it are restored. */
  private async nextIteration(signal: AbortSignal | undefined): Promise<AdmmIterationRecord | Stop> {
    if (signal?.aborted) return new Stop('aborted', `aborted before iteration ${this.completed + 1}`);
    const saved = copyWeights(this.model), restoreSchedule = markSchedule(this.batches);
    const poisoned = firstNonFinite(saved);
    if (poisoned)
      return new Stop('diverged', `model weights are not finite before iteration ${this.completed + 1}: ${poisoned}`);
    const persistent = this.options.mode === 'persistent';
    let record: AdmmIterationRecord;
    try {
      record = persistent ? await this.step(signal) : await this.epoch(signal);
    } catch (e) {
      this.model.setWeightsUnchecked(saved);
      restoreSchedule();
      return this.failure(e);
    }
    const lagrangian: Record<string, number> = persistent ? { lagrangian: record.lagrangian } : {};
    const bad = firstNonFinite({ loss: record.loss, ...lagrangian, ...this.model.weights() });
    if (!bad) return record;
    this.model.setWeightsUnchecked(saved);
    restoreSchedule();
    const message = `non-finite value at iteration ${record.iteration}: ${bad}; weights of the previous iteration kept`;
    return new Stop('diverged', message);
  }

  /** With readoutRefit, after a fit that kept finite weights: refits (V, c) without blocking the event loop. */
  private async concludeFit(data: TrainingData, status: FitStatus): Promise<Pick<FitResult, 'refit'> | undefined> {
    const finite = status !== 'diverged' && status !== 'singular' && status !== 'aborted';
    if (!this.options.readoutRefit || !finite) return undefined;
    // A resumed fit goes on from the readout before the refit, as the uninterrupted run would.
    this.runReadout = { V: this.model.V.slice(), c: this.model.c.slice() };
    await refitReadoutAsync(this.model, data, { lossSteps: this.options.lossSteps });
    this.model.unlock();  // the run is over: the weights are consistent
    const e = await this.model.evaluateAsync(data, { lossSteps: this.options.lossSteps, loss: this.options.loss });
    return { refit: { loss: e.loss, accuracy: e.accuracy } };
  }

  /**
   * Stops a parallel run's worker threads and frees its shards' state (a later fit starts afresh;
   * idle threads never keep the process alive, so this is for long-lived processes). No-op otherwise.
   */
  async close(): Promise<void> {
    this.guard.assertIdle();
    await this.closeParallel();
  }

  private async closeParallel(): Promise<void> {
    const par = this.par;
    this.par = undefined;
    await par?.close();
  }

  /** Runs iterate() to the end and returns its FitResult. */
  fit(data: TrainingData, options: FitOptions = {}): Promise<FitResult> {
    return drain(this.iterate(data, options));
  }

  private convergence(record: AdmmIterationRecord, opts: ResolvedFitOptions): string | undefined {
    const tol = opts.tolerance;
    if (!tol) return undefined;
    const p = record.primalResiduals;
    if (Math.max(p.a, p.s, p.o) <= tol.primal && record.dualResidual <= tol.dual)
      return `relative residuals within tolerance (primal ≤ ${tol.primal}, dual ≤ ${tol.dual})`;
    return undefined;
  }

  private failure(e: unknown): Stop {
    const iteration = this.completed + 1;
    if (e instanceof Aborted)
      return new Stop('aborted', `aborted during iteration ${iteration}; weights of the previous iteration kept`);
    const code = (e as { code?: string }).code;
    const message = (e as Error).message;
    if (code === 'ERR_NOT_POSITIVE_DEFINITE') return new Stop('singular', `iteration ${iteration}: ${message}`);
    if (code === 'ERR_NON_FINITE') return new Stop('diverged', `iteration ${iteration}: ${message}`);
    throw e;
  }

  private checkResumable(data: TrainingData): void {
    const run = (this.st ?? this.par ?? this.batches)!;
    const layout = inputLayout('data', data, this.model);
    if (layout.N !== run.shape.N || layout.T !== run.shape.T || (layout.native.x ?? layout.native.ids) !== this.source)
      throw invalidType('data', 'the same data the trainer was initialised with (resume: true)', data);
  }
}
