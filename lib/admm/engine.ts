/**
 * What AdmmTrainer holds for one run: a persistent engine (the paper's loop, persistent/), a
 * resynchronised mini-batch engine (resync/) or, with options.parallel, a sharded run of either
 * (lib/parallel/engine.ts), all behind one interface, started from the data layout validated at
 * the trainer's boundary.
 */
import { AdmmError } from '../errors';
import { checkMemory } from '../memory-limit';
import { sharedCopyBytes } from '../in-shared-memory';
import type { RNN } from '../rnn';
import { Stop } from '../training/fit-loop';
import type { TrainingLayout } from '../training/layout';
import { type ResolvedTrainerOptions, automaticChunkSize } from './options';
import { ParallelEngine, parallelState } from '../parallel/engine';
import { PersistentEngine, requirePersistent, requireWholeState } from './persistent/engine';
import { warmStartReadout } from './persistent/warm-start';
import { AdmmState } from './persistent/state';
import type { AdmmIterationRecord, MiniBatchIterationRecord, PersistentIterationRecord } from './record';
import { MiniBatchEngine } from './resync/run';
import { ResyncEngine } from './resync/engine';
import type { AdmmStateSnapshot, MiniBatchStateSnapshot } from './snapshot';

export interface AdmmEngine<R extends AdmmIterationRecord = AdmmIterationRecord> {
  /** The validated data of the run. */
  readonly layout: TrainingLayout;
  /** Iterations completed in the run. */
  readonly iteration: number;
  /** One iteration; throws `aborted()` if `signal` aborts between its steps. */
  next(signal: AbortSignal | undefined, aborted: () => Error): Promise<R>;
  /** A function that puts back the run's own schedule as it is now (a failed iteration is undone with it). */
  mark(): () => void;
  /** A copy of what the run carries into its next iteration. */
  exportState(): AdmmStateSnapshot | MiniBatchStateSnapshot;
  /** Checks a snapshot of exportState against the run, then continues from it. */
  restore(snapshot: unknown): void;
  /** Stops what the run started outside this thread (a parallel run's shards). */
  close?(): Promise<void>;
}

/** The engines a trainer runs. */
export type RunEngine = PersistentEngine | MiniBatchEngine | ParallelEngine;

/** The persistent sweep's chunk size: the option, or automatic for the exact update (options.ts). */
function chunkSizeFor(layout: TrainingLayout, o: Readonly<ResolvedTrainerOptions>): number | undefined {
  const { N, T, h } = layout.shape;
  return o.chunkSize ?? (o.update === 'exact' ? automaticChunkSize(N, T, h) : undefined);
}

/** Refuses (ERR_OUT_OF_MEMORY) a run of these options on `layout` that would exceed the memory limit. */
export function checkRunMemory(layout: TrainingLayout, o: Readonly<ResolvedTrainerOptions>): void {
  const { shape } = layout;
  const outputs = shape.N * (shape.everyStep ? shape.T : 1) * shape.K;
  const engineBytes = o.parallel
    ? ParallelEngine.bytesFor(shape, o, o.parallel, layout.inputs.x !== undefined)
    : o.mode === 'persistent'
      ? AdmmState.bytesFor(shape, chunkSizeFor(layout, o) ?? shape.N, o.update === 'exact')
      : ResyncEngine.bytesFor(shape, o, layout.inputs.x !== undefined, layout.loss === 'squared-error') + 4 * outputs;
  checkMemory(
    `AdmmTrainer (mode '${o.mode}') on N = ${shape.N}, T = ${shape.T}, h = ${shape.h}`,
    (o.parallel?.transport === 'redis' ? 0 : sharedCopyBytes(layout.inputs, layout.targets)) + engineBytes
  );
}

/**
 * A run of these options on `layout` at iteration 0 (checkRunMemory first); `warm`: with the
 * persistent mode's warm start of the readout (options.warmStart; not for a run about to be restored).
 * An abort of `signal` during the warm start or the first dual walk throws `aborted()` (the
 * readout untouched if it lands in the warm start).
 */
export async function startEngine(
  model: RNN,
  layout: TrainingLayout,
  options: Readonly<ResolvedTrainerOptions>,
  warm: boolean,
  signal: AbortSignal | undefined,
  aborted: () => Error
): Promise<RunEngine> {
  const o = options;
  const interrupt = () => {
    if (signal?.aborted) throw aborted();
  };
  // Only the persistent mode resolves warmStart to 'readout'; one place for its engine and a sharded one.
  if (warm && o.warmStart === 'readout') await warmStartReadout(model, layout, o.beta, interrupt);
  if (o.parallel) return ParallelEngine.start(model, layout, o, o.parallel);
  if (o.mode === 'persistent')
    return PersistentEngine.start(model, layout, o, chunkSizeFor(layout, o), warm, signal, aborted);
  return new MiniBatchEngine(model, layout, { ...o, mode: o.mode });
}

/** The engine of step(): the persistent one, or a parallel run of mode 'persistent'. */
export function persistentStepper(
  engine: RunEngine | undefined,
  mode: string
): (signal: AbortSignal | undefined, aborted: () => Error) => Promise<PersistentIterationRecord> {
  if (mode === 'persistent' && engine instanceof ParallelEngine) return (s, a) => engine.step(s, a);
  const persistent = requirePersistent(engine, mode, 'step()');
  return (s, a) => persistent.next(s, a);
}

/** The engine of epoch(): the mini-batch one, or a parallel run of a mini-batch mode. */
export function miniBatchStepper(
  engine: RunEngine | undefined,
  mode: string
): (signal: AbortSignal | undefined, aborted: () => Error) => Promise<MiniBatchIterationRecord> {
  if (mode === 'persistent')
    throw new AdmmError("epoch() belongs to the mini-batch modes, not 'persistent'; use step()", 'ERR_WRONG_MODE');
  if (engine instanceof ParallelEngine) return (s, a) => engine.epoch(s, a);
  if (!(engine instanceof MiniBatchEngine))
    throw new AdmmError('epoch(): call initialise(data) or fit(data) first', 'ERR_NOT_INITIALISED');
  return (s, a) => engine.next(s, a);
}

/** The persistent engine whose state is in this process (the block methods, lagrangian()). */
export function localPersistent(engine: RunEngine | undefined, mode: string, method: string): PersistentEngine {
  if (mode === 'persistent' && engine instanceof ParallelEngine) throw parallelState(method);
  return requirePersistent(engine, mode, method);
}

/** The persistent engine, for the single-block methods: a chunked sweep has no whole-data a or s block. */
export function wholePersistent(engine: RunEngine | undefined, mode: string): PersistentEngine {
  return requireWholeState(localPersistent(engine, mode, 'the block methods'));
}

/** An iteration interrupted by the fit's AbortSignal. */
export class Aborted extends Error {}

/** How an iteration that threw ends the fit: aborted, singular, diverged; anything else is rethrown. */
export function failureStop(e: unknown, iteration: number): Stop {
  if (e instanceof Aborted)
    return new Stop('aborted', `aborted during iteration ${iteration}; weights of the previous iteration kept`);
  const code = (e as { code?: string }).code;
  const message = (e as Error).message;
  if (code === 'ERR_NOT_POSITIVE_DEFINITE') return new Stop('singular', `iteration ${iteration}: ${message}`);
  if (code === 'ERR_NON_FINITE') return new Stop('diverged', `iteration ${iteration}: ${message}`);
  throw e;
}
