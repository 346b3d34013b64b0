/** Command-line usage errors (exit code 2) and the option-value parsers that raise them. */
import { InvalidArgumentError } from 'commander';
import { FileFormatError } from '../file-error';

/** A mistake in how the command was called (exit code 2), as opposed to a failure while running (1). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

export function integer(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer in [${min}, ${max}].`);
    return n;
  };
}

export function number(min: number, max = Infinity, minExclusive = false): (value: string) => number {
  return (value) => {
    const n = Number(value);
    const low = minExclusive ? n <= min : n < min;
    if (value.trim() === '' || !Number.isFinite(n) || low || n > max)
      throw new InvalidArgumentError(
        `expected a number ${minExclusive ? '>' : '≥'} ${min}${max < Infinity ? ` and ≤ ${max}` : ''}.`
      );
    return n;
  };
}

/** `50` or `100,100,10`. */
export function rhoList(value: string): number | [number, number, number] {
  const parts = value.split(',').map((p) => number(0, Infinity, true)(p));
  if (parts.length === 1) return parts[0];
  if (parts.length !== 3)
    throw new InvalidArgumentError('expected one number or three comma-separated numbers (rho1,rho2,rho3).');
  return parts as [number, number, number];
}

/** A JSON object (`'{"dualWalk": false}'`): the trainer validates its fields. */
export function jsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (e) {
    throw new InvalidArgumentError(`expected a JSON object (${(e as Error).message}).`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new InvalidArgumentError('expected a JSON object.');
  return parsed as Record<string, unknown>;
}

/**
 * Rethrows the library's argument errors (TypeError / RangeError) as usage errors: only for values
 * that come from the command line (a FileFormatError, about a file's contents, stays one).
 */
export function asUsage<T>(what: string, make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (e instanceof FileFormatError) throw e;
    if (e instanceof TypeError || e instanceof RangeError) throw new UsageError(`${what}: ${e.message}`);
    throw e;
  }
}
