/**
 * Loading a checkpoint, strictly: the container (safetensors), the format and version, every
 * tensor's dtype and shape against the model's sizes, every metadata field, and the checksum.
 * Any problem is a FileFormatError (a RangeError) that names the file and what was wrong.
 *
 * Cost is bounded by the file: the header is capped and fully checked — sizes declared in the
 * metadata against the tensors' shapes, the shapes against the spans that tile the data section —
 * before anything is allocated for the tensors, which are then read straight into the model's
 * and the state's arrays (positioned reads: no whole-file buffer, so no 2 GiB limit).
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import type { AdmmRunSnapshot } from '../admm/snapshot';
import { LOSS_NAMES, LOSS_STEPS } from '../data';
import { invalidRange, invalidType } from '../errors';
import { FileFormatError } from '../file-error';
import { RNN, type RNNConfig, checkSizes } from '../rnn';
import { Vocabulary } from '../text';
import { openUntrustedFile } from '../untrusted-file';
import { checkChoice, checkFinite, checkInteger, checkObject } from '../validate';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  MAX_CHECKPOINT_HEADER_BYTES,
  MAX_ITERATION,
  type LoadedCheckpoint,
  type TaskInfo,
  type TrainerInfo,
} from './format';
import { checkShardedInfo, decodeAdmmState, decodeBpttState } from './run-state';
import {
  type Dtype,
  type SafetensorsHeader,
  type TensorData,
  type TensorSpan,
  allocateFor,
  byteViews,
  parseHeader,
  parseJsonShallow,
  quoteName,
  readHeaderLength,
  toHostOrder,
} from './safetensors';

export interface ReadCheckpointOptions {
  /** Refuse files larger than this many bytes before reading them (default: this machine's memory). */
  maxBytes?: number;
}

/** Deepest nesting of a metadata JSON value (trainer options nest a few levels). */
const MAX_METADATA_DEPTH = 32;

/** Bytes per read call. */
const PIECE = 2 ** 30;

/** The memory available to this process: a checkpoint is read whole into memory, so larger ones cannot load. */
function memoryLimit(): number {
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  return constrained && constrained > 0 ? Math.min(constrained, os.totalmem()) : os.totalmem();
}

function json(name: string, metadata: Record<string, string>, key: string): Record<string, unknown> | undefined {
  if (metadata[key] === undefined) return undefined;
  let value: unknown;
  try {
    value = parseJsonShallow(metadata[key], MAX_METADATA_DEPTH);
  } catch (e) {
    throw invalidRange(`${name}: __metadata__.${key}`, `JSON (${(e as Error).message})`);
  }
  checkObject(`${name}: __metadata__.${key}`, value);
  return value;
}

function readTask(where: string, raw: Record<string, unknown>): TaskInfo {
  if (typeof raw.source !== 'string') throw invalidType(`${where}.source`, 'a string', raw.source);
  const task: TaskInfo = {
    source: raw.source,
    sequenceLength: checkInteger(`${where}.sequenceLength`, raw.sequenceLength, 1, 2 ** 31 - 1),
    loss: checkChoice(`${where}.loss`, raw.loss, LOSS_NAMES),
    lossSteps: checkChoice(`${where}.lossSteps`, raw.lossSteps, LOSS_STEPS),
    inputs: checkChoice(`${where}.inputs`, raw.inputs, ['dense', 'ids'] as const),
  };
  if (raw.labels !== undefined) {
    if (!Array.isArray(raw.labels) || !raw.labels.every((l) => typeof l === 'string'))
      throw invalidType(`${where}.labels`, 'an array of strings', raw.labels);
    task.labels = raw.labels as string[];
  }
  return task;
}

function readTrainer(where: string, raw: Record<string, unknown>): TrainerInfo {
  checkObject(`${where}.options`, raw.options);
  const kind = checkChoice(`${where}.kind`, raw.kind, ['admm', 'bptt'] as const);
  return {
    kind,
    options: kind === 'admm' ? withOlderDefaults(raw.options as Record<string, unknown>) : raw.options,
    iteration: checkInteger(`${where}.iteration`, raw.iteration, 0, MAX_ITERATION),
  };
}

/**
 * ADMM options saved before a setting existed, completed with what that run had, so that it resumes
 * as it ran instead of with today's default: no momentum step in the step safeguard, no step clip,
 * no dual walk (saved options always hold them since: the clip and the walk as settings or false).
 */
function withOlderDefaults(options: Record<string, unknown>): Record<string, unknown> {
  const { safeguard } = options;
  const noMomentum = typeof safeguard === 'object' && safeguard !== null && !('momentum' in safeguard);
  return {
    ...options,
    ...(noMomentum && { safeguard: { ...safeguard, momentum: 0 } }),
    ...(!('stepClip' in options) && { stepClip: false }),
    ...(!('dualWalk' in options) && { dualWalk: false }),
  };
}

/** What a checkpoint's header promises, all checked; reading its tensors is all that is left. */
interface CheckpointPlan {
  /** The tensors in data order. */
  tiling: TensorSpan[];
  /** The array a span's bytes go into (the model's own weights, the vocabulary, a run-state array). */
  destination(span: TensorSpan): TensorData;
  /** Checks the data's checksum and values, and assembles the checkpoint. */
  finish(sha256: string, bytes: number): LoadedCheckpoint;
}

/**
 * Checks a parsed header as an admmirnn checkpoint: the format and version, the metadata, the
 * declared sizes (bounded) against the tensors' dtypes and shapes, no missing or extra tensor.
 * Only then is the model allocated — its size now bounded by the file's.
 */
function planCheckpoint(name: string, header: SafetensorsHeader): CheckpointPlan {
  const { metadata, spans } = header;
  if (metadata.format !== CHECKPOINT_FORMAT)
    throw invalidRange(
      `${name}: __metadata__.format`,
      `"${CHECKPOINT_FORMAT}" (not an admmirnn checkpoint?)`,
      metadata.format
    );
  if (metadata.version !== String(CHECKPOINT_VERSION))
    throw invalidRange(
      `${name}: __metadata__.version`,
      `"${CHECKPOINT_VERSION}" (this admmirnn reads checkpoint version ${CHECKPOINT_VERSION} only)`,
      metadata.version
    );
  if (typeof metadata.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(metadata.sha256))
    throw invalidRange(`${name}: __metadata__.sha256`, 'present, 64 hexadecimal digits', metadata.sha256);

  const m = json(name, metadata, 'model');
  if (!m) throw invalidRange(`${name}: __metadata__.model`, 'present');
  const { inputSize: d, hiddenSize: h, outputSize: K } = checkSizes(`${name}: __metadata__.model`, m);
  const config: RNNConfig = { inputSize: d, hiddenSize: h, outputSize: K };
  if (m.init !== undefined) config.init = m.init as RNNConfig['init'];

  const rawTask = json(name, metadata, 'task');
  const task = rawTask && readTask(`${name}: __metadata__.task`, rawTask);
  const rawTrainer = json(name, metadata, 'trainer');
  const trainer = rawTrainer && readTrainer(`${name}: __metadata__.trainer`, rawTrainer);

  // Every tensor the metadata calls for, checked against its span (dtype and shape) and claimed; the
  // arrays are allocated only for claimed spans, which lie inside the file, so their size is the file's.
  const byName = new Map(spans.map((s) => [s.name, s]));
  const arrays = new Map<string, TensorData>();
  const claim = (key: string, dtype: Dtype, shape: number[]): TensorSpan => {
    const span = byName.get(key);
    if (!span) throw invalidRange(name, `a tensor ${JSON.stringify(key)} (missing)`);
    if (span.dtype !== dtype) throw invalidRange(`${name}: tensor ${key}`, `of dtype ${dtype}`, span.dtype);
    if (span.shape.length !== shape.length || span.shape.some((s, i) => s !== shape[i]))
      throw invalidRange(`${name}: tensor ${key}`, `of shape [${shape}], got [${span.shape}]`);
    byName.delete(key);
    return span;
  };
  const take = (key: string, shape: number[]) => {
    const out = allocateFor(claim(key, 'F32', shape)) as Float32Array;
    arrays.set(key, out);
    return out;
  };
  const weightShapes: [string, number[]][] = [
    ['U', [h, d]],
    ['W', [h, h]],
    ['b', [h]],
    ['V', [K, h]],
    ['c', [K]],
  ];
  for (const [key, shape] of weightShapes) claim(`model.${key}`, 'F32', shape);
  if (byName.has('vocabulary')) {
    if (task?.inputs === 'dense') throw invalidRange(`${name}: vocabulary`, 'absent for a model with dense inputs');
    arrays.set('vocabulary', allocateFor(claim('vocabulary', 'I32', [d])));
  }
  const rawAdmm = json(name, metadata, 'admm');
  const admmState: AdmmRunSnapshot | undefined =
    rawAdmm && decodeAdmmState(`${name}: __metadata__.admm`, rawAdmm, task, { h, K }, byName, take);
  const rawBptt = json(name, metadata, 'bptt');
  const bpttState = rawBptt && decodeBpttState(`${name}: __metadata__.bptt`, rawBptt, { d, h, K }, take);
  const rawSharded = json(name, metadata, 'sharded');
  const sharded = rawSharded && checkShardedInfo(`${name}: __metadata__.sharded`, rawSharded);
  if (byName.size > 0) {
    const names = [...byName.keys()];
    const more = names.length > 5 ? ` and ${names.length - 5} more` : '';
    const listed = names.slice(0, 5).map(quoteName).join(', ') + more;
    throw invalidRange(name, `only admmirnn tensors (unexpected: ${listed})`);
  }

  // The shapes matched spans inside the file, so this allocation is bounded by its size.
  const model = RNN.uninitialised(config);
  const weights = model.weights() as Record<string, Float32Array>;
  return {
    tiling: header.tiling,
    destination: (span) => (span.name.startsWith('model.') ? weights[span.name.slice(6)] : arrays.get(span.name)!),
    finish(sha256, bytes) {
      if (sha256 !== metadata.sha256)
        throw invalidRange(name, 'intact (the tensor data does not match its sha256 checksum: corrupted)');
      for (const [key, w] of Object.entries(weights)) checkFinite(`${name}: tensor model.${key}`, w);
      const codes = arrays.get('vocabulary') as Int32Array | undefined;
      const vocabulary = codes && Vocabulary.fromCodePoints(codes);
      return { model, config, vocabulary, task, trainer, admmState, bpttState, sharded, metadata, bytes };
    },
  };
}

/** Runs `make`, reporting any TypeError or RangeError it raises as a FileFormatError of `file`. */
function asFileError<T>(file: string, make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (e instanceof FileFormatError) throw e;
    if (e instanceof TypeError || e instanceof RangeError) throw new FileFormatError(file, e.message);
    throw e;
  }
}

/** Decodes a checkpoint file held in memory; `name` (e.g. the path) prefixes every error. */
export function decodeCheckpoint(file: Buffer, name = 'checkpoint'): LoadedCheckpoint {
  if (!Buffer.isBuffer(file)) throw invalidType('file', 'a Buffer', file);
  return asFileError(name, () => {
    const headerEnd = 8 + readHeaderLength(file, file.length, name, MAX_CHECKPOINT_HEADER_BYTES);
    const data = file.subarray(headerEnd);
    const plan = planCheckpoint(name, parseHeader(file.subarray(8, headerEnd), data.length, name));
    const hash = createHash('sha256');
    for (const span of plan.tiling) {
      let at = span.begin;
      for (const view of byteViews(plan.destination(span))) {
        view.set(data.subarray(at, at + view.length));
        hash.update(view);
        toHostOrder(view);
        at += view.length;
      }
    }
    return plan.finish(hash.digest('hex'), file.length);
  });
}

/**
 * Reads a checkpoint through a file handle: the 8-byte length, the header, then each tensor
 * into its array in pieces of at most `piece` bytes (small in tests, to exercise the seams).
 * @internal
 */
export async function readCheckpointFile(path: string, maxBytes: number, piece = PIECE): Promise<LoadedCheckpoint> {
  const file = await openUntrustedFile(path, 'checkpoint');
  try {
    if (file.size > maxBytes)
      throw new FileFormatError(
        path,
        `checkpoint ${path} has ${file.size} bytes, more than the ${maxBytes} this reader accepts (by default the ` +
          "memory of this machine, as a checkpoint is loaded whole; readCheckpoint's maxBytes raises it)"
      );
    const first = await file.read(0, Math.min(8, file.size));
    const n = readHeaderLength(first, file.size, path, MAX_CHECKPOINT_HEADER_BYTES);
    const headerBytes = await file.read(8, n);
    const plan = asFileError(path, () => planCheckpoint(path, parseHeader(headerBytes, file.size - 8 - n, path)));
    const hash = createHash('sha256');
    for (const span of plan.tiling) {
      let at = 8 + n + span.begin;
      for (const view of byteViews(plan.destination(span))) {
        await file.readInto(view, at, piece);
        hash.update(view);
        toHostOrder(view);
        at += view.length;
      }
    }
    return asFileError(path, () => plan.finish(hash.digest('hex'), file.size));
  } finally {
    await file.close();
  }
}

/**
 * Reads and validates a checkpoint file: only a regular file (not a FIFO or a device), of at
 * most `maxBytes` bytes, every problem a FileFormatError naming it.
 */
export async function readCheckpoint(path: string, options: ReadCheckpointOptions = {}): Promise<LoadedCheckpoint> {
  if (typeof path !== 'string' || path === '') throw invalidType('path', 'a non-empty string', path);
  checkObject('options', options);
  const maxBytes =
    options.maxBytes === undefined ? memoryLimit() : checkInteger('options.maxBytes', options.maxBytes, 8);
  return readCheckpointFile(path, maxBytes);
}
