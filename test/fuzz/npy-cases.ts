/**
 * Crafted `.npy` files (each ≤ 1 MB) for `readNpy` and `train --inputs` (issue 15: D2, D12, D20
 * and the review's N cases). All are refused with a FileFormatError naming the file, except
 * those marked `valid`.
 */
import type { FileCase } from './file-case';

/** A .npy file: magic, version, header length (2 or 4 bytes), header text, data. */
function npy(header: string | Buffer, data: Buffer = Buffer.alloc(0), version = 1, declaredLength?: number): Buffer {
  const text = typeof header === 'string' ? Buffer.from(header, version === 3 ? 'utf8' : 'latin1') : header;
  const head = Buffer.alloc(version === 1 ? 10 : 12);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(head);
  if (version === 1) head.writeUInt16LE(declaredLength ?? text.length, 8);
  else head.writeUInt32LE(declaredLength ?? text.length, 8);
  return Buffer.concat([head, text, data]);
}

const dict = (descr: string, shape: string, fortran = 'False') =>
  `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
const floats = (n: number) => Buffer.from(new Float32Array(n).fill(0.5).buffer);
const file = (bytes: () => Buffer) => () => ({ 'x.npy': bytes() });

export const NPY_CASES: FileCase[] = [
  // D2: the regex parser backtracked cubically on "{" and whitespace (4,000 spaces took 15 s).
  {
    name: 'npy D2: "{" and 60,000 spaces (v1 header above the cap)',
    kind: 'npy',
    expect: /at most 10000 bytes/,
    files: file(() => npy('{' + ' '.repeat(60_000))),
  },
  {
    name: 'npy D2: "{" and 9,990 spaces (under the cap, no closing brace)',
    kind: 'npy',
    expect: /Python dict/,
    files: file(() => npy('{' + ' '.repeat(9_990))),
  },
  {
    name: 'npy D2: "{" and 9,990 tabs and newlines',
    kind: 'npy',
    expect: /Python dict/,
    files: file(() => npy('{' + '\t\n'.repeat(4_995))),
  },
  {
    name: 'npy D2: "{\'descr\'" then 9,000 spaces and a colon, unclosed',
    kind: 'npy',
    expect: /Python dict/,
    files: file(() => npy("{'descr'" + ' '.repeat(9_000) + ':')),
  },
  {
    name: 'npy N18: v2 header length 4 GiB − 1 in a small file',
    kind: 'npy',
    expect: /at most 10000 bytes/,
    files: file(() => npy('{}', undefined, 2, 0xffff_ffff)),
  },
  {
    name: 'npy N19: v3 header of 10,001 bytes',
    kind: 'npy',
    expect: /at most 10000 bytes/,
    files: file(() => npy(dict('<f4', '(1,)').padEnd(10_000, ' ') + '\n', floats(1), 3)),
  },
  {
    name: 'npy D20: shape (2^70, 2^70, 0)',
    kind: 'npy',
    expect: /2\^53/,
    files: file(() => npy(dict('<f4', `(${2n ** 70n}, ${2n ** 70n}, 0)`))),
  },
  {
    name: 'npy D20: shape (2^40, 2^40, 0): the extents overflow',
    kind: 'npy',
    expect: /2\^53 − 1 bytes/,
    files: file(() => npy(dict('<f4', `(${2 ** 40}, ${2 ** 40}, 0)`))),
  },
  {
    name: 'npy D20: a dimension of 400 digits',
    kind: 'npy',
    expect: /2\^53/,
    files: file(() => npy(dict('<f4', `(${'9'.repeat(400)},)`))),
  },
  {
    name: 'npy D20: cut off after the magic (v2, 9 bytes)',
    kind: 'npy',
    expect: /truncated/,
    files: file(() => Buffer.from('\x93NUMPY\x02\x00\x05', 'latin1')),
  },
  {
    name: 'npy: cut off inside the magic',
    kind: 'npy',
    expect: /truncated/,
    files: file(() => Buffer.from('\x93NUM', 'latin1')),
  },
  { name: 'npy: empty file', kind: 'npy', expect: /empty/, files: file(() => Buffer.alloc(0)) },
  {
    name: 'npy: a zip file (np.savez) instead of .npy',
    kind: 'npy',
    expect: /NUMPY/,
    files: file(() => Buffer.from('PK\x03\x04 not npy at all', 'latin1')),
  },
  {
    name: 'npy: format version 9',
    kind: 'npy',
    expect: /version 1, 2 or 3/,
    files: file(() => npy(dict('<f4', '(1,)'), floats(1), 9)),
  },
  {
    name: 'npy: 2^30 float32 declared (4 GiB), 16 bytes of data',
    kind: 'npy',
    expect: /truncated/,
    files: file(() => npy(dict('<f4', `(${2 ** 30},)`), floats(4))),
  },
  {
    name: 'npy: 2^31 × 2^10 int32 declared (8 TiB), no data',
    kind: 'npy',
    expect: /truncated/,
    files: file(() => npy(dict('<i4', `(${2 ** 31}, ${2 ** 10})`))),
  },
  {
    name: 'npy: trailing bytes after the data',
    kind: 'npy',
    expect: /trailing/,
    files: file(() => npy(dict('<f4', '(2,)'), floats(3))),
  },
  {
    name: 'npy: 65 dimensions',
    kind: 'npy',
    expect: /at most 64 dimensions/,
    files: file(() => npy(dict('<f4', `(${Array(65).fill(1).join(', ')})`), floats(1))),
  },
  {
    name: 'npy: a nested tuple as shape',
    kind: 'npy',
    expect: /header dict/,
    files: file(() => npy(dict('<f4', '((2,), 2)'), floats(4))),
  },
  {
    name: 'npy: a negative dimension',
    kind: 'npy',
    expect: /non-negative integers/,
    files: file(() => npy(dict('<f4', '(-4,)'), floats(4))),
  },
  {
    name: 'npy: a duplicated key',
    kind: 'npy',
    expect: /second "descr"/,
    files: file(() => npy(`{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }`, floats(1))),
  },
  {
    name: 'npy: an unterminated key',
    kind: 'npy',
    expect: /no closing '/,
    files: file(() => npy(`{'descr: <f4}`, floats(1))),
  },
  {
    name: 'npy: a missing key',
    kind: 'npy',
    expect: /exactly/,
    files: file(() => npy(`{'descr': '<f4', 'shape': (1,), }`, floats(1))),
  },
  {
    name: 'npy: a list as value (structured dtype)',
    kind: 'npy',
    expect: /not a string, True, False or a tuple/,
    files: file(() => npy(`{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }`, floats(1))),
  },
  { name: 'npy: float64', kind: 'npy', expect: /<f8/, files: file(() => npy(dict('<f8', '(2,)'), floats(4))) },
  {
    name: 'npy: big-endian float32',
    kind: 'npy',
    expect: /little-endian/,
    files: file(() => npy(dict('>f4', '(2,)'), floats(2))),
  },
  {
    name: 'npy: Fortran order',
    kind: 'npy',
    expect: /C-order/,
    files: file(() => npy(dict('<f4', '(2, 2)', 'True'), floats(4))),
  },
  {
    name: 'npy: fortran_order neither True nor False',
    kind: 'npy',
    expect: /not a string, True, False/,
    files: file(() => npy(dict('<f4', '(2,)', 'None'), floats(2))),
  },
  {
    name: 'npy: header of NUL bytes',
    kind: 'npy',
    expect: /Python dict/,
    files: file(() => npy(Buffer.alloc(118), floats(1))),
  },
  {
    name: 'npy D12: a symlink to /dev/zero',
    kind: 'npy',
    expect: /regular file, it is a character device/,
    files: () => ({}),
    special: { 'x.npy': 'dev-zero' },
  },
  {
    name: 'npy D12: a FIFO',
    kind: 'npy',
    expect: /regular file, it is a FIFO/,
    files: () => ({}),
    special: { 'x.npy': 'fifo' },
  },
  {
    name: 'npy: a header padded to exactly 10,000 bytes',
    kind: 'npy',
    valid: true,
    files: file(() => npy(dict('<f4', '(3,)').padEnd(9_999, ' ') + '\n', floats(3))),
  },
  {
    name: 'npy: a version 3 (UTF-8) header, no trailing comma',
    kind: 'npy',
    valid: true,
    files: file(() => npy(`{"descr": "<i4", "fortran_order": False, "shape": (2, 2)}\n`, Buffer.alloc(16), 3)),
  },
];
