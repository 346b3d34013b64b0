/**
 * The engine of the resynchronised mini-batch modes ('adjoint', 'local-duals', 'sweeps'): what a
 * run keeps between epochs, and one epoch of it — the ResyncEngine's pass over the shuffled
 * batches, the ρ schedule, then the true forward-pass loss.
 */
import { type NativeInputs, native } from '../../native';
import { sharedFloats, sharedInputs, sharedTargets } from '../../in-shared-memory';
import { Random } from '../../random';
import type { RNN } from '../../rnn';
import { type TrainingLayout, lossOf } from '../../training/layout';
import type { AdmmEngine } from '../engine';
import type { ResolvedTrainerOptions } from '../options';
import type { MiniBatchIterationRecord } from '../record';
import { type Triple, nextRho } from '../rho';
import { type MiniBatchStateSnapshot, readMiniBatchSnapshot } from '../snapshot';
import { ResyncEngine, type ResyncMode } from './engine';

export class MiniBatchEngine implements AdmmEngine<MiniBatchIterationRecord> {
  private readonly engine: ResyncEngine;
  private rng: Random;
  private rho: Triple;
  private epoch = 0;
  private readonly forwardOutputs: Float32Array;
  private readonly inputs: NativeInputs;

  /** A run at epoch 0: the engine's per-batch buffers, the shuffling generator, ρ initial. */
  constructor(
    private readonly model: RNN,
    readonly layout: TrainingLayout,
    private readonly options: Readonly<ResolvedTrainerOptions> & { mode: ResyncMode }
  ) {
    const { shape } = layout;
    // The async kernels would copy data on plain ArrayBuffers at every call (in-shared-memory.ts).
    this.inputs = sharedInputs(layout.inputs);
    this.engine = new ResyncEngine(model, shape, this.inputs, sharedTargets(layout.targets), options);
    const outputs = shape.N * (shape.everyStep ? shape.T : 1) * shape.K;
    this.rng = new Random(options.seed);
    this.rho = [...options.rho];
    this.forwardOutputs = sharedFloats(outputs);
  }

  get iteration(): number {
    return this.epoch;
  }

  /** One epoch; throws `aborted()` if `signal` aborts between mini-batches. */
  async next(signal: AbortSignal | undefined, aborted: () => Error): Promise<MiniBatchIterationRecord> {
    const started = performance.now();
    const rho: Triple = [...this.rho];
    const summary = await this.engine.epoch(rho, this.rng, signal, aborted);
    this.rho = nextRho(this.options.rhoPolicy, rho);
    const { shape } = this.layout;
    await native.forwardAsync({ shape, ...this.inputs, ...this.model.weights(), O: this.forwardOutputs });
    const seconds = (performance.now() - started) / 1000;
    return {
      kind: 'mini-batch',
      iteration: ++this.epoch,
      ...lossOf(this.forwardOutputs, this.layout),
      auxiliaryLoss: summary.auxiliaryLoss,
      rho,
      stepSignal: summary.stepSignal,
      seconds,
      elapsed: seconds,
    };
  }

  /** A function that puts the run's epoch count, ρ and generator back as they are now. */
  mark(): () => void {
    const { epoch, rho } = this, rng = this.rng.getState();
    return () => {
      this.epoch = epoch;
      this.rho = rho;
      this.rng = Random.fromState(rng);
    };
  }

  exportState(): MiniBatchStateSnapshot {
    return { kind: 'mini-batch', iteration: this.epoch, rho: [...this.rho], rng: this.rng.getState() };
  }

  restore(snapshot: unknown): void {
    const schedule = readMiniBatchSnapshot(snapshot, this.options.mode);
    this.epoch = schedule.iteration;
    this.rho = schedule.rho;
    this.rng = schedule.rng;
  }
}
