/**
 * Crafted checkpoints (≤ 1 MB) for `readCheckpoint` and `admmirnn info` (issue 15: D3, D4, D12
 * and the review's C cases). All are refused with a FileFormatError naming the file.
 */
import { createHash } from 'node:crypto';
import type { FileCase } from './file-case';

/** A safetensors file: 8-byte header length, the JSON header padded to 8 bytes, the data. */
function safetensors(header: object, data: Buffer = Buffer.alloc(0)): Buffer {
  let json = JSON.stringify(header);
  json += ' '.repeat(-json.length & 7);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, Buffer.from(json), data]);
}

/** The metadata of a version 1 checkpoint whose model declares these sizes. */
function metadata(sizes: { inputSize: number; hiddenSize: number; outputSize: number }, data: Buffer) {
  const sha256 = createHash('sha256').update(data).digest('hex');
  return { format: 'admmirnn.checkpoint', version: '1', sha256, model: JSON.stringify(sizes) };
}

/** A checkpoint that declares a model of these sizes and holds no tensor. */
const declaring = (sizes: Parameters<typeof metadata>[0]) =>
  safetensors({ __metadata__: metadata(sizes, Buffer.alloc(0)) });
const file = (bytes: () => Buffer) => () => ({ 'x.st': bytes() });

export const CHECKPOINT_CASES: FileCase[] = [
  // D3: every entry was copied out before the offsets were checked to tile the data (C50, C51).
  { name: 'checkpoint D3: 400 tensors spanning the same 960 KiB', kind: 'checkpoint',
    files: file(() => {
      const data = Buffer.alloc(960 << 10);
      const sizes = { inputSize: 1, hiddenSize: 8, outputSize: 2 };
      const header: Record<string, unknown> = { __metadata__: metadata(sizes, data) };
      const span = { dtype: 'F32', shape: [data.length / 4], data_offsets: [0, data.length] };
      for (let i = 0; i < 400; i++) header[`t${i}`] = span;
      return safetensors(header, data);
    }) },
  // D4: the declared model was allocated and initialised before any tensor was looked at (C52, C53).
  { name: 'checkpoint D4: h = K = 8192 declared, no tensors', kind: 'checkpoint',
    files: file(() => declaring({ inputSize: 1, hiddenSize: 8192, outputSize: 8192 })) },
  { name: 'checkpoint D4: h = 16384, K = 32768 declared, no tensors', kind: 'checkpoint',
    files: file(() => declaring({ inputSize: 1, hiddenSize: 16384, outputSize: 32768 })) },
  { name: 'checkpoint: a header of NUL bytes', kind: 'checkpoint',
    files: file(() => Buffer.concat([Buffer.from([64, 0, 0, 0, 0, 0, 0, 0]), Buffer.alloc(64)])) },
  { name: 'checkpoint: header length 2^63', kind: 'checkpoint',
    files: file(() => Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x80]), Buffer.from('{}')])) },
  { name: 'checkpoint: 4 KB of garbage', kind: 'checkpoint',
    files: file(() => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24))) },
  { name: 'checkpoint D12: a symlink to /dev/zero (C49)', kind: 'checkpoint',
    files: () => ({}), special: { 'x.st': 'dev-zero' } },
  { name: 'checkpoint D12: a FIFO (C48)', kind: 'checkpoint', files: () => ({}), special: { 'x.st': 'fifo' } },
];
