/** Error helpers: every public boundary reports the parameter and what was expected. */

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value)) {
    const name = value.constructor.name;
    return 'length' in value ? `${name}(${(value as unknown as { length: number }).length})` : name;
  }
  if (Array.isArray(value)) return `Array(${value.length})`;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  return typeof value;
}

/** A value of the wrong type: `name must be expected, got actual`. */
export function invalidType(name: string, expected: string, actual: unknown): TypeError {
  return new TypeError(`${name} must be ${expected}, got ${describe(actual)}`);
}

/** A value of the right type but out of range or of the wrong size. */
export function invalidRange(name: string, expected: string, actual?: unknown): RangeError {
  return new RangeError(`${name} must be ${expected}${actual === undefined ? '' : `, got ${describe(actual)}`}`);
}

/**
 * Codes of errors raised while training or evaluating, for programmatic handling; each means one thing:
 * - ERR_BUSY: the model or trainer is in use by another operation (a fit, an async prediction);
 * - ERR_NOT_INITIALISED: the trainer has no run yet (call initialise(data) or fit(data) first);
 * - ERR_WRONG_MODE: the method belongs to another mode (block methods and step(): 'persistent';
 *   epoch(): the mini-batch modes);
 * - ERR_CHUNKED_STATE: a single-block method on a state that is swept in chunks (use step());
 * - ERR_NON_FINITE, ERR_NOT_POSITIVE_DEFINITE: a kernel met NaN/Inf, or a system it cannot solve;
 * - ERR_OUT_OF_MEMORY: an allocation above the memory limit (setMemoryLimit) or that failed;
 * - ERR_INTERNAL: a failure inside the native layer that is not the caller's;
 * - ERR_SHARD_LOST: a shard of a parallel run stopped answering (its thread or process died);
 * - ERR_STALE_WRITER: a write by a shard incarnation that is no longer current (refused);
 * - ERR_PARALLEL_STATE: the method needs the state in this process, which a parallel run keeps in its shards.
 */
export type AdmmErrorCode =
  | 'ERR_BUSY'
  | 'ERR_NOT_INITIALISED'
  | 'ERR_WRONG_MODE'
  | 'ERR_CHUNKED_STATE'
  | 'ERR_NON_FINITE'
  | 'ERR_NOT_POSITIVE_DEFINITE'
  | 'ERR_OUT_OF_MEMORY'
  | 'ERR_INTERNAL'
  | 'ERR_SHARD_LOST'
  | 'ERR_STALE_WRITER'
  | 'ERR_PARALLEL_STATE';

export class AdmmError extends Error {
  constructor(
    message: string,
    readonly code: AdmmErrorCode
  ) {
    super(message);
    this.name = 'AdmmError';
  }
}
