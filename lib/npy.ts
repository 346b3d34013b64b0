/**
 * A strict reader and writer of NumPy `.npy` files (format versions 1.0–3.0) for the two
 * dtypes the library computes with: little-endian float32 (`<f4`) and int32 (`<i4`), C order.
 * Anything else — other dtypes, Fortran order, a truncated or over-long data section — is
 * refused with a RangeError that says what was found, rather than guessed at.
 */
import { invalidRange, invalidType } from './errors';

export interface NpyArray {
  data: Float32Array | Int32Array;
  shape: number[];
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

/** Parses the header dict literal, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`. */
function parseHeader(name: string, text: string): { descr: string; fortran: boolean; shape: number[] } {
  const m = /^\{\s*(.*?)\s*\}\s*$/s.exec(text);
  if (!m) throw invalidRange(name, 'a .npy file whose header is a Python dict', text);
  const fields = new Map<string, string>();
  const re = /'([a-z_]+)'\s*:\s*('[^']*'|True|False|\([^)]*\))\s*(,|$)/gy;
  const body = m[1];
  let match: RegExpExecArray | null;
  re.lastIndex = 0;
  while (re.lastIndex < body.length && (match = re.exec(body))) {
    fields.set(match[1], match[2]);
    while (body[re.lastIndex] === ' ') re.lastIndex++;
  }
  if (re.lastIndex !== body.length || fields.size !== 3 || !fields.has('descr') || !fields.has('fortran_order') || !fields.has('shape'))
    throw invalidRange(name, "a .npy header with exactly 'descr', 'fortran_order' and 'shape'", text);
  const shapeText = fields.get('shape')!.slice(1, -1).trim();
  const shape = shapeText === '' ? [] : shapeText.split(',').map((s) => s.trim()).filter((s, i, all) => s !== '' || i !== all.length - 1);
  if (!shape.every((s) => /^\d+$/.test(s))) throw invalidRange(name, 'a .npy shape of non-negative integers', fields.get('shape'));
  return { descr: fields.get('descr')!.slice(1, -1), fortran: fields.get('fortran_order') === 'True', shape: shape.map(Number) };
}

/** Decodes a whole .npy file held in memory. `name` is used in error messages (e.g. the path). */
export function decodeNpy(bytes: Uint8Array, name = 'npy'): NpyArray {
  if (!(bytes instanceof Uint8Array)) throw invalidType('bytes', 'a Uint8Array or Buffer', bytes);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw invalidRange(name, 'a .npy file (it does not start with \\x93NUMPY)');
  const major = buf[6];
  if (major < 1 || major > 3) throw invalidRange(name, 'a .npy file of format version 1, 2 or 3', `${major}.${buf[7]}`);
  const lengthBytes = major === 1 ? 2 : 4;
  const headerLength = major === 1 ? buf.readUInt16LE(8) : buf.length >= 12 ? buf.readUInt32LE(8) : Infinity;
  const dataStart = 8 + lengthBytes + headerLength;
  if (dataStart > buf.length) throw invalidRange(name, `a complete .npy file (header of ${headerLength} bytes, file of ${buf.length})`);
  const header = parseHeader(name, buf.toString(major === 3 ? 'utf8' : 'latin1', 8 + lengthBytes, dataStart));
  if (header.fortran) throw invalidRange(name, 'a C-order array (fortran_order True is not supported; use np.ascontiguousarray)');
  const ctor = header.descr === '<f4' ? Float32Array : header.descr === '<i4' ? Int32Array : undefined;
  if (!ctor) throw invalidRange(name, "a little-endian float32 ('<f4') or int32 ('<i4') array", header.descr);
  const count = header.shape.reduce((a, b) => a * b, 1);
  const expected = count * 4;
  if (buf.length - dataStart !== expected)
    throw invalidRange(name, `${expected} data bytes for shape (${header.shape.join(', ')}) (${buf.length - dataStart < expected ? 'truncated' : 'trailing bytes'})`, buf.length - dataStart);
  const data = new ctor(count);
  Buffer.from(data.buffer).set(buf.subarray(dataStart));
  return { data, shape: header.shape };
}

/** Encodes a float32 or int32 array as a version 1.0 .npy file. */
export function encodeNpy(data: Float32Array | Int32Array, shape: readonly number[]): Buffer {
  if (!(data instanceof Float32Array || data instanceof Int32Array)) throw invalidType('data', 'a Float32Array or Int32Array', data);
  if (!Array.isArray(shape) || !shape.every((s) => Number.isInteger(s) && s >= 0)) throw invalidType('shape', 'an array of non-negative integers', shape);
  if (shape.reduce((a, b) => a * b, 1) !== data.length) throw invalidRange('shape', `a shape with ${data.length} elements`, `(${shape.join(', ')})`);
  const descr = data instanceof Float32Array ? '<f4' : '<i4';
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n'; // data starts 64-byte aligned
  const head = Buffer.alloc(10);
  MAGIC.copy(head);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}
