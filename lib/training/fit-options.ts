/** The options every trainer's fit takes, validated and defaulted in one place. */
import { checkAbortSignal, checkBoolean, checkFunction, checkInteger, checkNumber, checkObject } from '../validate';

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
      minDelta:
        o.plateau.minDelta === undefined ? 1e-4 : checkNumber('options.plateau.minDelta', o.plateau.minDelta, 0),
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
