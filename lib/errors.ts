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
 * Codes of the errors raised while training or running a model, for programmatic handling. Each
 * means one thing (README "Errors"; test/error-codes.test.ts throws each for its meaning):
 * - ERR_BUSY: the model or the trainer is in use by another operation (a fit, an async prediction);
 * - ERR_NOT_INITIALISED: the trainer has no run yet (call initialise(data) or fit(data) first);
 * - ERR_WRONG_MODE: the method belongs to another mode (block methods and step(): 'persistent';
 *   epoch(): the mini-batch modes);
 * - ERR_CHUNKED_STATE: a single-block method on a state that is swept in chunks (use step());
 * - ERR_OUT_OF_MEMORY: the memory an operation needs is not to be had: its estimate is above the
 *   memory limit (setMemoryLimit; checked before allocating) or a native allocation failed;
 * The native kernels' errors (plain `Error`s with a code; the trainers turn the first two into
 * the fit statuses 'diverged' and 'singular'):
 * - ERR_NON_FINITE: a kernel met NaN or ±Infinity in its inputs or its result;
 * - ERR_NOT_POSITIVE_DEFINITE: a system a kernel factors is not positive definite;
 * - ERR_INTERNAL: a failure inside the native layer that is not the caller's (an unexpected exception).
 */
export type TrainerErrorCode =
  | 'ERR_BUSY'
  | 'ERR_NOT_INITIALISED'
  | 'ERR_WRONG_MODE'
  | 'ERR_CHUNKED_STATE'
  | 'ERR_NON_FINITE'
  | 'ERR_NOT_POSITIVE_DEFINITE'
  | 'ERR_OUT_OF_MEMORY'
  | 'ERR_INTERNAL';

/** The codes' earlier name, kept for compatibility. */
export type AdmmErrorCode = TrainerErrorCode;

/** An error with a code (TrainerErrorCode), from either trainer or the model they share. */
export class TrainerError extends Error {
  constructor(
    message: string,
    readonly code: TrainerErrorCode
  ) {
    super(message);
    this.name = 'TrainerError';
  }
}

/** What AdmmTrainer itself throws: a TrainerError (`instanceof AdmmError` keeps working for it). */
export class AdmmError extends TrainerError {
  constructor(message: string, code: TrainerErrorCode) {
    super(message, code);
    this.name = 'AdmmError';
  }
}
