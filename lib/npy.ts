/**
 * A strict reader and writer of NumPy `.npy` files (format versions 1.0–3.0) for the two
 * dtypes the library computes with: little-endian float32 (`<f4`) and int32 (`<i4`), C order.
 * Anything else — other dtypes, Fortran order, a truncated or over-long data section — is
 * refused with a RangeError that says what was found, rather than guessed at. The header is
 * parsed in one linear pass and capped at MAX_NPY_HEADER_BYTES; the shape is checked before
 * anything is allocated for it, and the data size against the file's.
 */
import { invalidRange, invalidType } from './errors';
import { FileFormatError } from './file-error';
import { openUntrustedFileSync } from './untrusted-file';

export interface NpyArray {
  data: Float32Array | Int32Array;
  shape: number[];
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

/** Longest header read, as NumPy's own `np.load` (its `max_header_size` default). */
export const MAX_NPY_HEADER_BYTES = 10_000;
/** Most dimensions, as NumPy 2 (NPY_MAXDIMS). */
const MAX_NPY_DIMS = 64;
/** Magic (6), version (2) and the longest header-length field (4). */
const PREAMBLE_BYTES = 12;

interface Preamble {
  major: number;
  headerStart: number;
  headerLength: number;
}

/** The magic, version and header length from the first bytes (`head`) of a file of `size` bytes. */
function readPreamble(name: string, head: Uint8Array, size: number): Preamble {
  const seen = Buffer.from(head.buffer, head.byteOffset, Math.min(head.byteLength, MAGIC.length));
  if (!seen.equals(MAGIC.subarray(0, seen.length)))
    throw invalidRange(name, 'a .npy file (it does not start with \\x93NUMPY)');
  if (size === 0) throw invalidRange(name, 'a .npy file (it is empty)');
  const truncated = (where: string) =>
    invalidRange(name, `a complete .npy file (truncated: it ends after ${size} bytes, ${where})`);
  if (size < 8) throw truncated('inside the magic string and version');
  const major = head[6],
    minor = head[7];
  if (major < 1 || major > 3) throw invalidRange(name, 'a .npy file of format version 1, 2 or 3', `${major}.${minor}`);
  const headerStart = major === 1 ? 10 : 12;
  if (size < headerStart) throw truncated(`inside the header length of a version ${major} file`);
  const view = Buffer.from(head.buffer, head.byteOffset, headerStart);
  const headerLength = major === 1 ? view.readUInt16LE(8) : view.readUInt32LE(8);
  if (headerLength > MAX_NPY_HEADER_BYTES)
    throw invalidRange(
      name,
      `a .npy file whose header has at most ${MAX_NPY_HEADER_BYTES} bytes (as NumPy's max_header_size)`,
      headerLength
    );
  if (headerStart + headerLength > size)
    throw invalidRange(name, `a complete .npy file (truncated: header of ${headerLength} bytes, file of ${size})`);
  return { major, headerStart, headerLength };
}

const SPACE = new Set([' ', '\t', '\n', '\r', '\f', '\v']);

/**
 * The header dict literal, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`,
 * in one pass: each value is a quoted string, True, False or a parenthesised tuple.
 */
function parseDict(name: string, text: string): Map<string, string> {
  const body = text.trim();
  if (body[0] !== '{' || body[body.length - 1] !== '}')
    throw invalidRange(name, 'a .npy file whose header is a Python dict', text);
  const end = body.length - 1;
  const bad = (what: string) => invalidRange(name, `a .npy header dict (${what} at character ${at})`, text);
  let at = 1;
  const skipSpace = () => {
    while (at < end && SPACE.has(body[at])) at++;
  };
  const until = (close: string) => {
    const stop = body.indexOf(close, at + 1);
    if (stop < 0 || stop >= end) throw bad(`no closing ${close}`);
    const value = body.slice(at, stop + 1);
    at = stop + 1;
    return value;
  };
  const fields = new Map<string, string>();
  skipSpace();
  while (at < end) {
    if (body[at] !== "'" && body[at] !== '"') throw bad('a key that is not a quoted string');
    const key = until(body[at]).slice(1, -1);
    skipSpace();
    if (body[at] !== ':') throw bad('no colon');
    at++;
    skipSpace();
    let value: string;
    if (body[at] === "'" || body[at] === '"') value = until(body[at]);
    else if (body[at] === '(') value = until(')');
    else if (body.startsWith('True', at) || body.startsWith('False', at)) {
      value = body[at] === 'T' ? 'True' : 'False';
      at += value.length;
    } else throw bad('a value that is not a string, True, False or a tuple');
    if (fields.has(key)) throw bad(`a second ${JSON.stringify(key)}`);
    fields.set(key, value);
    skipSpace();
    if (at < end) {
      if (body[at] !== ',') throw bad('no comma between entries');
      at++;
      skipSpace();
    }
  }
  return fields;
}

/** The dimensions of a shape tuple like `(3, 4)`, `(3,)` or `()`, each at most 2^53 − 1. */
function parseShape(name: string, tuple: string): number[] {
  const inner = tuple.slice(1, -1).trim();
  const parts = inner === '' ? [] : inner.split(',').map((s) => s.trim());
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop(); // (3,)
  if (parts.length > MAX_NPY_DIMS)
    throw invalidRange(name, `a .npy shape of at most ${MAX_NPY_DIMS} dimensions`, parts.length);
  const shape = parts.map((s) => {
    if (!/^\d+$/.test(s)) throw invalidRange(name, 'a .npy shape of non-negative integers', tuple);
    const n = Number(s);
    if (!Number.isSafeInteger(n)) throw invalidRange(name, 'a .npy shape of dimensions at most 2^53 − 1', s);
    return n;
  });
  // The byte size of the non-empty extents must be exact, so that it can be checked against the file.
  let bytes = 4;
  for (const n of shape)
    if (n > 0 && (bytes *= n) > Number.MAX_SAFE_INTEGER)
      throw invalidRange(name, 'a .npy shape of at most 2^53 − 1 bytes', tuple);
  return shape;
}

interface Layout {
  ctor: Float32ArrayConstructor | Int32ArrayConstructor;
  shape: number[];
  count: number;
  dataStart: number;
}

/** Everything the header declares, checked, and the data size checked against the file's `size`. */
function readLayout(name: string, preamble: Preamble, header: Uint8Array, size: number): Layout {
  const text = Buffer.from(header.buffer, header.byteOffset, header.byteLength).toString(
    preamble.major === 3 ? 'utf8' : 'latin1'
  );
  const fields = parseDict(name, text);
  if (fields.size !== 3 || !fields.has('descr') || !fields.has('fortran_order') || !fields.has('shape'))
    throw invalidRange(name, "a .npy header with exactly 'descr', 'fortran_order' and 'shape'", text);
  const shapeText = fields.get('shape')!;
  if (shapeText[0] !== '(') throw invalidRange(name, 'a .npy shape that is a tuple', shapeText);
  const shape = parseShape(name, shapeText);
  const descr = fields.get('descr')!.slice(1, -1);
  const fortran = fields.get('fortran_order');
  if (fortran !== 'True' && fortran !== 'False')
    throw invalidRange(name, 'a .npy fortran_order of True or False', fortran);
  if (fortran === 'True')
    throw invalidRange(name, 'a C-order array (fortran_order True is not supported; use np.ascontiguousarray)');
  const ctor = descr === '<f4' ? Float32Array : descr === '<i4' ? Int32Array : undefined;
  if (!ctor) throw invalidRange(name, "a little-endian float32 ('<f4') or int32 ('<i4') array", descr);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = preamble.headerStart + preamble.headerLength;
  const expected = count * 4,
    actual = size - dataStart;
  if (actual !== expected)
    throw invalidRange(
      name,
      `${expected} data bytes for shape (${shape.join(', ')}) ` +
        `(${actual < expected ? 'truncated' : 'trailing bytes'})`,
      actual
    );
  return { ctor, shape, count, dataStart };
}

/** Decodes a whole .npy file held in memory. `name` is used in error messages (e.g. the path). */
export function decodeNpy(bytes: Uint8Array, name = 'npy'): NpyArray {
  if (!(bytes instanceof Uint8Array)) throw invalidType('bytes', 'a Uint8Array or Buffer', bytes);
  const preamble = readPreamble(name, bytes.subarray(0, PREAMBLE_BYTES), bytes.length);
  const header = bytes.subarray(preamble.headerStart, preamble.headerStart + preamble.headerLength);
  const { ctor, shape, count, dataStart } = readLayout(name, preamble, header, bytes.length);
  const data = new ctor(count);
  new Uint8Array(data.buffer).set(bytes.subarray(dataStart));
  return { data, shape };
}

/**
 * Reads a .npy file: a regular file only, the header (at most MAX_NPY_HEADER_BYTES) read first
 * and its shape checked against the file's size before the data is allocated. Any problem is
 * a FileFormatError naming the file.
 */
export function readNpy(file: string): NpyArray {
  if (typeof file !== 'string' || file === '') throw invalidType('file', 'a non-empty string', file);
  const opened = openUntrustedFileSync(file, '.npy file');
  try {
    const preamble = readPreamble(file, opened.read(0, Math.min(opened.size, PREAMBLE_BYTES)), opened.size);
    const header = opened.read(preamble.headerStart, preamble.headerLength);
    const { ctor, shape, count, dataStart } = readLayout(file, preamble, header, opened.size);
    const data = new ctor(count);
    opened.readInto(new Uint8Array(data.buffer), dataStart);
    return { data, shape };
  } catch (e) {
    if (e instanceof RangeError && !(e instanceof FileFormatError)) throw new FileFormatError(file, e.message);
    throw e;
  } finally {
    opened.close();
  }
}

/** Encodes a float32 or int32 array as a version 1.0 .npy file. */
export function encodeNpy(data: Float32Array | Int32Array, shape: readonly number[]): Buffer {
  if (!(data instanceof Float32Array || data instanceof Int32Array))
    throw invalidType('data', 'a Float32Array or Int32Array', data);
  if (!Array.isArray(shape) || !shape.every((s) => Number.isInteger(s) && s >= 0))
    throw invalidType('shape', 'an array of non-negative integers', shape);
  if (shape.reduce((a, b) => a * b, 1) !== data.length)
    throw invalidRange('shape', `a shape with ${data.length} elements`, `(${shape.join(', ')})`);
  const descr = data instanceof Float32Array ? '<f4' : '<i4';
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n'; // data starts 64-byte aligned
  const head = Buffer.alloc(10);
  MAGIC.copy(head);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([
    head,
    Buffer.from(header, 'latin1'),
    Buffer.from(data.buffer, data.byteOffset, data.byteLength),
  ]);
}
