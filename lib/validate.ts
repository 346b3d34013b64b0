/** Argument checks shared by the public API. Types → TypeError, sizes and ranges → RangeError. */
import { invalidRange, invalidType } from './errors';

export function checkObject(name: string, value: unknown): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || ArrayBuffer.isView(value))
    throw invalidType(name, 'an object', value);
}

export function checkOptionalObject(
  name: string,
  value: unknown
): asserts value is Record<string, unknown> | undefined {
  if (value !== undefined) checkObject(name, value);
}

export function checkInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number') throw invalidType(name, 'an integer', value);
  if (!Number.isInteger(value) || value < min || value > max)
    throw invalidRange(name, `an integer in [${min}, ${max}]`, value);
  return value;
}

/** A finite number in [min, max] (exclusive lower bound when `minExclusive`). */
export function checkNumber(
  name: string,
  value: unknown,
  min = -Infinity,
  max = Infinity,
  minExclusive = false
): number {
  if (typeof value !== 'number') throw invalidType(name, 'a number', value);
  const low = minExclusive ? value <= min : value < min;
  if (!Number.isFinite(value) || low || value > max)
    throw invalidRange(
      name,
      `a finite number ${minExclusive ? '>' : '≥'} ${min}${max < Infinity ? ` and ≤ ${max}` : ''}`,
      value
    );
  return value;
}

export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidType(name, 'a boolean', value);
  return value;
}

export function checkChoice<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  const list = choices.map((c) => `'${c}'`).join(', ');
  if (typeof value !== 'string') throw invalidType(name, `one of ${list}`, value);
  if (!choices.includes(value as T)) throw invalidRange(name, `one of ${list}`, value);
  return value as T;
}

export function checkFunction(name: string, value: unknown): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw invalidType(name, 'a function', value);
}

export function checkAbortSignal(name: string, value: unknown): asserts value is AbortSignal {
  if (!(value instanceof AbortSignal)) throw invalidType(name, 'an AbortSignal', value);
}

function checkTypedArray<T extends Float32Array | Int32Array>(
  name: string,
  value: unknown,
  ctor: { new (n: number): T; name: string },
  length?: number
): T {
  if (!(value instanceof ctor)) throw invalidType(name, `a ${ctor.name}`, value);
  if (length !== undefined && value.length !== length)
    throw invalidRange(name, `of length ${length}${value.length === 0 ? ' (empty or detached buffer?)' : ''}`, value);
  return value;
}

export function checkFloat32Array(name: string, value: unknown, length?: number): Float32Array {
  return checkTypedArray(name, value, Float32Array, length);
}

export function checkInt32Array(name: string, value: unknown, length?: number): Int32Array {
  return checkTypedArray(name, value, Int32Array, length);
}

/** Every element finite; reports the first offender. */
export function checkFinite(name: string, values: Float32Array): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v - v !== 0) throw invalidRange(name, `finite (no NaN or Infinity) — element ${i} is ${v}`);
  }
}

/** Every element an integer in [0, bound). */
export function checkIndices(name: string, values: Int32Array, bound: number, what: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < 0 || v >= bound) throw invalidRange(name, `${what} in [0, ${bound}) — element ${i} is ${v}`);
  }
}
