/**
 * A sharded persistent run as the trainer holds it: the data split into contiguous shards, a
 * transport to them (by default one worker thread per shard), and the coordinator that the
 * trainer's step() drives.
 */

/** Starts the shards of `shards` (their data, in shard order) and returns the coordinator's side. */
export type Connect = (shards: ShardData[]) => CoordinatorTransport;

const threads: Connect = (shards) => new ThreadTransport(shards);
import type { LossSteps, TargetLayout } from '../data';
import { invalidRange } from '../errors';
import type { NativeInputs, NativeShape } from '../native';
import type { RNN } from '../rnn';
import type { ResolvedTrainerOptions } from '../admm/options';
import type { AdmmIterationRecord } from '../admm/record';
import { ParallelCoordinator } from './coordinator';
import type { ResolvedParallelOptions } from './options';
import { PersistentShard, type ShardData } from './shard';
import { shardData, splitRows } from './split';
import { ThreadTransport } from './threads';
import type { CoordinatorTransport } from './transport';

export class ParallelRun {
  private constructor(
    readonly shape: NativeShape,
    readonly coordinator: ParallelCoordinator,
    readonly transport: CoordinatorTransport
  ) {}

  /** Bytes the shards' states take together (each shard allocates its own at its first round). */
  static bytesFor(shape: NativeShape, workers: number): number {
    return splitRows(shape.N, workers).reduce((sum, [b, e]) => sum + PersistentShard.bytesFor({ ...shape, N: e - b }), 0);
  }

  static start(
    model: RNN,
    shape: NativeShape,
    inputs: NativeInputs,
    targets: TargetLayout,
    options: Readonly<ResolvedTrainerOptions> & { lossSteps: LossSteps },
    parallel: ResolvedParallelOptions,
    connect: Connect = threads
  ): ParallelRun {
    if (parallel.workers > shape.N) throw invalidRange('options.parallel.workers', `at most the ${shape.N} sequences of the data`, parallel.workers);
    const shards = splitRows(shape.N, parallel.workers).map(([b, e]) => shardData(shape, inputs, targets, options.lossSteps, b, e));
    const transport = connect(shards);
    const coordinator = new ParallelCoordinator(model, shape, transport, {
      shards: shards.length,
      staleness: parallel.staleness,
      rho: options.rho,
      rhoPolicy: options.rhoPolicy,
      beta: options.beta * shape.N,
      classification: targets.loss === 'softmax-cross-entropy',
    });
    return new ParallelRun(shape, coordinator, transport);
  }

  get iteration(): number {
    return this.coordinator.completed;
  }

  step(signal: AbortSignal | undefined, aborted: () => Error): Promise<AdmmIterationRecord> {
    return this.coordinator.iteration(signal, aborted);
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
