/**
 * The trainer's third engine (lib/admm/engine.ts), chosen when options.parallel is set: a
 * transport to the shards (by default one worker thread per shard) and the coordinator that
 * step() (mode 'persistent': the data split into contiguous shards) or epoch() (the mini-batch
 * modes: every batch split into slices) drives. The run's state lives in the shards, so the methods
 * that need it in this process throw ERR_PARALLEL_STATE.
 */
import { AdmmError, invalidRange } from '../errors';
import { sharedInputs, sharedTargets } from '../in-shared-memory';
import type { NativeShape } from '../native';
import type { RNN } from '../rnn';
import type { TrainingLayout } from '../training/layout';
import type { AdmmEngine } from '../admm/engine';
import type { ResolvedTrainerOptions } from '../admm/options';
import type { AdmmIterationRecord, MiniBatchIterationRecord, PersistentIterationRecord } from '../admm/record';
import { MiniBatchCoordinator } from './mini-batch-coordinator';
import { MiniBatchShard } from './mini-batch-shard';
import { type CoordinatorOptions, ParallelCoordinator, coordinatorOptions } from './coordinator';
import { CoordinatorCheckpoints } from './recovery';
import type { ResolvedParallelOptions } from './options';
import { PersistentShard } from './shard';
import { runConfig } from './run-config';
import { splitRows } from './split';
import { shardStarts } from './starts';
import { type ShardStart, ThreadTransport } from './threads';
import type { CoordinatorTransport } from './transport';

/** Starts the shards (in shard order) and returns the coordinator's side of their transport. */
export type Connect = (shards: ShardStart[]) => CoordinatorTransport | Promise<CoordinatorTransport>;

const threads: Connect = (shards) => new ThreadTransport(shards);

/** The coordinator's side of a Redis run: it publishes the configuration the workers rebuild their shards from. */
function redis(
  layout: TrainingLayout,
  options: Readonly<ResolvedTrainerOptions>,
  p: ResolvedParallelOptions & { transport: 'redis' }
): Connect {
  return async () => {
    const { text, hash } = runConfig(layout, options, p.shards, p.data, p.checkpoints);
    const { RedisCoordinatorTransport } = await import('./redis/coordinator');
    const { url, run, shards, leaseMs } = p;
    const connect = () =>
      RedisCoordinatorTransport.connect({ url, run, shards, configHash: hash, config: text, leaseMs });
    if (!p.checkpoints) return connect();
    // A restarted coordinator waits out the lease its killed predecessor still holds.
    const deadline = performance.now() + 2 * leaseMs;
    for (;;) {
      try {
        return await connect();
      } catch (e) {
        if ((e as { code?: unknown }).code !== 'ERR_LEASE_HELD' || performance.now() > deadline) throw e;
        await new Promise((resolve) => setTimeout(resolve, Math.min(250, leaseMs / 4)));
      }
    }
  };
}

/** A Redis run's recovery settings for its coordinator (undefined without checkpoints). */
function recoveryOf(
  p: ResolvedParallelOptions,
  transport: CoordinatorTransport
): CoordinatorOptions['recovery'] | undefined {
  if (p.transport !== 'redis' || !p.checkpoints) return undefined;
  const configHash = (transport as { configHash?: string }).configHash;
  if (typeof configHash !== 'string') throw new Error('a transport with recovery must name its configuration hash');
  const id = { run: p.run, shards: p.shards, configHash };
  const { dir, every } = p.checkpoints;
  return {
    every,
    checkpoints: new CoordinatorCheckpoints(dir, id),
    replacementMs: p.replacementMs,
    onRecovery: p.onRecovery,
  };
}

/** Why `what` is refused on a parallel run. */
export function parallelState(what: string): AdmmError {
  const where = 'a parallel run (options.parallel) keeps it in its shards';
  return new AdmmError(`${what} needs the run's state in this process; ${where}`, 'ERR_PARALLEL_STATE');
}

export class ParallelEngine implements AdmmEngine {
  private constructor(
    readonly layout: TrainingLayout,
    readonly coordinator: ParallelCoordinator | MiniBatchCoordinator,
    readonly transport: CoordinatorTransport
  ) {}

  /** Bytes the shards' states take together in this process (each shard allocates its own; Redis: none here). */
  static bytesFor(
    shape: NativeShape,
    options: Readonly<ResolvedTrainerOptions>,
    parallel: ResolvedParallelOptions,
    dense: boolean
  ): number {
    if (parallel.transport === 'redis') return 0;
    const workers = parallel.shards;
    if (options.mode !== 'persistent') {
      const data = { shape, batchSize: options.batchSize, shards: workers, multipliers: options };
      return workers * MiniBatchShard.bytesFor(data, dense);
    }
    const rows = splitRows(shape.N, workers);
    return rows.reduce((sum, [b, e]) => sum + PersistentShard.bytesFor({ ...shape, N: e - b }), 0);
  }

  static async start(
    model: RNN,
    layout: TrainingLayout,
    options: Readonly<ResolvedTrainerOptions>,
    parallel: ResolvedParallelOptions,
    connect: Connect = parallel.transport === 'redis' ? redis(layout, options, parallel) : threads
  ): Promise<ParallelEngine> {
    const { shape } = layout;
    const { shards, staleness } = parallel,
      classification = layout.loss === 'softmax-cross-entropy';
    if (shards > shape.N) {
      const name = parallel.transport === 'redis' ? 'options.parallel.shards' : 'options.parallel.workers';
      throw invalidRange(name, `at most the ${shape.N} sequences of the data`, shards);
    }
    // Thread shards read the data in place (in-shared-memory.ts): a thread transport shares, not
    // copies, it. Redis workers load their own rows: this process keeps no second copy.
    const data =
      parallel.transport === 'redis'
        ? { shape, inputs: layout.inputs, targets: layout.targets }
        : { shape, inputs: sharedInputs(layout.inputs), targets: sharedTargets(layout.targets) };
    const transport = await connect(shardStarts(data, options, shards));
    const recovery = recoveryOf(parallel, transport);
    const coordinator =
      options.mode === 'persistent'
        ? new ParallelCoordinator(model, shape, transport, {
            ...coordinatorOptions(options, layout, shards, staleness),
            recovery,
          })
        : new MiniBatchCoordinator(model, shape, transport, {
            shards,
            staleness,
            trainer: options,
            classification,
            recovery,
          });
    try {
      await coordinator.start();
    } catch (e) {
      await transport.close();
      throw e;
    }
    return new ParallelEngine(layout, coordinator, transport);
  }

  get iteration(): number {
    return this.coordinator.completed;
  }

  /** One iteration (mode 'persistent') or one epoch (the mini-batch modes). */
  next(signal: AbortSignal | undefined, aborted: () => Error): Promise<AdmmIterationRecord> {
    const c = this.coordinator;
    return c instanceof ParallelCoordinator ? c.iteration(signal, aborted) : c.epoch(signal, aborted);
  }

  /** One iteration of mode 'persistent' (the trainer's step()). */
  step(signal: AbortSignal | undefined, aborted: () => Error): Promise<PersistentIterationRecord> {
    const c = this.coordinator;
    if (!(c instanceof ParallelCoordinator)) throw new Error('step() on a parallel run of a mini-batch mode');
    return c.iteration(signal, aborted);
  }

  /** One epoch of a mini-batch mode (the trainer's epoch()). */
  epoch(signal: AbortSignal | undefined, aborted: () => Error): Promise<MiniBatchIterationRecord> {
    const c = this.coordinator;
    if (!(c instanceof MiniBatchCoordinator)) throw new Error("epoch() on a parallel run of mode 'persistent'");
    return c.epoch(signal, aborted);
  }

  mark(): () => void {
    return () => undefined; // the shards keep their state on a failed iteration, as the persistent engine does
  }

  exportState(): never {
    throw parallelState('exportState()');
  }

  restore(): never {
    throw parallelState('restoreState()');
  }

  /** Stops the shards (their threads, or over Redis: publishes the run's end) and frees their state. */
  close(): Promise<void> {
    const t = this.transport as CoordinatorTransport & { complete?: () => Promise<void> };
    return t.complete ? t.complete() : t.close();
  }
}
