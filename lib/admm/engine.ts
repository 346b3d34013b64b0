/**
 * What AdmmTrainer holds for one run: a persistent engine (the paper's loop, persistent/) or a
 * resynchronised mini-batch engine (resync/), both behind one interface, started from the data
 * layout validated at the trainer's boundary.
 */
import { checkMemory } from '../memory-limit';
import { sharedCopyBytes } from '../in-shared-memory';
import type { RNN } from '../rnn';
import { Stop } from '../training/fit-loop';
import type { TrainingLayout } from '../training/layout';
import { type ResolvedTrainerOptions, automaticChunkSize } from './options';
import { PersistentEngine } from './persistent/engine';
import { AdmmState } from './persistent/state';
import type { AdmmIterationRecord } from './record';
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
}

/** The persistent sweep's chunk size: the option, or automatic for the exact update (options.ts). */
function chunkSizeFor(layout: TrainingLayout, o: Readonly<ResolvedTrainerOptions>): number | undefined {
  const { N, T, h } = layout.shape;
  return o.chunkSize ?? (o.update === 'exact' ? automaticChunkSize(N, T, h) : undefined);
}

/** Refuses (ERR_OUT_OF_MEMORY) a run of these options on `layout` that would exceed the memory limit. */
export function checkRunMemory(layout: TrainingLayout, o: Readonly<ResolvedTrainerOptions>): void {
  const { shape } = layout;
  const outputs = shape.N * (shape.everyStep ? shape.T : 1) * shape.K;
  const engineBytes = o.mode === 'persistent'
    ? AdmmState.bytesFor(shape, chunkSizeFor(layout, o) ?? shape.N, o.update === 'exact')
    : ResyncEngine.bytesFor(shape, o, layout.inputs.x !== undefined, layout.loss === 'squared-error') + 4 * outputs;
  checkMemory(
    `AdmmTrainer (mode '${o.mode}') on N = ${shape.N}, T = ${shape.T}, h = ${shape.h}`,
    sharedCopyBytes(layout.inputs, layout.targets) + engineBytes
  );
}

/** A run of these options on `layout` at iteration 0 (checkRunMemory first). */
export async function startEngine(
  model: RNN, layout: TrainingLayout, options: Readonly<ResolvedTrainerOptions>
): Promise<PersistentEngine | MiniBatchEngine> {
  const o = options;
  if (o.mode === 'persistent') return PersistentEngine.start(model, layout, o, chunkSizeFor(layout, o));
  return new MiniBatchEngine(model, layout, { ...o, mode: o.mode });
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
