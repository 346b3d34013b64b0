/**
 * Loading a checkpoint, strictly: the container (safetensors), the format and version, the
 * checksum, every tensor's dtype and shape against the model's sizes, and every metadata
 * field. Any problem is a RangeError or TypeError that names the file and what was wrong.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import type { AdmmRunSnapshot } from '../admm/snapshot';
import { LOSS_NAMES, LOSS_STEPS } from '../data';
import { invalidRange, invalidType } from '../errors';
import { RNN, type RNNConfig } from '../rnn';
import { Vocabulary } from '../text';
import { checkChoice, checkInteger, checkNumber, checkObject } from '../validate';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type LoadedCheckpoint, type TaskInfo, type TrainerInfo } from './format';
import { decodeAdmmState, decodeBpttState } from './run-state';
import { type Tensor, decodeSafetensors } from './safetensors';

function json(name: string, metadata: Record<string, string>, key: string): Record<string, unknown> | undefined {
  if (metadata[key] === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(metadata[key]);
  } catch (e) {
    throw invalidRange(`${name}: __metadata__.${key}`, `JSON (${(e as Error).message})`);
  }
  checkObject(`${name}: __metadata__.${key}`, value);
  return value;
}

function tensor(name: string, tensors: Map<string, Tensor>, key: string, dtype: 'F32' | 'I32', shape: number[]): Tensor['data'] {
  const t = tensors.get(key);
  if (!t) throw invalidRange(name, `a tensor ${JSON.stringify(key)} (missing)`);
  const actual = t.data instanceof Float32Array ? 'F32' : 'I32';
  if (actual !== dtype) throw invalidRange(`${name}: tensor ${key}`, `of dtype ${dtype}`, actual);
  if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i]))
    throw invalidRange(`${name}: tensor ${key}`, `of shape [${shape}], got [${t.shape}]`);
  tensors.delete(key);
  return t.data;
}

function readTask(where: string, raw: Record<string, unknown>): TaskInfo {
  const task: TaskInfo = {
    source: typeof raw.source === 'string' ? raw.source : (() => { throw invalidType(`${where}.source`, 'a string', raw.source); })(),
    sequenceLength: checkInteger(`${where}.sequenceLength`, raw.sequenceLength, 1, 2 ** 31 - 1),
    loss: checkChoice(`${where}.loss`, raw.loss, LOSS_NAMES),
    lossSteps: checkChoice(`${where}.lossSteps`, raw.lossSteps, LOSS_STEPS),
    inputs: checkChoice(`${where}.inputs`, raw.inputs, ['dense', 'ids'] as const),
  };
  if (raw.labels !== undefined) {
    if (!Array.isArray(raw.labels) || !raw.labels.every((l) => typeof l === 'string')) throw invalidType(`${where}.labels`, 'an array of strings', raw.labels);
    task.labels = raw.labels as string[];
  }
  return task;
}

function readTrainer(where: string, raw: Record<string, unknown>): TrainerInfo {
  checkObject(`${where}.options`, raw.options);
  return {
    kind: checkChoice(`${where}.kind`, raw.kind, ['admm', 'bptt'] as const),
    options: raw.options,
    iteration: checkInteger(`${where}.iteration`, raw.iteration, 0),
  };
}

/** Decodes a checkpoint file held in memory; `name` (e.g. the path) prefixes every error. */
export function decodeCheckpoint(file: Buffer, name = 'checkpoint'): LoadedCheckpoint {
  if (!Buffer.isBuffer(file)) throw invalidType('file', 'a Buffer', file);
  const { tensors, metadata, data } = decodeSafetensors(file, name);
  if (metadata.format !== CHECKPOINT_FORMAT) throw invalidRange(`${name}: __metadata__.format`, `"${CHECKPOINT_FORMAT}" (not an admmirnn checkpoint?)`, metadata.format);
  if (metadata.version !== String(CHECKPOINT_VERSION))
    throw invalidRange(`${name}: __metadata__.version`, `"${CHECKPOINT_VERSION}" (this admmirnn reads checkpoint version ${CHECKPOINT_VERSION} only)`, metadata.version);
  if (typeof metadata.sha256 !== 'string') throw invalidRange(`${name}: __metadata__.sha256`, 'present');
  if (createHash('sha256').update(data).digest('hex') !== metadata.sha256) throw invalidRange(name, 'intact (the tensor data does not match its sha256 checksum: corrupted)');

  const m = json(name, metadata, 'model');
  if (!m) throw invalidRange(`${name}: __metadata__.model`, 'present');
  const config: RNNConfig = { inputSize: m.inputSize as number, hiddenSize: m.hiddenSize as number, outputSize: m.outputSize as number };
  if (m.init !== undefined) config.init = m.init as RNNConfig['init'];
  const model = new RNN(config);
  const { inputSize: d, hiddenSize: h, outputSize: K } = model;
  model.setWeights({
    U: tensor(name, tensors, 'model.U', 'F32', [h, d]) as Float32Array,
    W: tensor(name, tensors, 'model.W', 'F32', [h, h]) as Float32Array,
    b: tensor(name, tensors, 'model.b', 'F32', [h]) as Float32Array,
    V: tensor(name, tensors, 'model.V', 'F32', [K, h]) as Float32Array,
    c: tensor(name, tensors, 'model.c', 'F32', [K]) as Float32Array,
  });

  const rawTask = json(name, metadata, 'task');
  const task = rawTask && readTask(`${name}: __metadata__.task`, rawTask);
  const rawTrainer = json(name, metadata, 'trainer');
  const trainer = rawTrainer && readTrainer(`${name}: __metadata__.trainer`, rawTrainer);
  const vocabulary = tensors.has('vocabulary') ? Vocabulary.fromCodePoints(tensor(name, tensors, 'vocabulary', 'I32', [d]) as Int32Array) : undefined;
  if (vocabulary && task?.inputs === 'dense') throw invalidRange(`${name}: vocabulary`, 'absent for a model with dense inputs');

  const take = (key: string, shape: number[]) => tensor(name, tensors, key, 'F32', shape) as Float32Array;
  const rawAdmm = json(name, metadata, 'admm');
  const admmState: AdmmRunSnapshot | undefined =
    rawAdmm && decodeAdmmState(`${name}: __metadata__.admm`, rawAdmm, task, { h, K }, tensors, take);
  const rawBptt = json(name, metadata, 'bptt');
  const bpttState = rawBptt && decodeBpttState(`${name}: __metadata__.bptt`, rawBptt, { d, h, K }, take);
  if (tensors.size > 0) throw invalidRange(name, `only admmirnn tensors (unexpected: ${[...tensors.keys()].join(', ')})`);
  return { model, config, vocabulary, task, trainer, admmState, bpttState, metadata, bytes: file.length };
}

/** Reads and validates a checkpoint file. */
export async function readCheckpoint(path: string): Promise<LoadedCheckpoint> {
  if (typeof path !== 'string' || path === '') throw invalidType('path', 'a non-empty string', path);
  return decodeCheckpoint(await fs.readFile(path), path);
}
