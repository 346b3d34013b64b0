/** The strict .npy reader: round trips, versions, and refusal of what it does not support. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { FileFormatError } from '../lib/file-error';
import { decodeNpy, encodeNpy, readNpy } from '../lib/npy';

test('float32 and int32 arrays round-trip with their shapes, data 64-byte aligned', (t) => {
  const f = Float32Array.from({ length: 24 }, (_, i) => i / 7);
  const file = encodeNpy(f, [2, 3, 4]);
  t.is((file.readUInt16LE(8) + 10) % 64, 0);
  t.deepEqual(decodeNpy(file), { data: f, shape: [2, 3, 4] });
  const i = Int32Array.from([5, -1, 7]);
  t.deepEqual(decodeNpy(encodeNpy(i, [3])), { data: i, shape: [3] });
  t.deepEqual(decodeNpy(encodeNpy(new Float32Array([2.5]), [])).shape, []);
});

function withHeader(header: string, data: Buffer, version = 1): Buffer {
  const head = Buffer.alloc(version === 1 ? 10 : 12);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(head);
  if (version === 1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}

test('version 2 headers and headers without the trailing comma are read', (t) => {
  const data = Buffer.from(new Float32Array([1, 2]).buffer);
  t.deepEqual(
    Array.from(decodeNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}\n", data, 2)).data),
    [1, 2]
  );
  t.deepEqual(
    decodeNpy(
      withHeader(
        "{'shape': (1, 2), 'fortran_order': False, 'descr': '<i4', }",
        Buffer.from(new Int32Array([3, 4]).buffer)
      )
    ).shape,
    [1, 2]
  );
});

test('other dtypes, Fortran order, truncation, trailing bytes and bad magic are refused clearly', (t) => {
  const data = Buffer.from(new Float32Array(4).buffer);
  t.throws(() => decodeNpy(withHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", data), 'x.npy'), {
    instanceOf: RangeError,
    message: /x\.npy.*float32.*<f8/,
  });
  t.throws(() => decodeNpy(withHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", data)), {
    instanceOf: RangeError,
    message: /little-endian/,
  });
  t.throws(() => decodeNpy(withHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", data)), {
    instanceOf: RangeError,
    message: /C-order/,
  });
  t.throws(() => decodeNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", data)), {
    instanceOf: RangeError,
    message: /truncated/,
  });
  t.throws(() => decodeNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data)), {
    instanceOf: RangeError,
    message: /trailing/,
  });
  t.throws(() => decodeNpy(withHeader("{'descr': '<f4', 'shape': (4,), }", data)), {
    instanceOf: RangeError,
    message: /exactly/,
  });
  t.throws(() => decodeNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }", data)), {
    instanceOf: RangeError,
    message: /shape/,
  });
  t.throws(() => decodeNpy(Buffer.from('PK\u0003\u0004 not npy at all')), { instanceOf: RangeError, message: /NUMPY/ });
  const full = encodeNpy(new Float32Array(8), [8]);
  t.throws(() => decodeNpy(full.subarray(0, 12)), { instanceOf: RangeError, message: /complete/ });
  t.throws(() => decodeNpy('npy' as unknown as Buffer), { instanceOf: TypeError, message: /bytes/ });
  t.throws(() => encodeNpy(new Float32Array(3), [2]), { instanceOf: RangeError, message: /shape/ });
});

test('issue 15 D2: headers are parsed in linear time and capped at 10,000 bytes, as NumPy', (t) => {
  const data = Buffer.from(new Float32Array(3).buffer);
  t.throws(() => decodeNpy(withHeader('{' + ' '.repeat(60_000), Buffer.alloc(0)), 'a.npy'), {
    instanceOf: RangeError,
    message: /a\.npy must be a \.npy file whose header has at most 10000 bytes .*60001/,
  });
  // 4,000 spaces took 15 s with the regular expression; 9,990 are under the cap.
  t.throws(() => decodeNpy(withHeader('{' + ' '.repeat(9_990), Buffer.alloc(0))), {
    instanceOf: RangeError,
    message: /Python dict/,
  });
  const padded = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }".padEnd(9_999, ' ') + '\n';
  t.deepEqual(decodeNpy(withHeader(padded, data)).shape, [3]);
  t.throws(() => decodeNpy(withHeader(padded + ' ', data)), {
    instanceOf: RangeError,
    message: /at most 10000 bytes .*, got 10001/,
  });
});

test('issue 15 D20: dimensions above 2^53 and overflowing extents are refused; a cut-off preamble is truncated', (t) => {
  const empty = Buffer.alloc(0);
  const shaped = (shape: string) => withHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`, empty);
  t.throws(() => decodeNpy(shaped(`(${2n ** 70n}, ${2n ** 70n}, 0)`)), {
    instanceOf: RangeError,
    message: /dimensions at most 2\^53 − 1, got "1180591620717411303424"/,
  });
  t.throws(() => decodeNpy(shaped(`(${2 ** 40}, ${2 ** 40}, 0)`)), {
    instanceOf: RangeError,
    message: /at most 2\^53 − 1 bytes/,
  });
  t.deepEqual(decodeNpy(shaped(`(${2 ** 40}, 0)`)).shape, [2 ** 40, 0]);
  t.throws(() => decodeNpy(Buffer.from('\x93NUMPY\x02\x00\x05', 'latin1'), 't.npy'), {
    instanceOf: RangeError,
    message: /t\.npy must be a complete \.npy file \(truncated: it ends after 9 bytes/,
  });
  t.throws(() => decodeNpy(Buffer.from('\x93NUM', 'latin1')), { instanceOf: RangeError, message: /truncated/ });
  t.throws(() => decodeNpy(Buffer.alloc(0)), { instanceOf: RangeError, message: /empty/ });
});

test('readNpy reads a regular file after checking the declared data against its size', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'admmirnn-npy-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const f = Float32Array.from({ length: 6 }, (_, i) => i - 2.5);
  fs.writeFileSync(path.join(dir, 'x.npy'), encodeNpy(f, [2, 3]));
  t.deepEqual(readNpy(path.join(dir, 'x.npy')), { data: f, shape: [2, 3] });
  // 2^30 floats declared, 16 bytes present: refused from the sizes, nothing allocated for the 4 GiB.
  const big = withHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': (${2 ** 30},), }`, Buffer.alloc(16));
  fs.writeFileSync(path.join(dir, 'big.npy'), big);
  t.throws(() => readNpy(path.join(dir, 'big.npy')), {
    instanceOf: FileFormatError,
    message: /big\.npy must be 4294967296 data bytes.*truncated/,
  });
  fs.symlinkSync('/dev/zero', path.join(dir, 'zero.npy'));
  t.throws(() => readNpy(path.join(dir, 'zero.npy')), {
    instanceOf: FileFormatError,
    message: /zero\.npy must be a regular file/,
  });
  t.throws(() => readNpy(42 as unknown as string), {
    instanceOf: TypeError,
    message: /file must be a non-empty string/,
  });
});
