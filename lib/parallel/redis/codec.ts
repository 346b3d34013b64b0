/**
 * How contributions and publications are laid out in Redis: a small JSON tag (who, which
 * iteration, phase and version, the named scalars) beside a binary body, the Float64Array's
 * bytes in little-endian order (no JSON for the payload: exact, 8 bytes a number, no parsing).
 */
import os from 'node:os';
import { invalidRange, invalidType } from '../../errors';
import { checkInteger } from '../../validate';
import type { Contribution, Publication } from '../transport';
import { corrupt } from './errors';

const LITTLE_ENDIAN = os.endianness() === 'LE';
const PHASE = /^[A-Za-z0-9_.-]{1,64}$/;

export function checkPhase(name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidType(name, 'a phase name (string)', value);
  if (!PHASE.test(value)) throw invalidRange(name, '1 to 64 characters among A-Z a-z 0-9 _ . -', value);
  return value;
}

export function checkScalars(name: string, value: unknown): Readonly<Record<string, number>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidType(name, 'an object', value);
  for (const [key, v] of Object.entries(value))
    if (typeof v !== 'number') throw invalidType(`${name}.${key}`, 'a number', v);
  return value as Record<string, number>;
}

export function checkBody(name: string, value: unknown): Float64Array {
  if (!(value instanceof Float64Array)) throw invalidType(name, 'a Float64Array', value);
  return value;
}

export function encodeBody(body: Float64Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const out = Buffer.alloc(body.byteLength);
  body.forEach((v, i) => out.writeDoubleLE(v, 8 * i));
  return out;
}

/** A fresh, aligned copy (a reply's Buffer is often a slice of a larger one at any offset). */
export function decodeBody(bytes: Buffer, length: number, what: string): Float64Array {
  if (bytes.length !== 8 * length) throw corrupt(what, `body of ${bytes.length} bytes, its tag says ${length} numbers`);
  const out = new Float64Array(length);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes);
  else for (let i = 0; i < length; i++) out[i] = bytes.readDoubleLE(8 * i);
  return out;
}

/** Scalars as [name, value] pairs for JSON, with NaN and ±Infinity kept (JSON would turn them into null). */
export function scalarEntries(scalars: Readonly<Record<string, number>>): [string, number | string][] {
  return Object.entries(scalars).map(([k, v]) => [k, Number.isFinite(v) ? v : String(v)]);
}

export function decodeScalars(json: unknown, what: string): Record<string, number> {
  const notPairs = () => corrupt(what, 'scalars are not [name, value] pairs');
  if (!Array.isArray(json)) throw notPairs();
  const out: Record<string, number> = {};
  for (const entry of json) {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string') throw notPairs();
    const v = entry[1];
    if (typeof v === 'number') out[entry[0]] = v;
    else if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') out[entry[0]] = Number(v);
    else throw notPairs();
  }
  return out;
}

/** Everything of a contribution but its body, plus the body's length. */
export interface ContributionTag extends Omit<Contribution, 'body'> {
  readonly length: number;
}

export function encodeTag(c: Contribution): string {
  const { shard, token, iteration, phase, version } = c;
  const scalars = scalarEntries(c.scalars);
  return JSON.stringify({ shard, token, iteration, phase, version, length: c.body.length, scalars });
}

export function decodeTag(text: string, what: string): ContributionTag {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text);
  } catch {
    throw corrupt(what, `the tag is not JSON`);
  }
  const ok =
    typeof raw === 'object' &&
    raw !== null &&
    Number.isSafeInteger(raw.shard) &&
    typeof raw.token === 'string' &&
    Number.isSafeInteger(raw.iteration) &&
    typeof raw.phase === 'string' &&
    Number.isSafeInteger(raw.version) &&
    Number.isSafeInteger(raw.length) &&
    (raw.length as number) >= 0;
  if (!ok) throw corrupt(what, 'the tag lacks shard, token, iteration, phase, version or length');
  return {
    shard: raw.shard as number,
    token: raw.token as string,
    iteration: raw.iteration as number,
    phase: raw.phase as string,
    version: raw.version as number,
    length: raw.length as number,
    scalars: decodeScalars(raw.scalars, what),
  };
}

/** The stream entry id of a version: `version-1` (ids must exceed 0-0, and XREAD reads after an id). */
export function versionId(version: number): string {
  return `${version}-1`;
}

/** The id to XREAD after, to get versions greater than `afterVersion` (−1: from the first). */
export function afterVersionId(afterVersion: number): string {
  return afterVersion < 0 ? '0-0' : versionId(afterVersion);
}

/** A publication as stream fields (field, value pairs). */
export function publicationFields(p: Publication, epoch: number): (string | Buffer)[] {
  return [
    'version',
    String(p.version),
    'iteration',
    String(p.iteration),
    'phase',
    p.phase,
    'epoch',
    String(epoch),
    'scalars',
    JSON.stringify(scalarEntries(p.scalars)),
    'body',
    encodeBody(p.body),
  ];
}

/** A stream entry's fields (Buffers, as XREAD returns them) back into a publication. */
export function decodePublication(fields: Buffer[], what: string): Publication {
  const map = new Map<string, Buffer>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i].toString(), fields[i + 1]);
  const text = (name: string) => {
    const v = map.get(name);
    if (!v) throw corrupt(what, `no field ${name}`);
    return v.toString();
  };
  const integer = (name: string) => {
    const v = Number(text(name));
    if (!Number.isSafeInteger(v)) throw corrupt(what, `${name} is not an integer`);
    return v;
  };
  const body = map.get('body');
  if (!body || body.length % 8 !== 0) throw corrupt(what, `body is not float64 bytes`);
  let scalars: unknown;
  try {
    scalars = JSON.parse(text('scalars'));
  } catch {
    throw corrupt(what, `scalars are not JSON`);
  }
  return {
    version: integer('version'),
    iteration: integer('iteration'),
    phase: text('phase'),
    scalars: decodeScalars(scalars, what),
    body: decodeBody(body, body.length / 8, what),
  };
}

export function checkVersion(name: string, value: unknown): number {
  return checkInteger(name, value, 0);
}
