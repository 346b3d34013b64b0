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

/** Codes of errors raised while training or evaluating, for programmatic handling. */
export type AdmmErrorCode = 'ERR_BUSY' | 'ERR_NON_FINITE' | 'ERR_NOT_POSITIVE_DEFINITE' | 'ERR_OUT_OF_MEMORY' | 'ERR_INTERNAL';

export class AdmmError extends Error {
  constructor(
    message: string,
    readonly code: AdmmErrorCode
  ) {
    super(message);
    this.name = 'AdmmError';
  }
}
