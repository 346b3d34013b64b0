/**
 * AdmmTrainer: trains an RNN with ADMM, one engine per run (engine.ts): mode 'persistent' is
 * ADMMiRNN (docs/ALGORITHM.md; its blocks, persistent/blocks.ts, also callable one at a time,
 * SPORCO-style), the default 'adjoint' and the other mini-batch modes run resync/. The fit loop is
 * lib/training's, shared with BpttTrainer; `data` is validated once into a TrainingLayout.
 *
 *   const trainer = new AdmmTrainer(model, { rho: [100, 100, 10] });
 *   const { history, status } = await trainer.fit(data, { maxIterations: 50, onIteration: console.log });
 *
 * fit() never blocks the event loop: the blocks run in native async workers, the dual updates yield
 * between spans, a readoutRefit or warm start between slices of its L-BFGS work; a sharded run in shards.
 */
import type { TrainingData } from '../data';
import { AdmmError, invalidType } from '../errors';
import { refitLayoutAsync } from '../readout';
import { RNN } from '../rnn';
import { FitGuard, type FitStatus, Stop, drain } from '../training/fit-loop';
import { type TrainingLayout, evaluateLayout, runLayout, sameData, trainingLayout } from '../training/layout';
import { copyWeights, firstNonFinite } from '../training/rollback';
import { checkObject } from '../validate';
import { parallelState } from '../parallel/engine';
import {
  type AdmmEngine,
  type RunEngine,
  Aborted,
  checkRunMemory,
  failureStop,
  localPersistent,
  miniBatchStepper,
  persistentStepper,
  wholePersistent,
} from './engine';
import {
  type AdmmTrainerOptions,
  type FitOptions,
  type ResolvedTrainerOptions,
  resolveFitOptions,
  resolveTrainerOptions,
} from './options';
import { PersistentEngine } from './persistent/engine';
import { startRun } from './start-run';
import { withinTolerance } from './persistent/residuals';
import type { AdmmState } from './persistent/state';
import type { AdmmIterationRecord, FitResult, MiniBatchIterationRecord, PersistentIterationRecord } from './record';
import { type AdmmRunSnapshot, type RunReadout, readRunReadout } from './snapshot';

export class AdmmTrainer {
  readonly model: RNN;
  readonly options: Readonly<ResolvedTrainerOptions>;
  private engine: RunEngine | undefined;
  /** The (V, c) before the readoutRefit that ended the last fit: a resumed fit continues from it. */
  private runReadout: RunReadout | undefined;
  private readonly guard = new FitGuard('AdmmTrainer', AdmmError);

  constructor(model: RNN, options: AdmmTrainerOptions = {}) {
    if (!(model instanceof RNN)) throw invalidType('model', 'an RNN', model);
    this.model = model;
    this.options = resolveTrainerOptions(options);
  }

  /** The current auxiliaries, duals and ρ of mode 'persistent' (undefined before the first fit or initialise). */
  get state(): AdmmState | undefined {
    return this.engine instanceof PersistentEngine ? this.engine.state : undefined;
  }

  private layoutOf(data: TrainingData): TrainingLayout {
    return trainingLayout(data, this.model, { loss: this.options.loss, lossSteps: this.options.lossSteps });
  }

  /**
   * Validates the data and starts a run. Persistent mode: (V, c) refitted on the forward states
   * (options.warmStart), then auxiliaries from one forward pass (every constraint holds), duals
   * zero (or from the local dual walk, options.dualWalk), ρ initial. Mini-batch modes: the per-batch buffers and the shuffling generator.
   */
  async initialise(data: TrainingData): Promise<void> {
    await this.start(this.layoutOf(data));
  }

  /** `signal`: a fit's, which stops the start too (start-run.ts); `warm`: with the persistent warm start. */
  private async start(layout: TrainingLayout, signal?: AbortSignal, warm = true): Promise<Stop | undefined> {
    checkRunMemory(layout, this.options); // before the previous run is dropped
    // Before the first await; a Redis coordinator holds no data (its workers read their own rows).
    const kept = this.options.parallel?.transport === 'redis' ? layout : runLayout(layout);
    await this.closeEngine();
    this.runReadout = undefined;
    return startRun(this.model, kept, this.options, { warm, signal }, (engine) => (this.engine = engine));
  }

  /**
   * A copy of what the run carries into its next iteration, for a checkpoint. Persistent mode:
   * auxiliaries, duals, ρ, θ, β and the iteration count. Mini-batch modes: the epoch count, the
   * next ρ and the shuffling generator. Both: the (V, c) to continue from if a readoutRefit
   * replaced the model's at the end of the last fit.
   */
  exportState(): AdmmRunSnapshot {
    const readout = this.runReadout && { readout: { V: this.runReadout.V.slice(), c: this.runReadout.c.slice() } };
    if (!this.engine)
      throw new AdmmError('exportState: call initialise(data) or fit(data) first', 'ERR_NOT_INITIALISED');
    return { ...this.engine.exportState(), ...readout };
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
    if (this.options.parallel) throw parallelState('restoreState()');
    const readout = readRunReadout(snapshot, this.model);
    const previous = { engine: this.engine, readout: this.runReadout };
    try {
      await this.start(this.layoutOf(data), undefined, false); // a restored run has its own readout
      this.engine!.restore(snapshot);
    } catch (e) {
      ({ engine: this.engine, readout: this.runReadout } = previous);
      throw e;
    }
    this.runReadout = readout;
    return this.state;
  }

  // ---- the blocks, in docs/ALGORITHM.md's order (persistent/blocks.ts) ----------------------

  /** Block 1: (U, W, b). */
  updateInputWeights(): Promise<void> {
    return wholePersistent(this.engine, this.options.mode).runBlock(1);
  }
  /** Block 2: pre-activations a. */
  updatePreactivations(): Promise<void> {
    return wholePersistent(this.engine, this.options.mode).runBlock(2);
  }
  /** Block 3: states s. */
  updateStates(): Promise<void> {
    return wholePersistent(this.engine, this.options.mode).runBlock(3);
  }
  /** Block 4: (V, c). */
  updateOutputWeights(): Promise<void> {
    return wholePersistent(this.engine, this.options.mode).runBlock(4);
  }
  /** Block 5: outputs o. */
  updateOutputs(): Promise<void> {
    return wholePersistent(this.engine, this.options.mode).runBlock(5);
  }
  /** Block 6 alone: the dual ascent at the current ρ (no ρ change). */
  updateDuals(): Promise<void> {
    return wholePersistent(this.engine, this.options.mode).runBlock(6);
  }
  /** The augmented Lagrangian at the current point (summed-loss scale). */
  lagrangian(): Promise<number> {
    return localPersistent(this.engine, this.options.mode, 'lagrangian()').lagrangian();
  }

  /**
   * One ADMM iteration: the five primal blocks, the dual ascent (block 6), the ρ update,
   * then the true forward-pass loss. Throws if `signal` aborts between blocks.
   */
  async step(signal?: AbortSignal): Promise<PersistentIterationRecord> {
    return persistentStepper(this.engine, this.options.mode)(signal, () => new Aborted());
  }

  /** Mini-batch modes: one epoch of resynchronised mini-batches, then the forward-pass loss. */
  async epoch(signal?: AbortSignal): Promise<MiniBatchIterationRecord> {
    return miniBatchStepper(this.engine, this.options.mode)(signal, () => new Aborted());
  }

  /**
   * Ends the run: a parallel run's worker threads or processes stop and its shards' state is freed
   * (a later fit starts afresh; idle threads never keep the process alive). Cheap otherwise.
   */
  async close(): Promise<void> {
    this.guard.assertIdle();
    await this.closeEngine();
  }

  private async closeEngine(): Promise<void> {
    const engine: AdmmEngine | undefined = this.engine;
    this.engine = undefined;
    await engine?.close?.();
  }

  /**
   * Runs iterations, yielding each record; the generator's return value is the FitResult.
   * Stopping: maxIterations, residual tolerances, loss plateau, AbortSignal, or onIteration
   * returning false. NaN/Inf or a failed factorisation ends the run with the last finite weights.
   */
  async *iterate(data: TrainingData, options: FitOptions = {}): AsyncGenerator<AdmmIterationRecord, FitResult, void> {
    const opts = resolveFitOptions(options);
    const layout = this.layoutOf(data);
    const start = () => (opts.resume && this.engine ? this.resume(data, layout) : this.start(layout, opts.signal));
    return yield* this.guard.run(this.model, opts, start, {
      next: (signal) => this.nextIteration(signal),
      converged: (record) => withinTolerance(record, opts.tolerance),
      conclude: (status) => this.concludeFit(this.engine?.layout ?? layout, status),
    });
  }

  private resume(data: TrainingData, layout: TrainingLayout): void {
    if (!sameData(layout, this.engine!.layout))
      throw invalidType('data', 'the same data the trainer was initialised with (resume: true)', data);
    if (this.runReadout) {
      this.model.V.set(this.runReadout.V);
      this.model.c.set(this.runReadout.c);
      this.runReadout = undefined;
    }
  }

  /** One iteration of the fit; on a failure or non-finite result the weights before it are restored. */
  private async nextIteration(signal: AbortSignal | undefined): Promise<AdmmIterationRecord | Stop> {
    const engine: AdmmEngine = this.engine!;
    if (signal?.aborted) return new Stop('aborted', `aborted before iteration ${engine.iteration + 1}`);
    const saved = copyWeights(this.model),
      restoreSchedule = engine.mark();
    const poisoned = firstNonFinite(saved);
    if (poisoned)
      return new Stop('diverged', `model weights are not finite before iteration ${engine.iteration + 1}: ${poisoned}`);
    let record: AdmmIterationRecord;
    try {
      record = await engine.next(signal, () => new Aborted());
    } catch (e) {
      this.model.setWeightsUnchecked(saved);
      restoreSchedule();
      return failureStop(e, engine.iteration + 1);
    }
    const lagrangian: Record<string, number> = record.kind === 'persistent' ? { lagrangian: record.lagrangian } : {};
    const bad = firstNonFinite({ loss: record.loss, ...lagrangian, ...this.model.weights() });
    if (!bad) return record;
    this.model.setWeightsUnchecked(saved);
    restoreSchedule();
    const message = `non-finite value at iteration ${record.iteration}: ${bad}; weights of the previous iteration kept`;
    return new Stop('diverged', message);
  }

  /** With readoutRefit, after a fit that kept finite weights: refits (V, c) without blocking the event loop. */
  private async concludeFit(layout: TrainingLayout, status: FitStatus): Promise<Pick<FitResult, 'refit'> | undefined> {
    const finite = status !== 'diverged' && status !== 'singular' && status !== 'aborted';
    if (!this.options.readoutRefit || !finite) return undefined;
    // A resumed fit goes on from the readout before the refit, as the uninterrupted run would.
    this.runReadout = { V: this.model.V.slice(), c: this.model.c.slice() };
    await refitLayoutAsync(this.model, layout);
    return { refit: await evaluateLayout(this.model, layout) };
  }

  /** Runs iterate() to the end and returns its FitResult. */
  fit(data: TrainingData, options: FitOptions = {}): Promise<FitResult> {
    return drain(this.iterate(data, options));
  }
}
