/** Encoding a Checkpoint as a safetensors file, and saving it atomically. */
import { createHash } from 'node:crypto';
import { invalidRange, invalidType } from '../errors';
import { RNN } from '../rnn';
import { Vocabulary } from '../text';
import { checkObject } from '../validate';
import { writeFileAtomic } from './atomic';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type Checkpoint } from './format';
import { encodeAdmmState, encodeBpttState } from './run-state';
import { encodeSafetensors, type Tensor } from './safetensors';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const GENERATOR = `admmirnn ${(require('../../../package.json') as { version: string }).version}`;

/** The whole checkpoint file as bytes. */
export function encodeCheckpoint(checkpoint: Checkpoint): Buffer {
  checkObject('checkpoint', checkpoint);
  const { model, config, vocabulary, task, trainer, admmState, bpttState } = checkpoint;
  if (!(model instanceof RNN)) throw invalidType('checkpoint.model', 'an RNN', model);
  checkObject('checkpoint.config', config);
  const { inputSize: d, hiddenSize: h, outputSize: K } = model;
  if (config.inputSize !== d || config.hiddenSize !== h || config.outputSize !== K)
    throw invalidRange('checkpoint.config', `the model's sizes (${d}, ${h}, ${K})`);
  const tensors = new Map<string, Tensor>([
    ['model.U', { data: model.U, shape: [h, d] }],
    ['model.W', { data: model.W, shape: [h, h] }],
    ['model.b', { data: model.b, shape: [h] }],
    ['model.V', { data: model.V, shape: [K, h] }],
    ['model.c', { data: model.c, shape: [K] }],
  ]);
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    version: String(CHECKPOINT_VERSION),
    model: JSON.stringify({ inputSize: d, hiddenSize: h, outputSize: K, ...(config.init ? { init: config.init } : {}) }),
  };
  if (vocabulary !== undefined) {
    if (!(vocabulary instanceof Vocabulary)) throw invalidType('checkpoint.vocabulary', 'a Vocabulary', vocabulary);
    if (vocabulary.size !== d) throw invalidRange('checkpoint.vocabulary', `${d} characters (the model's input size)`, vocabulary.size);
    tensors.set('vocabulary', { data: vocabulary.codePoints(), shape: [d] });
  }
  if (task !== undefined) metadata.task = JSON.stringify(task);
  if (trainer !== undefined) metadata.trainer = JSON.stringify(trainer);
  if (admmState !== undefined) metadata.admm = encodeAdmmState(admmState, task, { h, K }, tensors);
  if (bpttState !== undefined) metadata.bptt = encodeBpttState(bpttState, { d, h, K }, tensors);
  // The checksum covers the data section, which is the tensors concatenated in order.
  const hash = createHash('sha256');
  for (const t of tensors.values()) hash.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  metadata.sha256 = hash.digest('hex');
  metadata.created = new Date().toISOString();
  metadata.generator = GENERATOR;
  return encodeSafetensors(tensors, metadata);
}

/** Saves a checkpoint atomically: a crash mid-save leaves any previous file at `path` intact. */
export async function saveCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  if (typeof path !== 'string' || path === '') throw invalidType('path', 'a non-empty string', path);
  await writeFileAtomic(path, [encodeCheckpoint(checkpoint)]);
}
