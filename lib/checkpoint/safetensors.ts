/**
 * The safetensors container (https://huggingface.co/docs/safetensors), implemented to the spec
 * for the two dtypes used here: 8 bytes little-endian u64 N, then N bytes of JSON header
 * (`{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { string: string } }`,
 * padded with spaces to 8 bytes), then the data section. Offsets are relative to the data
 * section and must tile it exactly: no gaps, no overlaps, nothing after the last tensor.
 */
import { invalidRange, invalidType } from '../errors';

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

/** Largest header accepted on read (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

const dtypeOf = (a: TensorData): Dtype => (a instanceof Float32Array ? 'F32' : 'I32');
const elements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Encodes tensors (in the given order) and metadata; returns the whole file. */
export function encodeSafetensors(tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string>): Buffer {
  if (!(tensors instanceof Map)) throw invalidType('tensors', 'a Map of name → { data, shape }', tensors);
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw invalidType('metadata', 'an object of strings', metadata);
  for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw invalidType(`metadata.${k}`, 'a string', v);
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw invalidRange('tensor name', 'not "__metadata__"', name);
    if (!(t.data instanceof Float32Array || t.data instanceof Int32Array)) throw invalidType(`tensors.${name}`, 'a Float32Array or Int32Array', t.data);
    if (!Array.isArray(t.shape) || !(t.shape as unknown[]).every((s) => Number.isSafeInteger(s) && (s as number) >= 0)) throw invalidType(`tensors.${name}.shape`, 'an array of non-negative integers', t.shape);
    if (elements(t.shape) !== t.data.length) throw invalidRange(`tensors.${name}.shape`, `a shape with ${t.data.length} elements`, `[${t.shape}]`);
    header[name] = { dtype: dtypeOf(t.data), shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const parts: Buffer[] = [head, Buffer.from(json, 'utf8')];
  for (const t of tensors.values()) parts.push(littleEndian(t.data));
  return Buffer.concat(parts);
}

/** The bytes of a typed array in little-endian order (a copy only on big-endian hosts). */
function littleEndian(a: TensorData): Buffer {
  const bytes = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  return LITTLE_ENDIAN_HOST ? bytes : Buffer.from(bytes).swap32();
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Decodes and validates a whole file; `name` (e.g. the path) prefixes every error. */
export function decodeSafetensors(file: Buffer, name: string): SafetensorsContents {
  if (!Buffer.isBuffer(file)) throw invalidType('file', 'a Buffer', file);
  const fail = (what: string, got?: unknown) => invalidRange(name, what, got);
  if (file.length < 8) throw fail(`a safetensors file (at least 8 bytes; it has ${file.length} — truncated?)`);
  const n = file.readBigUInt64LE(0);
  if (n < 2n || n > BigInt(MAX_HEADER_BYTES)) throw fail(`a safetensors header length in [2, ${MAX_HEADER_BYTES}] (corrupted?)`, String(n));
  const headerEnd = 8 + Number(n);
  if (headerEnd > file.length) throw fail(`a complete header (${n} bytes declared, ${file.length - 8} present — truncated?)`);
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, headerEnd));
    if (!text.startsWith('{')) throw new Error('does not start with "{"');
    header = JSON.parse(text);
  } catch (e) {
    throw fail(`a JSON header (corrupted: ${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw fail('a header that is a JSON object');
  const data = file.subarray(headerEnd);
  const metadata = readMetadata(name, (header as Record<string, unknown>).__metadata__);
  const entries = Object.entries(header as Record<string, unknown>).filter(([k]) => k !== '__metadata__');
  const spans: { begin: number; end: number; name: string }[] = [];
  const tensors = new Map<string, Tensor>();
  for (const [key, spec] of entries) {
    const where = `${name}: tensor ${JSON.stringify(key)}`;
    if (typeof spec !== 'object' || spec === null) throw invalidRange(where, 'an object { dtype, shape, data_offsets }');
    const { dtype, shape, data_offsets: offsets } = spec as Record<string, unknown>;
    if (dtype !== 'F32' && dtype !== 'I32') throw invalidRange(`${where} dtype`, "'F32' or 'I32'", dtype);
    if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0)) throw invalidRange(`${where} shape`, 'an array of non-negative integers');
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((s) => Number.isSafeInteger(s) && s >= 0))
      throw invalidRange(`${where} data_offsets`, '[begin, end], non-negative integers');
    const [begin, end] = offsets as number[];
    if (end - begin !== elements(shape) * 4) throw invalidRange(`${where} data_offsets`, `${elements(shape) * 4} bytes for shape [${shape}]`, end - begin);
    spans.push({ begin, end, name: key });
    tensors.set(key, { shape: shape as number[], data: copyOut(data, begin, end, dtype, where) });
  }
  spans.sort((a, b) => a.begin - b.begin);
  let at = 0;
  for (const s of spans) {
    if (s.begin !== at) throw fail(`tensors that tile the data section (tensor ${JSON.stringify(s.name)} starts at ${s.begin}, expected ${at})`);
    at = s.end;
  }
  if (at !== data.length) throw fail(`a data section of ${at} bytes (it has ${data.length} — ${data.length < at ? 'truncated' : 'trailing bytes'})`);
  return { tensors, metadata, data };
}

function readMetadata(name: string, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidRange(`${name}: __metadata__`, 'an object of strings');
  for (const [k, v] of Object.entries(value)) if (typeof v !== 'string') throw invalidRange(`${name}: __metadata__.${k}`, 'a string', v);
  return value as Record<string, string>;
}

function copyOut(data: Buffer, begin: number, end: number, dtype: Dtype, where: string): TensorData {
  if (end > data.length) throw invalidRange(where, `data within the file (ends at ${end}, data section has ${data.length} bytes — truncated?)`);
  const out = dtype === 'F32' ? new Float32Array((end - begin) / 4) : new Int32Array((end - begin) / 4);
  const bytes = Buffer.from(out.buffer);
  bytes.set(data.subarray(begin, end));
  if (!LITTLE_ENDIAN_HOST) bytes.swap32();
  return out;
}
