/**
 * The catalogue of malformed values, per kind of field, each with what the target must do:
 * - reject: throw (or reject) a TypeError/RangeError whose message names one of `names`;
 * - same: succeed with the result of the unmutated call (views, shared buffers, extra fields);
 * - sameOrReject: either of the two (aliasing, hostile getters);
 * - any: succeed, or fail with a TypeError/RangeError naming a parameter (or a numeric status).
 */
import type { Random } from '../../lib';
import { type Params, type Target, getPath, setPath } from './target';

export type Expect = 'reject' | 'same' | 'sameOrReject' | 'any';

export interface Mutation {
  label: string;
  expect: Expect;
  names: string[];
  params: Params;
  /** Runs right after the call is issued (async targets: while the work is in flight). */
  afterCall?: () => void;
}

type Variant = [label: string, expect: Expect, value: () => unknown];

/** Moves the array's memory to a clone nobody keeps: the array reads as empty from then on. */
export function detach(a: Float32Array | Int32Array): void {
  structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });
}

export function detached<T extends Float32Array | Int32Array>(a: T): T {
  const copy = a.slice() as T;
  detach(copy);
  return copy;
}

/** The same values in a view that starts `offset` elements into a larger buffer. */
export function offsetView<T extends Float32Array | Int32Array>(a: T, offset: number, shared = false): T {
  const Ctor = a.constructor as { new (b: ArrayBufferLike, o: number, n: number): T };
  const buffer = shared
    ? new SharedArrayBuffer((a.length + offset + 3) * 4)
    : new ArrayBuffer((a.length + offset + 3) * 4);
  const view = new Ctor(buffer, offset * 4, a.length);
  view.set(a);
  return view;
}

function numberVariants(integer: boolean, optional: boolean): Variant[] {
  const v: Variant[] = [
    ['string', 'reject', () => '3'],
    ['boolean', 'reject', () => true],
    ['object', 'reject', () => ({})],
    ['array', 'reject', () => [1]],
    ['bigint', 'reject', () => 1n],
    ['symbol', 'reject', () => Symbol('s')],
    ['NaN', 'reject', () => NaN],
    ['Infinity', 'reject', () => Infinity],
    ['-Infinity', 'reject', () => -Infinity],
    ['-1', 'any', () => -1],
    ['0', 'any', () => 0],
    ['-0', 'any', () => -0],
    ['0.5', 'any', () => 0.5],
    ['7', 'any', () => 7],
    ['2^31', 'any', () => 2 ** 31],
    ['2^53', 'any', () => 2 ** 53],
    ['1e300', 'any', () => 1e300],
    ['-1e300', 'any', () => -1e300],
    ['null', optional ? 'any' : 'reject', () => null],
    ['undefined', optional ? 'any' : 'reject', () => undefined],
  ];
  if (integer) v.push(['1.5', 'reject', () => 1.5]);
  return v;
}

function otherVariants(value: unknown, optional: boolean): Variant[] {
  const absent: Variant[] = [
    ['null', optional ? 'any' : 'reject', () => null],
    ['undefined', optional ? 'any' : 'reject', () => undefined],
  ];
  if (typeof value === 'boolean')
    return [
      ...absent,
      ['number', 'reject', () => 1],
      ['string', 'reject', () => 'true'],
      ['object', 'reject', () => ({})],
      ['flipped', 'any', () => !value],
    ];
  if (typeof value === 'string')
    return [
      ...absent,
      ['number', 'reject', () => 1],
      ['object', 'reject', () => ({})],
      ['symbol', 'reject', () => Symbol('s')],
      ['unknown choice', 'reject', () => 'bogus'],
      ['empty string', 'reject', () => ''],
    ];
  // Objects and arrays (shape, options groups, rho triples).
  return [
    ...absent,
    ['number', 'reject', () => 42],
    ['string', 'reject', () => 'x'],
    ['typed array', 'reject', () => new Float32Array(2)],
    ['empty object', 'any', () => ({})],
  ];
}

function arrayVariants(
  a: Float32Array | Int32Array,
  checkedFinite: boolean,
  polymorphic: boolean,
  optional: boolean
): Variant[] {
  const n = a.length;
  const isF32 = a instanceof Float32Array;
  const Same = a.constructor as { new (n: number): Float32Array | Int32Array };
  const v: Variant[] = [
    ['null', optional ? 'any' : 'reject', () => null],
    ['undefined', optional ? 'any' : 'reject', () => undefined],
    ['Float64Array', 'reject', () => new Float64Array(n)],
    ['Uint8Array', 'reject', () => new Uint8Array(4 * n)],
    ['plain array', 'reject', () => Array.from(a)],
    ['ArrayBuffer', 'reject', () => a.slice().buffer],
    ['DataView', 'reject', () => new DataView(a.slice().buffer)],
    ['number', 'reject', () => n],
    ['string', 'reject', () => 'abc'],
    [
      isF32 ? 'Int32Array' : 'Float32Array',
      polymorphic ? 'any' : 'reject',
      () => (isF32 ? new Int32Array(n) : new Float32Array(n)),
    ],
    ['length n-1', 'reject', () => a.slice(0, n - 1)],
    [
      'length n+1',
      'reject',
      () => {
        const b = new Same(n + 1);
        b.set(a);
        return b;
      },
    ],
    ['empty', 'reject', () => new Same(0)],
    ['detached', 'reject', () => detached(a)],
    ['odd-offset view', 'same', () => offsetView(a, 3)],
    ['SharedArrayBuffer', 'same', () => offsetView(a, 1, true)],
  ];
  if (isF32) {
    for (const [label, x] of [
      ['NaN', NaN],
      ['Infinity', Infinity],
      ['-Infinity', -Infinity],
    ] as const)
      v.push([
        `one ${label}`,
        checkedFinite ? 'reject' : 'any',
        () => {
          const b = a.slice();
          b[n >> 1] = x;
          return b;
        },
      ]);
    v.push(['huge values', 'any', () => a.map(() => 3e38)]);
  } else {
    for (const x of [-1, 2 ** 31 - 1, -(2 ** 31)])
      v.push([
        `index ${x}`,
        'reject',
        () => {
          const b = a.slice();
          b[n - 1] = x;
          return b;
        },
      ]);
  }
  return v;
}

function variantsFor(target: Target, path: string, value: unknown): Variant[] {
  const optional = target.optional?.includes(path) ?? false;
  if (value instanceof Float32Array || value instanceof Int32Array)
    return arrayVariants(
      value,
      target.finiteChecked?.includes(path) ?? false,
      path === 'data.inputs' || path === 'data.targets',
      optional
    );
  if (typeof value === 'number' || value === undefined)
    return numberVariants(target.integers?.includes(path) ?? false, optional);
  return otherVariants(value, optional);
}

/** A mutation of one field of fresh valid parameters, or of the argument object as a whole. */
export function mutate(target: Target, params: Params, rng: Random): Mutation {
  const paths = target.fields(params);
  const roll = rng.uniform();
  const isNative = target.errorPrefix !== undefined;
  const whole = roll < 0.04 ? wholeArgument(target, params, rng, isNative) : undefined;
  if (whole) return whole;
  if ((roll < 0.06 && !target.typeOnly) || !paths.length)
    return { label: 'extra field', expect: 'same', names: [], params: { ...params, bogusField: 1 } };
  if (isNative && roll < 0.12) {
    const special =
      target.async && rng.uniform() < 0.5 ? corruptAfterCall(target, params, paths, rng) : sabotagingProxy(params, rng);
    if (special) return special;
  }
  if (isNative && roll < 0.18) {
    const alias = aliasOutput(target, params, rng);
    if (alias) return alias;
  }
  const path = paths[rng.int(paths.length)];
  let variants = variantsFor(target, path, getPath(params, path));
  if (target.typeOnly) variants = variants.filter(([, expect]) => expect === 'reject');
  const [label, expect, make] = variants[rng.int(variants.length)];
  const mutated = { ...params };
  setPath(mutated, path, make());
  const loose = target.loose?.some((l) => path === l || path.startsWith(`${l}.`));
  return {
    label: `${path} := ${label}`,
    expect: loose ? 'any' : expect,
    names: [target.rename?.(path) ?? path],
    params: mutated,
  };
}

function wholeArgument(target: Target, params: Params, rng: Random, isNative: boolean): Mutation | undefined {
  const roots = isNative
    ? ['options']
    : Object.keys(params).filter((k) => !['model', 'params', 'grads', 'maxNorm', 'seed'].includes(k));
  if (!roots.length) return undefined;
  const root = roots[rng.int(roots.length)];
  const values: [string, unknown][] = [
    ['null', null],
    ['number', 42],
    ['string', 'str'],
    ['array', []],
    ['typed array', new Float32Array(2)],
  ];
  const [label, value] = values[rng.int(values.length)];
  const mutated = isNative ? { __whole: value } : { ...params, [root]: value };
  const optionalRoot = root === 'options' && !isNative && value === undefined;
  return {
    label: `${root} := ${label}`,
    expect: optionalRoot ? 'any' : 'reject',
    names: [target.rename?.(root) ?? root],
    params: mutated,
  };
}

/** Output and input of the same length made the same memory (exactly, or shifted by one element). */
function aliasOutput(target: Target, params: Params, rng: Random): Mutation | undefined {
  const outs = (target.outputs ?? []).filter((o) => getPath(params, o) instanceof Float32Array);
  if (!outs.length) return undefined;
  const out = outs[rng.int(outs.length)];
  const o = getPath(params, out) as Float32Array;
  const ins = Object.keys(params).filter(
    (k) => k !== out && params[k] instanceof Float32Array && (params[k] as Float32Array).length === o.length
  );
  if (!ins.length) return undefined;
  const input = ins[rng.int(ins.length)];
  const mutated = { ...params };
  if (rng.uniform() < 0.5) {
    mutated[out] = mutated[input];
    return { label: `${out} aliases ${input}`, expect: 'sameOrReject', names: [out, input], params: mutated };
  }
  if (o.length < 2) return undefined; // shifted by one, a single element would not overlap
  const shared = new Float32Array(o.length + 1);
  shared.set(params[input] as Float32Array);
  mutated[input] = shared.subarray(0, o.length);
  mutated[out] = shared.subarray(1);
  // Partial overlap changes what the input holds, so only a rejection is right.
  return { label: `${out} overlaps ${input} shifted by one`, expect: 'reject', names: [out, input], params: mutated };
}

/** An options object whose getter detaches (or corrupts) another argument once it has been read. */
function sabotagingProxy(params: Params, rng: Random): Mutation | undefined {
  const victims = Object.keys(params).filter(
    (k) => params[k] instanceof Float32Array || params[k] instanceof Int32Array
  );
  if (!victims.length) return undefined;
  const victim = victims[rng.int(victims.length)];
  const trigger = Object.keys(params)[rng.int(Object.keys(params).length)];
  const copy: Params = { ...params, [victim]: (params[victim] as Float32Array).slice() };
  const corrupt = copy[victim] instanceof Int32Array && rng.uniform() < 0.5;
  let fired = false;
  const proxy = new Proxy(copy, {
    get(obj, key) {
      const value = obj[key as string];
      if (key === trigger && !fired) {
        fired = true;
        const a = obj[victim] as Float32Array | Int32Array;
        if (corrupt) a.fill(2 ** 31 - 1);
        else structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });
      }
      return value;
    },
  });
  return {
    label: `getter of ${trigger} ${corrupt ? 'corrupts' : 'detaches'} ${victim}`,
    expect: 'sameOrReject',
    names: [victim],
    params: proxy,
  };
}

/**
 * Async twin: while the work is in flight, the caller overwrites an index array, or transfers
 * an array's buffer away (the call works on copies: an input's transfer changes nothing, an
 * output's makes the call reject, naming it).
 */
function corruptAfterCall(target: Target, params: Params, paths: string[], rng: Random): Mutation | undefined {
  const victims = paths.filter((k) => params[k] instanceof Int32Array || params[k] instanceof Float32Array);
  if (!victims.length) return undefined;
  const victim = victims[rng.int(victims.length)];
  const copy: Params = { ...params, [victim]: (params[victim] as Int32Array).slice() };
  if (copy[victim] instanceof Float32Array || rng.uniform() < 0.5) {
    const output = target.outputs?.includes(victim) ?? false;
    return {
      label: `${victim} transferred while in flight`,
      expect: output ? 'reject' : 'same',
      names: [victim],
      params: copy,
      afterCall: () => detach(copy[victim] as Float32Array | Int32Array),
    };
  }
  return {
    label: `${victim} overwritten while in flight`,
    expect: 'same',
    names: [victim],
    params: copy,
    afterCall: () => (copy[victim] as Int32Array).fill(2 ** 31 - 1),
  };
}
