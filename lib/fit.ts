/** What both trainers share around their fit loop: the common fit options, handing a record to the caller, plateau detection, draining iterate(). */
import { checkAbortSignal, checkBoolean, checkFunction, checkInteger, checkNumber, checkObject } from './validate';

export interface CommonFitOptions<R> {
  maxIterations: number;
  plateau: { patience: number; minDelta: number } | undefined;
  signal: AbortSignal | undefined;
  onIteration: ((record: R) => void | boolean | Promise<void | boolean>) | undefined;
  resume: boolean;
}

/** Validates and defaults the options every trainer's fit takes (o: an already-checked object). */
export function resolveCommonFitOptions<R>(o: Record<string, unknown>): CommonFitOptions<R> {
  let plateau: CommonFitOptions<R>['plateau'];
  if (o.plateau !== undefined) {
    checkObject('options.plateau', o.plateau);
    plateau = {
      patience: checkInteger('options.plateau.patience', o.plateau.patience, 1),
      minDelta: o.plateau.minDelta === undefined ? 1e-4 : checkNumber('options.plateau.minDelta', o.plateau.minDelta, 0),
    };
  }
  if (o.signal !== undefined) checkAbortSignal('options.signal', o.signal);
  if (o.onIteration !== undefined) checkFunction('options.onIteration', o.onIteration);
  return {
    maxIterations: o.maxIterations === undefined ? 100 : checkInteger('options.maxIterations', o.maxIterations, 0, 1e9),
    plateau,
    signal: o.signal as AbortSignal | undefined,
    onIteration: o.onIteration as CommonFitOptions<R>['onIteration'],
    resume: o.resume === undefined ? false : checkBoolean('options.resume', o.resume),
  };
}

/** Reports when the loss has not improved by a relative minDelta for `patience` iterations. */
export class PlateauDetector {
  private best = Infinity;
  private since = 0;

  constructor(private readonly settings: { patience: number; minDelta: number } | undefined) {}

  /** The stop message, or undefined to continue. */
  update(loss: number): string | undefined {
    const s = this.settings;
    if (!s) return undefined;
    if (loss < this.best * (1 - s.minDelta)) {
      this.best = loss;
      this.since = 0;
      return undefined;
    }
    return ++this.since >= s.patience ? `loss has not improved by ${s.minDelta} (relative) for ${this.since} iterations` : undefined;
  }
}

/**
 * Hands a finished iteration's record to the caller: yields it and awaits onIteration with the
 * model unlocked (the weights are consistent there, so callers may predict or checkpoint), then
 * locks it again for `owner`. Returns the stop message when onIteration returned false.
 */
export async function* handOver<R extends { iteration: number }>(
  record: R,
  model: { lock(owner: string): void; unlock(): void },
  owner: string,
  onIteration: CommonFitOptions<R>['onIteration'],
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
