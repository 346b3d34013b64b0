/**
 * Crafted checkpoints (each ≤ 1 MB) for `readCheckpoint`. Every one must be refused with a
 * FileFormatError naming the file, within bounded memory and time, except those marked `valid`.
 * Several once cost far more than their size: overlapping tensors copied once per header entry
 * (D3), model sizes from the metadata allocated and initialised before any tensor was looked at
 * (D4).
 */
import { createHash } from 'node:crypto';
import { encodeCheckpoint } from '../../lib/checkpoint/write';
import { RNN } from '../../lib/rnn';
import type { FileCase } from './file-case';

const FILE = 'crafted.safetensors';

/** A safetensors file from a header object and a data section (the header padded to 8 bytes). */
export function safetensorsFile(header: Record<string, unknown>, data: Buffer = Buffer.alloc(0)): Buffer {
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json), data]);
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Checkpoint metadata for a model of these sizes whose data section is `data`. */
function metadata(sizes: { d: number; h: number; K: number }, data: Buffer, extra: Record<string, string> = {}) {
  return {
    format: 'admmirnn.checkpoint',
    version: '1',
    sha256: sha256(data),
    model: JSON.stringify({ inputSize: sizes.d, hiddenSize: sizes.h, outputSize: sizes.K }),
    ...extra,
  };
}

const MODEL_SHAPES = (d: number, h: number, K: number) =>
  [
    ['model.U', [h, d]],
    ['model.W', [h, h]],
    ['model.b', [h]],
    ['model.V', [K, h]],
    ['model.c', [K]],
  ] as const;

/** The header entries of a model of these sizes, in order, and the length of their data. */
function modelHeader(sizes: { d: number; h: number; K: number }) {
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const [name, shape] of MODEL_SHAPES(sizes.d, sizes.h, sizes.K)) {
    const bytes = 4 * shape.reduce((a: number, b: number) => a * b, 1);
    header[name] = { dtype: 'F32', shape, data_offsets: [at, at + bytes] };
    at += bytes;
  }
  return { header, bytes: at };
}

/** The tensors of a small model of these sizes with their data (`fill` for every weight). */
function modelTensors(sizes: { d: number; h: number; K: number }, fill = 0) {
  const { header, bytes } = modelHeader(sizes);
  return { header, data: Buffer.from(new Float32Array(bytes / 4).fill(fill).buffer) };
}

/** A small valid checkpoint whose header `edit` changes (the data and its checksum kept). */
function edited(edit: (header: Record<string, any>) => void, data?: Buffer): Buffer {
  const sizes = { d: 3, h: 4, K: 2 };
  const model = modelTensors(sizes, 0.25);
  const header: Record<string, any> = { __metadata__: metadata(sizes, data ?? model.data), ...model.header };
  edit(header);
  return safetensorsFile(header, data ?? model.data);
}

const one = (bytes: () => Buffer) => () => ({ [FILE]: bytes() });

/** A checkpoint with no tensors whose metadata declares a model of these sizes (D4). */
function sizesOnly(d: number, h: number, K: number): Buffer {
  return safetensorsFile({ __metadata__: metadata({ d, h, K }, Buffer.alloc(0)) });
}

/** `count` header entries that all span the same `bytes` of data (D3). */
function overlapping(count: number, bytes: number): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'admmirnn.checkpoint' } };
  for (let i = 0; i < count; i++) header[`t${i}`] = { dtype: 'F32', shape: [bytes / 4], data_offsets: [0, bytes] };
  return safetensorsFile(header, Buffer.alloc(bytes));
}

/** A small checkpoint with an ADMM state whose `admm` metadata `edit` changes (D21). */
function withState(edit: (admm: Record<string, unknown>, trainer: Record<string, unknown>) => void): Buffer {
  const sizes = { d: 2, h: 2, K: 2 },
    N = 1,
    T = 2;
  const model = modelTensors(sizes, 0.5);
  const header: Record<string, unknown> = { ...model.header };
  const parts = [model.data];
  let at = model.data.length;
  for (const key of ['A', 'S', 'TA', 'M1', 'M2', 'O', 'M3']) {
    const shape = key === 'O' || key === 'M3' ? [N, 1, sizes.K] : [N, T, sizes.h];
    const bytes = Buffer.alloc(4 * shape.reduce((a, b) => a * b, 1));
    header[`admm.${key}`] = { dtype: 'F32', shape, data_offsets: [at, at + bytes.length] };
    parts.push(bytes);
    at += bytes.length;
  }
  const data = Buffer.concat(parts);
  const admm: Record<string, unknown> = { iteration: 3, rho: [1, 1, 1], theta: { uwb: 1, a: 1, s: 1, vc: 1 }, beta: 0 };
  const trainer: Record<string, unknown> = { kind: 'admm', options: {}, iteration: 3 };
  edit(admm, trainer);
  const task = { source: 'npy', sequenceLength: T, loss: 'softmax-cross-entropy', lossSteps: 'last', inputs: 'dense' };
  const extra = { task: JSON.stringify(task), trainer: JSON.stringify(trainer), admm: JSON.stringify(admm) };
  return safetensorsFile({ __metadata__: metadata(sizes, data, extra), ...header }, data);
}

export const CHECKPOINT_CASES: FileCase[] = [
  // D3: every entry was copied before the tiling check (2,000 × 512 KiB = 1 GB from a 0.6 MB file).
  {
    name: 'D3: 2,000 tensors spanning the same 512 KiB',
    kind: 'checkpoint',
    files: one(() => overlapping(2000, 1 << 19)),
  },
  {
    name: 'D3: two tensors overlapping by one element',
    kind: 'checkpoint',
    files: one(() => edited((h) => (h['model.W'].data_offsets = h['model.W'].data_offsets.map((o: number) => o - 4)))),
  },
  {
    name: 'D3: a tensor beyond the data section',
    kind: 'checkpoint',
    files: one(() =>
      edited((h) => {
        h['model.c'] = { dtype: 'F32', shape: [2 ** 40], data_offsets: [2 ** 20, 2 ** 20 + 2 ** 42] };
      })
    ),
  },
  {
    name: 'D3: a shape of 2^90 elements',
    kind: 'checkpoint',
    files: one(() => edited((h) => (h['model.c'].shape = [2 ** 30, 2 ** 30, 2 ** 30]))),
  },
  {
    name: 'D3: 15,000 empty tensors at offset 0',
    kind: 'checkpoint',
    files: one(() =>
      edited((h) => {
        for (let i = 0; i < 15_000; i++) h[`z${i}`] = { dtype: 'I32', shape: [0], data_offsets: [0, 0] };
      })
    ),
  },
  // D4: the model was allocated and randomly initialised from these sizes before any tensor was read.
  {
    name: 'D4: h = K = 8192 and no tensors (232 bytes, was 580 MB)',
    kind: 'checkpoint',
    files: one(() => sizesOnly(1, 8192, 8192)),
  },
  { name: 'D4: h = 16384, K = 32768 and no tensors', kind: 'checkpoint', files: one(() => sizesOnly(1, 16384, 32768)) },
  { name: 'D4: K·h above 2^31 parameters', kind: 'checkpoint', files: one(() => sizesOnly(1, 16384, 2 ** 20)) },
  {
    name: 'D4: h = 8192 declared, the tensors of a 4-unit model',
    kind: 'checkpoint',
    files: one(() =>
      edited((h) => {
        h.__metadata__.model = JSON.stringify({ inputSize: 3, hiddenSize: 8192, outputSize: 2 });
      })
    ),
  },
  {
    name: 'D4: h = 8192 with matching shapes but no data',
    kind: 'checkpoint',
    files: one(() => {
      const { header } = modelHeader({ d: 1, h: 8192, K: 8192 });
      return safetensorsFile({ __metadata__: metadata({ d: 1, h: 8192, K: 8192 }, Buffer.alloc(0)), ...header });
    }),
  },
  {
    name: 'D4: a 512 KiB vocabulary for a 3-token model',
    kind: 'checkpoint',
    files: one(() => {
      const model = modelTensors({ d: 3, h: 4, K: 2 }, 0.25);
      const data = Buffer.concat([model.data, Buffer.alloc(1 << 19, 0x61)]);
      const vocabulary = { dtype: 'I32', shape: [1 << 17], data_offsets: [model.data.length, data.length] };
      return safetensorsFile({ __metadata__: metadata({ d: 3, h: 4, K: 2 }, data), ...model.header, vocabulary }, data);
    }),
  },
  {
    name: 'D4: NaN weights',
    kind: 'checkpoint',
    files: one(() => {
      const model = modelTensors({ d: 3, h: 4, K: 2 }, NaN);
      return safetensorsFile({ __metadata__: metadata({ d: 3, h: 4, K: 2 }, model.data), ...model.header }, model.data);
    }),
  },
  {
    name: 'D4: sizes of the wrong type',
    kind: 'checkpoint',
    files: one(() => edited((h) => (h.__metadata__.model = '{"inputSize":"3","hiddenSize":4,"outputSize":2}'))),
  },
  {
    name: 'D4: an ADMM state of zero sequences',
    kind: 'checkpoint',
    files: one(() =>
      edited((h) => {
        const task = { source: 'npy', sequenceLength: 2, loss: 'squared-error', lossSteps: 'last', inputs: 'dense' };
        h.__metadata__.task = JSON.stringify(task);
        const theta = { uwb: 1, a: 1, s: 1, vc: 1 };
        h.__metadata__.admm = JSON.stringify({ iteration: 1, rho: [1, 1, 1], theta, beta: 0 });
        for (const key of ['A', 'S', 'TA', 'M1', 'M2', 'O', 'M3'])
          h[`admm.${key}`] = { dtype: 'F32', shape: [0, 2, 4], data_offsets: [0, 0] };
      })
    ),
  },
  // D21: a count the writer could not write back after one more iteration.
  {
    name: 'D21: admm.iteration 2^53 − 1',
    kind: 'checkpoint',
    files: one(() => withState((a) => (a.iteration = 2 ** 53 - 1))),
  },
  {
    name: 'D21: trainer.iteration 2^53 − 1',
    kind: 'checkpoint',
    files: one(() => withState((_, t) => (t.iteration = 2 ** 53 - 1))),
  },
  {
    name: 'D21: trainer.iteration 2^52 + 1',
    kind: 'checkpoint',
    files: one(() => withState((_, t) => (t.iteration = 2 ** 52 + 1))),
  },
  // The container.
  {
    name: 'header length 2^40',
    kind: 'checkpoint',
    files: one(() => {
      const b = edited(() => undefined);
      b.writeBigUInt64LE(1n << 40n, 0);
      return b;
    }),
  },
  { name: 'header length 0', kind: 'checkpoint', files: one(() => Buffer.alloc(64)) },
  {
    name: 'header length 16 MiB + 8 (above the checkpoint cap)',
    kind: 'checkpoint',
    files: one(() => {
      const b = Buffer.alloc(1 << 20, 0x20);
      b.writeBigUInt64LE(BigInt(2 ** 24 + 8), 0);
      return b;
    }),
  },
  { name: 'five bytes', kind: 'checkpoint', files: one(() => Buffer.from('{"a":')) },
  {
    name: 'a header nested 400,000 arrays deep',
    kind: 'checkpoint',
    files: one(() => {
      const json = Buffer.from(`{"x":${'['.repeat(400_000)}${']'.repeat(400_000)}}`);
      const head = Buffer.alloc(8);
      head.writeBigUInt64LE(BigInt(json.length));
      return Buffer.concat([head, json]);
    }),
  },
  {
    name: 'trainer options nested 300,000 arrays deep',
    kind: 'checkpoint',
    files: one(() =>
      edited((h) => {
        h.__metadata__.trainer = `{"kind":"admm","iteration":1,"options":${'['.repeat(300_000)}${']'.repeat(300_000)}}`;
      })
    ),
  },
  {
    name: 'a vocabulary code point above U+10FFFF',
    kind: 'checkpoint',
    files: one(() => {
      const model = modelTensors({ d: 3, h: 4, K: 2 }, 0.25);
      const codes = Buffer.from(Int32Array.of(97, 0x110000, 98).buffer);
      const data = Buffer.concat([model.data, codes]);
      const vocabulary = { dtype: 'I32', shape: [3], data_offsets: [model.data.length, data.length] };
      return safetensorsFile({ __metadata__: metadata({ d: 3, h: 4, K: 2 }, data), ...model.header, vocabulary }, data);
    }),
  },
  {
    name: 'a flipped data byte',
    kind: 'checkpoint',
    files: one(() => {
      const b = edited(() => undefined);
      b[b.length - 1] ^= 0x40;
      return b;
    }),
  },
  // Valid: the writer's own output, and iteration counts at the bound both sides share.
  {
    name: 'a checkpoint as the writer makes it',
    kind: 'checkpoint',
    valid: true,
    files: one(() => {
      const config = { inputSize: 3, hiddenSize: 4, outputSize: 2 };
      return encodeCheckpoint({ model: new RNN(config), config });
    }),
  },
  {
    name: 'D21: iterations at 2^52 (the shared bound)',
    kind: 'checkpoint',
    valid: true,
    files: one(() => withState((a, t) => (a.iteration = t.iteration = 2 ** 52))),
  },
  { name: 'D12: a symlink to /dev/zero (C49)', kind: 'checkpoint', files: () => ({}), special: { 'x.st': 'dev-zero' } },
  { name: 'D12: a FIFO (C48)', kind: 'checkpoint', files: () => ({}), special: { 'x.st': 'fifo' } },
];
