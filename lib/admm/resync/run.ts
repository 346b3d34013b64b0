/**
 * What a run of the resynchronised mini-batch modes ('adjoint', 'local-duals', 'sweeps') keeps
 * between epochs, and one epoch of it: the engine's pass over the shuffled batches (through the
 * step safeguard), the ρ schedule, then the true forward-pass loss. MiniBatchEngine is the run behind AdmmEngine.
 */
import type { TargetLayout } from '../../data';
import { native, type NativeInputs, type NativeShape } from '../../native';
import { sharedFloats, sharedInputs, sharedTargets } from '../../in-shared-memory';
import { Random, type RandomState } from '../../random';
import type { RNN } from '../../rnn';
import { type TrainingLayout, lossOf } from '../../training/layout';
import { type EpochLoss, guardedEpoch } from '../guarded-batch';
import type { AdmmEngine } from '../engine';
import type { ResolvedTrainerOptions } from '../options';
import type { MiniBatchIterationRecord } from '../record';
import { ResyncEngine, type ResyncMode } from './engine';
import { type Triple, nextRho } from '../rho';
import { type MiniBatchStateSnapshot, readMiniBatchSnapshot } from '../snapshot';

export interface MiniBatchRun {
  shape: NativeShape;
  inputs: NativeInputs;
  targets: TargetLayout;
  engine: ResyncEngine;
  rng: Random;
  rho: Triple;
  epoch: number;
  forwardOutputs: Float32Array;
}

/** A run at epoch 0: the engine's per-batch buffers, the shuffling generator, ρ initial. */
export function startMiniBatchRun(
  model: RNN,
  shape: NativeShape,
  inputs: NativeInputs,
  targets: TargetLayout,
  options: Readonly<ResolvedTrainerOptions> & { mode: ResyncMode }
): MiniBatchRun {
  const engine = new ResyncEngine(model, shape, inputs, targets, options);
  const outputs = shape.N * (shape.everyStep ? shape.T : 1) * shape.K;
  const rng = new Random(options.seed);
  const forwardOutputs = sharedFloats(outputs);
  return { shape, inputs, targets, engine, rng, rho: [...options.rho], epoch: 0, forwardOutputs };
}

/**
 * One epoch; throws `aborted()` if `signal` aborts between mini-batches. With the step safeguard,
 * a pass whose training loss rose is undone and run again at a larger ρ (step-safeguard.ts).
 */
export async function miniBatchEpoch(
  run: MiniBatchRun,
  model: RNN,
  rhoPolicy: ResolvedTrainerOptions['rhoPolicy'],
  signal: AbortSignal | undefined,
  aborted: () => Error
): Promise<MiniBatchIterationRecord> {
  const started = performance.now();
  const rho: Triple = [...run.rho];
  const guard = run.engine.safeguard;
  const generator = { state: () => run.rng.getState(), rewind: (s: RandomState) => (run.rng = Random.fromState(s)) };
  const { pass: summary, forward } = await guardedEpoch(
    guard,
    model,
    generator,
    () => run.engine.epoch(rho, run.rng, signal, aborted),
    () => forwardLoss(run, model)
  );
  run.rho = nextRho(rhoPolicy, rho);
  const seconds = (performance.now() - started) / 1000;
  return {
    kind: 'mini-batch',
    iteration: ++run.epoch,
    loss: forward.loss,
    accuracy: forward.accuracy,
    auxiliaryLoss: summary.auxiliaryLoss,
    rho,
    stepSignal: summary.stepSignal,
    ...(guard ? { safeguard: guard.takeEpoch(rho) } : {}),
    seconds,
    elapsed: seconds,
  };
}

/** The true forward pass over the training set with the model's weights: mean loss and accuracy. */
async function forwardLoss(run: MiniBatchRun, model: RNN): Promise<EpochLoss> {
  await native.forwardAsync({ shape: run.shape, ...run.inputs, ...model.weights(), O: run.forwardOutputs });
  return lossOf(run.forwardOutputs, run);
}

/** A function that puts the run's epoch count, ρ, generator and safeguard state back as they are now. */
export function markSchedule(run: MiniBatchRun): () => void {
  const { epoch, rho } = run,
    rng = run.rng.getState(),
    guard = run.engine.safeguard,
    state = guard?.snapshot();
  return () => {
    Object.assign(run, { epoch, rho, rng: Random.fromState(rng) });
    if (guard && state) guard.restart(state);
  };
}

/** The mini-batch modes' run behind the trainer's AdmmEngine interface. */
export class MiniBatchEngine implements AdmmEngine<MiniBatchIterationRecord> {
  private readonly run: MiniBatchRun;

  constructor(
    private readonly model: RNN,
    readonly layout: TrainingLayout,
    private readonly options: Readonly<ResolvedTrainerOptions> & { mode: ResyncMode }
  ) {
    // The async kernels would copy data on plain ArrayBuffers at every call (in-shared-memory.ts).
    const inputs = sharedInputs(layout.inputs),
      targets = sharedTargets(layout.targets);
    this.run = startMiniBatchRun(model, layout.shape, inputs, targets, options);
  }

  get iteration(): number {
    return this.run.epoch;
  }

  next(signal: AbortSignal | undefined, aborted: () => Error): Promise<MiniBatchIterationRecord> {
    return miniBatchEpoch(this.run, this.model, this.options.rhoPolicy, signal, aborted);
  }

  mark(): () => void {
    return markSchedule(this.run);
  }

  exportState(): MiniBatchStateSnapshot {
    const { epoch, rho, rng } = this.run,
      guard = this.run.engine.safeguard;
    const safeguard = guard && { safeguard: guard.snapshot() };
    return { kind: 'mini-batch', iteration: epoch, rho: [...rho], rng: rng.getState(), ...safeguard };
  }

  restore(snapshot: unknown): void {
    const schedule = readMiniBatchSnapshot(snapshot, this.options.mode);
    Object.assign(this.run, { epoch: schedule.iteration, rho: schedule.rho, rng: schedule.rng });
    this.run.engine.safeguard?.restart(schedule.safeguard);
  }
}
