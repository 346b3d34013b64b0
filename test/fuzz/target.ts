/**
 * What the fuzzer knows about one callable: how to build valid arguments, how to call it, which
 * fields it reads (their paths, for mutation) and which values are its results (for comparison).
 */
import type { Random } from '../../lib';

export type Params = Record<string, unknown>;

export interface Target {
  name: string;
  /** Fresh valid parameters; the same rng state gives the same values. */
  make(rng: Random): Params;
  call(p: Params): unknown;
  /** Paths ('shape.N', 'data.inputs') of the fields to mutate. */
  fields(p: Params): string[];
  /** Fields that may be absent. */
  optional?: readonly string[];
  /** Number fields that must be integers. */
  integers?: readonly string[];
  /** Float32Array fields the target must reject when not finite (the lib checks data and weights). */
  finiteChecked?: readonly string[];
  /** Float32Array fields written by the call (compared after it; alias candidates). */
  outputs?: readonly string[];
  /** Fields that take several types (a number or a triple, …): any outcome but a crash or a wrong error. */
  loose?: readonly string[];
  /** The name the target's messages use for a field path (default: the path itself). */
  rename?: (path: string) => string;
  /** Only the whole-argument and type mutations (values would start long runs or load files). */
  typeOnly?: boolean;
  /** The prefix every error message of a native binding starts with. */
  errorPrefix?: string;
  async?: boolean;
  /** Called with junk arguments only: any success, or a TypeError/RangeError naming a parameter. */
  junk?: boolean;
}

export function getPath(root: Params, path: string): unknown {
  let v: unknown = root;
  for (const key of path.split('.')) v = (v as Record<string, unknown> | undefined)?.[key];
  return v;
}

export function setPath(root: Params, path: string, value: unknown): void {
  const keys = path.split('.');
  let v = root as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) {
    // Copy the containers on the way so a shared default object is never changed.
    v[key] = Array.isArray(v[key]) ? [...(v[key] as unknown[])] : { ...(v[key] as object) };
    v = v[key] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1];
  if (value === undefined) delete v[last];
  else v[last] = value;
}

/** Every leaf path of a plain parameter tree (typed arrays, numbers, strings, booleans are leaves). */
export function leafPaths(value: unknown, prefix = ''): string[] {
  if (
    typeof value !== 'object' ||
    value === null ||
    ArrayBuffer.isView(value) ||
    Array.isArray(value) ||
    value instanceof AbortSignal
  )
    return prefix ? [prefix] : [];
  if (value.constructor !== Object) return []; // models and other class instances are not mutated field by field
  const out = prefix ? [prefix] : [];
  for (const [k, v] of Object.entries(value))
    if (typeof v !== 'function') out.push(...leafPaths(v, prefix ? `${prefix}.${k}` : k));
  return out;
}

/** Record fields that measure time: they differ between two identical calls. */
const WALL_CLOCK_FIELDS = new Set(['seconds', 'elapsed', 'trainSeconds']);

/** A comparable snapshot of a result: numbers, typed-array contents and strings, flattened. */
export function snapshotValue(v: unknown, out: (number | string)[] = [], depth = 0): (number | string)[] {
  if (depth > 6) return out;
  if (typeof v === 'number') out.push(v);
  else if (typeof v === 'string' || typeof v === 'boolean') out.push(String(v));
  else if (v instanceof Float32Array || v instanceof Int32Array || v instanceof Float64Array)
    for (const x of v) out.push(x);
  else if (Array.isArray(v)) for (const x of v) snapshotValue(x, out, depth + 1);
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) if (!WALL_CLOCK_FIELDS.has(k)) snapshotValue(x, out, depth + 1);
  return out;
}

export function sameSnapshot(a: (number | string)[], b: (number | string)[]): string | undefined {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    const x = a[i],
      y = b[i];
    if (typeof x === 'number' && typeof y === 'number') {
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      if (!(Math.abs(x - y) <= 1e-5 * (1 + Math.abs(y)))) return `element ${i}: ${x} vs ${y}`;
    } else if (x !== y) return `element ${i}: ${x} vs ${y}`;
  }
  return undefined;
}
