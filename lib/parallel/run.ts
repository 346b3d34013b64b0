/**
 * A sharded run as the trainer holds it: a transport to the shards (by default one worker thread
 * per shard) and the coordinator that the trainer's step() (mode 'persistent': the data split
 * into contiguous shards) or epoch() (mode 'adjoint': every batch split into slices) drives.
 */
import type { TargetLayout } from '../data';
import { invalidRange } from '../errors';
import type { NativeInputs, NativeShape } from '../native';
import type { RNN } from '../rnn';
import type { ResolvedTrainerOptions } from '../admm/options';
import type { AdmmIterationRecord } from '../admm/record';
import { AdjointCoordinator } from './adjoint-coordinator';
import { AdjointShard } from './adjoint-shard';
import { ParallelCoordinator } from './coordinator';
import type { ResolvedParallelOptions } from './options';
import { PersistentShard } from './shard';
import { shardData, splitRows } from './split';
import { type ShardStart, ThreadTransport } from './threads';
import type { CoordinatorTransport } from './transport';

/** Starts the shards (in shard order) and returns the coordinator's side of their transport. */
export type Connect = (shards: ShardStart[]) => CoordinatorTransport;

const threads: Connect = (shards) => new ThreadTransport(shards);

export class ParallelRun {
  private constructor(
    readonly shape: NativeShape,
    readonly coordinator: ParallelCoordinator | AdjointCoordinator,
    readonly transport: CoordinatorTransport
  ) {}

  /** Bytes the shards' states take together (each shard allocates its own). */
  static bytesFor(
    shape: NativeShape,
    options: Readonly<ResolvedTrainerOptions>,
    workers: number,
    dense: boolean
  ): number {
    if (options.mode === 'adjoint')
      return workers * AdjointShard.bytesFor({ shape, batchSize: options.batchSize, shards: workers }, dense);
    const rows = splitRows(shape.N, workers);
    return rows.reduce((sum, [b, e]) => sum + PersistentShard.bytesFor({ ...shape, N: e - b }), 0);
  }

  static start(
    model: RNN,
    shape: NativeShape,
    inputs: NativeInputs,
    targets: TargetLayout,
    options: Readonly<ResolvedTrainerOptions>,
    parallel: ResolvedParallelOptions,
    connect: Connect = threads
  ): ParallelRun {
    if (parallel.workers > shape.N)
      throw invalidRange('options.parallel.workers', `at most the ${shape.N} sequences of the data`, parallel.workers);
    const { workers: shards, staleness } = parallel, classification = targets.loss === 'softmax-cross-entropy';
    if (options.mode === 'adjoint') {
      const data = { shape, inputs, targets, lossSteps: options.lossSteps, shards, batchSize: options.batchSize };
      const transport = connect(Array.from({ length: shards }, () => ({ kind: 'adjoint', data }) as const));
      const settings = { shards, staleness, trainer: options, classification };
      const coordinator = new AdjointCoordinator(model, shape, transport, settings);
      return new ParallelRun(shape, coordinator, transport);
    }
    const starts = splitRows(shape.N, shards).map(
      ([b, e]) => ({ kind: 'persistent', data: shardData(shape, inputs, targets, options.lossSteps, b, e) }) as const
    );
    const transport = connect(starts);
    const coordinator = new ParallelCoordinator(model, shape, transport, {
      shards, staleness, rho: options.rho, rhoPolicy: options.rhoPolicy, beta: options.beta * shape.N, classification,
    });
    return new ParallelRun(shape, coordinator, transport);
  }

  get iteration(): number {
    return this.coordinator.completed;
  }

  /** One iteration (mode 'persistent') or one epoch (mode 'adjoint'). */
  next(signal: AbortSignal | undefined, aborted: () => Error): Promise<AdmmIterationRecord> {
    const c = this.coordinator;
    return c instanceof ParallelCoordinator ? c.iteration(signal, aborted) : c.epoch(signal, aborted);
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
