/**
 * The safetensors container (https://huggingface.co/docs/safetensors), implemented to the spec
 * for the two dtypes used here: 8 bytes little-endian u64 N, then N bytes of JSON header
 * (`{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { string: string } }`,
 * padded with spaces to 8 bytes), then the data section. Offsets are relative to the data
 * section and must tile it exactly: no gaps, no overlaps, nothing after the last tensor.
 *
 * Reading validates the whole header — every span's size against its dtype and shape, and the
 * spans against each other and the data section — before any tensor is allocated, so the memory
 * a file costs is bounded by its own size.
 */
import { invalidRange, invalidType } from '../errors';
import { FileFormatError } from '../file-error';
import { constants as bufferConstants } from 'node:buffer';

export type Dtype = 'F32' | 'I32';
export type TensorData = Float32Array | Int32Array;

export interface Tensor {
  data: TensorData;
  shape: number[];
}

export interface SafetensorsContents {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
  /** The data section (for checksums). */
  data: Buffer;
}

/** One tensor as the header declares it: its bytes are [begin, end) of the data section. */
export interface TensorSpan {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

/** A header checked against the data section's length. */
export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** In header order. */
  spans: TensorSpan[];
  /** The same spans in data order: they tile [0, data length). */
  tiling: TensorSpan[];
}

/** Largest header accepted, on read and on write, by default (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Largest part `encodeSafetensorsParts` returns (one write call, one hash update). */
export const MAX_PART_BYTES = 2 ** 30;

/** Largest Buffer this Node.js can make (`encodeSafetensors` returns one). */
const MAX_BUFFER = Math.min(bufferConstants.MAX_LENGTH, 2 ** 32);

const dtypeOf = (a: TensorData): Dtype => (a instanceof Float32Array ? 'F32' : 'I32');
const elements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Bytes of a 4-byte dtype of this shape, or undefined above 2^53 (computed without overflow). */
function byteSize(shape: readonly number[]): number | undefined {
  if (shape.includes(0)) return 0;
  let bytes = 4;
  for (const s of shape) {
    bytes *= s;
    // Exact while the true product is a safe integer; once above, rounding keeps it above.
    if (bytes > Number.MAX_SAFE_INTEGER) return undefined;
  }
  return bytes;
}

/** Deepest nesting a header may have: its own structure needs 3 ({ name: { shape: [] } }). */
const MAX_HEADER_DEPTH = 8;

/**
 * JSON.parse, after a linear scan refuses nesting deeper than `maxDepth`: deeply nested arrays
 * are slow to parse and their objects outweigh the text, so they are refused unparsed.
 */
export function parseJsonShallow(text: string, maxDepth: number): unknown {
  let depth = 0,
    inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) throw new Error(`nested more than ${maxDepth} deep`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return JSON.parse(text);
}

/** A tensor name for a message: quoted, and cut short (a name is as long as the header allows). */
export function quoteName(key: string): string {
  return JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key);
}

/** The error of a bad file: `<subject> must be <expected>[, got <actual>]`, a FileFormatError. */
function fileError(file: string, subject: string, expected: string, actual?: unknown): FileFormatError {
  return new FileFormatError(file, invalidRange(subject, expected, actual).message);
}

/**
 * Encodes tensors (in the given order) and metadata as the parts of one file, without copying
 * the tensors (on little-endian hosts): the length, the header, then views of each tensor's
 * bytes of at most `maxPart` bytes each. Write them in order (e.g. with `writeFileAtomic`).
 */
export function encodeSafetensorsParts(
  tensors: ReadonlyMap<string, Tensor>,
  metadata: Record<string, string>,
  maxPart = MAX_PART_BYTES,
  maxHeader = MAX_HEADER_BYTES
): Uint8Array[] {
  if (!(tensors instanceof Map)) throw invalidType('tensors', 'a Map of name → { data, shape }', tensors);
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
    throw invalidType('metadata', 'an object of strings', metadata);
  for (const [k, v] of Object.entries(metadata))
    if (typeof v !== 'string') throw invalidType(`metadata.${k}`, 'a string', v);
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw invalidRange('tensor name', 'not "__metadata__"', name);
    if (!(t.data instanceof Float32Array || t.data instanceof Int32Array))
      throw invalidType(`tensors.${name}`, 'a Float32Array or Int32Array', t.data);
    if (!Array.isArray(t.shape) || !(t.shape as unknown[]).every((s) => Number.isSafeInteger(s) && (s as number) >= 0))
      throw invalidType(`tensors.${name}.shape`, 'an array of non-negative integers', t.shape);
    if (elements(t.shape) !== t.data.length)
      throw invalidRange(`tensors.${name}.shape`, `a shape with ${t.data.length} elements`, `[${t.shape}]`);
    header[name] = { dtype: dtypeOf(t.data), shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  // A file the readers would refuse is not written.
  if (headerBytes.length > maxHeader)
    throw invalidRange(
      'metadata',
      `small enough for a header of at most ${maxHeader} bytes`,
      `${headerBytes.length} bytes`
    );
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(headerBytes.length));
  const parts: Uint8Array[] = [head, headerBytes];
  for (const t of tensors.values()) for (const view of byteViews(t.data, maxPart)) parts.push(littleEndian(view));
  return parts;
}

/** Encodes tensors (in the given order) and metadata; returns the whole file as one Buffer. */
export function encodeSafetensors(tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string>): Buffer {
  return concatParts(encodeSafetensorsParts(tensors, metadata));
}

/** The parts of a file as one Buffer (at most 4 GiB). */
export function concatParts(parts: Uint8Array[]): Buffer {
  const total = parts.reduce((sum, p) => sum + p.length, 0);
  if (total > MAX_BUFFER)
    throw invalidRange(
      'tensors',
      `at most ${MAX_BUFFER} bytes in one Buffer (write encodeSafetensorsParts' parts instead)`,
      `${total} bytes`
    );
  return Buffer.concat(parts, total);
}

/**
 * Views of a typed array's bytes, each of at most `piece` bytes (rounded down to whole elements):
 * V8 makes no single Uint8Array of more than 4 GiB, and a weight or state array can be larger.
 */
export function byteViews(a: TensorData, piece = MAX_PART_BYTES): Uint8Array[] {
  const step = Math.max(4, piece - (piece % 4));
  const views: Uint8Array[] = [];
  for (let at = 0; at < a.byteLength; at += step)
    views.push(new Uint8Array(a.buffer, a.byteOffset + at, Math.min(step, a.byteLength - at)));
  return views;
}

/** Bytes in little-endian order (a copy only on big-endian hosts). */
function littleEndian(bytes: Uint8Array): Uint8Array {
  return LITTLE_ENDIAN_HOST ? bytes : swap32(Uint8Array.from(bytes));
}

function swap32(bytes: Uint8Array): Uint8Array {
  for (let i = 0; i < bytes.length; i += 4) {
    [bytes[i], bytes[i + 3]] = [bytes[i + 3], bytes[i]];
    [bytes[i + 1], bytes[i + 2]] = [bytes[i + 2], bytes[i + 1]];
  }
  return bytes;
}

export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Converts little-endian file bytes in place to host order. */
export function toHostOrder(bytes: Uint8Array): void {
  if (!LITTLE_ENDIAN_HOST) swap32(bytes);
}

/**
 * The header length from a file's first 8 bytes (`first` may be shorter when the file is),
 * checked against the cap and the file's size.
 */
export function readHeaderLength(
  first: Uint8Array,
  fileSize: number,
  file: string,
  maxHeader = MAX_HEADER_BYTES
): number {
  if (fileSize < 8)
    throw fileError(file, file, `a safetensors file (at least 8 bytes; it has ${fileSize} — truncated?)`);
  const n = Buffer.from(first.buffer, first.byteOffset, 8).readBigUInt64LE(0);
  if (n < 2n || n > BigInt(maxHeader))
    throw fileError(file, file, `a safetensors header length in [2, ${maxHeader}] (corrupted?)`, String(n));
  if (8 + Number(n) > fileSize)
    throw fileError(file, file, `a complete header (${n} bytes declared, ${fileSize - 8} present — truncated?)`);
  return Number(n);
}

/**
 * Parses and validates a header (its `n` bytes) for a data section of `dataLength` bytes: every
 * entry's dtype, shape and offsets, each span's size = 4 × its element count, and the spans
 * tiling the data section. Nothing is allocated for the tensors.
 */
export function parseHeader(bytes: Uint8Array, dataLength: number, file: string): SafetensorsHeader {
  const fail = (expected: string, actual?: unknown) => fileError(file, file, expected, actual);
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    if (!text.startsWith('{')) throw new Error('does not start with "{"');
    header = parseJsonShallow(text, MAX_HEADER_DEPTH);
  } catch (e) {
    throw fail(`a JSON header (corrupted: ${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw fail('a header that is a JSON object');
  const metadata = readMetadata(file, (header as Record<string, unknown>).__metadata__);
  const spans: TensorSpan[] = [];
  for (const [key, spec] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') continue;
    const where = `${file}: tensor ${quoteName(key)}`;
    if (typeof spec !== 'object' || spec === null)
      throw fileError(file, where, 'an object { dtype, shape, data_offsets }');
    const { dtype, shape, data_offsets: offsets } = spec as Record<string, unknown>;
    if (dtype !== 'F32' && dtype !== 'I32') throw fileError(file, `${where} dtype`, "'F32' or 'I32'", dtype);
    if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0))
      throw fileError(file, `${where} shape`, 'an array of non-negative integers');
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((s) => Number.isSafeInteger(s) && s >= 0))
      throw fileError(file, `${where} data_offsets`, '[begin, end], non-negative integers');
    const [begin, end] = offsets as number[];
    const size = byteSize(shape);
    if (size === undefined) throw fileError(file, `${where} shape`, 'a shape of fewer than 2^53 bytes', `[${shape}]`);
    if (end - begin !== size)
      throw fileError(file, `${where} data_offsets`, `${size} bytes for shape [${shape}]`, end - begin);
    spans.push({ name: key, dtype, shape, begin, end });
  }
  const tiling = [...spans].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const s of tiling) {
    if (s.begin !== at)
      throw fail(
        `tensors that tile the data section (tensor ${quoteName(s.name)} starts at ${s.begin}, expected ${at})`
      );
    at = s.end;
  }
  if (at !== dataLength)
    throw fail(
      `a data section of ${at} bytes (it has ${dataLength} — ${dataLength < at ? 'truncated' : 'trailing bytes'})`
    );
  return { metadata, spans, tiling };
}

/** An empty typed array for a span, to be filled with its bytes. */
export function allocateFor(span: TensorSpan): TensorData {
  const length = (span.end - span.begin) / 4;
  return span.dtype === 'F32' ? new Float32Array(length) : new Int32Array(length);
}

/** Decodes and validates a whole file held in memory; `name` (e.g. the path) prefixes every error. */
export function decodeSafetensors(file: Buffer, name: string): SafetensorsContents {
  if (!Buffer.isBuffer(file)) throw invalidType('file', 'a Buffer', file);
  const headerEnd = 8 + readHeaderLength(file, file.length, name);
  const data = file.subarray(headerEnd);
  const { metadata, spans } = parseHeader(file.subarray(8, headerEnd), data.length, name);
  const tensors = new Map<string, Tensor>();
  for (const span of spans) {
    const out = allocateFor(span);
    const bytes = new Uint8Array(out.buffer);
    bytes.set(data.subarray(span.begin, span.end));
    toHostOrder(bytes);
    tensors.set(span.name, { shape: span.shape, data: out });
  }
  return { tensors, metadata, data };
}

function readMetadata(file: string, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw fileError(file, `${file}: __metadata__`, 'an object of strings');
  for (const [k, v] of Object.entries(value))
    if (typeof v !== 'string') throw fileError(file, `${file}: __metadata__.${k}`, 'a string', v);
  return value as Record<string, string>;
}
