/**
 * The fit loop both trainers run: the busy flag and the model lock, one iteration at a time from
 * an engine, each record yielded and handed to onIteration with the model unlocked, the stopping
 * rules (engine, onIteration, tolerance, plateau, maxIterations), and the result.
 */
import { TrainerError, type TrainerErrorCode } from '../errors';
import type { CommonFitOptions } from './fit-options';
import { PlateauDetector } from './plateau';
import { releaseNativeScratch } from '../native-memory';

/**
 * Why a fit ended.
 * - `max-iterations`, `converged` (residual tolerances), `plateau` (loss stopped improving),
 * - `aborted` (AbortSignal), `stopped` (onIteration returned false),
 * - `diverged` (NaN/Inf appeared; the last finite weights are kept),
 * - `singular` (a weight or state system could not be factorised; weights of the last completed iteration kept).
 */
export type FitStatus = 'max-iterations' | 'converged' | 'plateau' | 'aborted' | 'stopped' | 'diverged' | 'singular';

/** An iteration that ended the fit instead of producing a record. */
export class Stop {
  constructor(
    readonly status: FitStatus,
    readonly message: string
  ) {}
}

/** What every fit returns. */
export interface FitOutcome<R> {
  status: FitStatus;
  message: string;
  history: R[];
  seconds: number;
}

interface LockableModel {
  lock(owner: string): void;
  unlock(): void;
}

/** One trainer's side of the loop. */
export interface FitEngine<R, Extra extends object> {
  /** One iteration: its record (`elapsed` is filled in by the loop), or why the fit ends. */
  next(signal: AbortSignal | undefined): Promise<R | Stop>;
  /** A 'converged' message after this record, or undefined to go on. */
  converged?(record: R): string | undefined;
  /** After the last iteration, model still locked: fields the result adds (e.g. a readout refit). */
  conclude?(status: FitStatus): Promise<Extra | undefined>;
}

/** A trainer's "one fit at a time" flag. */
export class FitGuard {
  private active = false;

  /** `ErrorClass`: what the trainer throws (a TrainerError, or the trainer's own subclass of it). */
  constructor(
    private readonly trainer: string,
    private readonly ErrorClass: new (message: string, code: TrainerErrorCode) => TrainerError = TrainerError
  ) {}

  /** Refuses a change of the run's state while a fit runs. */
  assertIdle(): void {
    if (this.active) throw new this.ErrorClass(`${this.trainer}: a fit is running on this trainer`, 'ERR_BUSY');
  }

  /**
   * Runs one fit: `start` (initialise or resume) with the model locked, then the engine's
   * iterations until a stopping rule fires (or `start` returns one). The generator's return value is the result.
   */
  async *run<R extends { iteration: number; loss: number; elapsed: number }, Extra extends object = object>(
    model: LockableModel,
    opts: CommonFitOptions<R>,
    start: () => Promise<Stop | undefined | void> | Stop | undefined | void,
    engine: FitEngine<R, Extra>
  ): AsyncGenerator<R, FitOutcome<R> & Partial<Extra>, void> {
    if (this.active) throw new this.ErrorClass(`${this.trainer}: a fit is already running on this trainer`, 'ERR_BUSY');
    const owner = `${this.trainer}.fit`;
    model.lock(owner);
    this.active = true;
    const started = performance.now();
    const history: R[] = [];
    const finish = async (status: FitStatus, message: string): Promise<FitOutcome<R> & Partial<Extra>> => {
      const result = { status, message, history, seconds: 0 } as FitOutcome<R> & Partial<Extra>;
      const extra = await engine.conclude?.(status);
      if (extra) Object.assign(result, extra);
      result.seconds = (performance.now() - started) / 1000;
      return result;
    };
    try {
      const stopped = await start();
      if (stopped) return await finish(stopped.status, stopped.message);
      const plateau = new PlateauDetector(opts.plateau);
      for (let i = 0; i < opts.maxIterations; i++) {
        const outcome = await engine.next(opts.signal);
        if (outcome instanceof Stop) return await finish(outcome.status, outcome.message);
        outcome.elapsed = (performance.now() - started) / 1000;
        history.push(outcome);

        const declined = yield* handOver(outcome, model, owner, opts.onIteration);
        if (declined) return await finish('stopped', declined);
        const converged = engine.converged?.(outcome);
        if (converged) return await finish('converged', converged);
        const stalled = plateau.update(outcome.loss);
        if (stalled) return await finish('plateau', stalled);
      }
      return await finish('max-iterations', `reached maxIterations = ${opts.maxIterations}`);
    } finally {
      this.active = false;
      model.unlock();
      // The kernels' data-sized scratch would otherwise stay allocated on every pool thread.
      await releaseNativeScratch();
    }
  }
}

/**
 * Hands a finished iteration's record to the caller: yields it and awaits onIteration with the
 * model unlocked (the weights are consistent there, so callers may predict or checkpoint), then
 * locks it again for `owner`. Returns the stop message when onIteration returned false.
 */
async function* handOver<R extends { iteration: number }>(
  record: R,
  model: LockableModel,
  owner: string,
  onIteration: CommonFitOptions<R>['onIteration']
): AsyncGenerator<R, string | undefined, void> {
  model.unlock();
  yield record;
  const verdict = onIteration ? await onIteration(record) : undefined;
  model.lock(owner);
  return verdict === false ? `onIteration returned false at iteration ${record.iteration}` : undefined;
}

/** Runs an iterate() generator to its end and returns its return value. */
export async function drain<Y, R>(run: AsyncGenerator<Y, R, void>): Promise<R> {
  for (;;) {
    const next = await run.next();
    if (next.done) return next.value;
  }
}
