/** The strict .npy reader: round trips, versions, and refusal of what it does not support. */
import test from 'ava';
import { decodeNpy, encodeNpy } from '../lib/npy';

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
  t.deepEqual(Array.from(decodeNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}\n", data, 2)).data), [1, 2]);
  t.deepEqual(decodeNpy(withHeader("{'shape': (1, 2), 'fortran_order': False, 'descr': '<i4', }", Buffer.from(new Int32Array([3, 4]).buffer))).shape, [1, 2]);
});

test('other dtypes, Fortran order, truncation, trailing bytes and bad magic are refused clearly', (t) => {
  const data = Buffer.from(new Float32Array(4).buffer);
  t.throws(() => decodeNpy(withHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", data), 'x.npy'), { instanceOf: RangeError, message: /x\.npy.*float32.*<f8/ });
  t.throws(() => decodeNpy(withHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", data)), { instanceOf: RangeError, message: /little-endian/ });
  t.throws(() => decodeNpy(withHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", data)), { instanceOf: RangeError, message: /C-order/ });
  t.throws(() => decodeNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", data)), { instanceOf: RangeError, message: /truncated/ });
  t.throws(() => decodeNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data)), { instanceOf: RangeError, message: /trailing/ });
  t.throws(() => decodeNpy(withHeader("{'descr': '<f4', 'shape': (4,), }", data)), { instanceOf: RangeError, message: /exactly/ });
  t.throws(() => decodeNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }", data)), { instanceOf: RangeError, message: /shape/ });
  t.throws(() => decodeNpy(Buffer.from('PK\u0003\u0004 not npy at all')), { instanceOf: RangeError, message: /NUMPY/ });
  const full = encodeNpy(new Float32Array(8), [8]);
  t.throws(() => decodeNpy(full.subarray(0, 12)), { instanceOf: RangeError, message: /complete/ });
  t.throws(() => decodeNpy('npy' as unknown as Buffer), { instanceOf: TypeError, message: /bytes/ });
  t.throws(() => encodeNpy(new Float32Array(3), [2]), { instanceOf: RangeError, message: /shape/ });
});
