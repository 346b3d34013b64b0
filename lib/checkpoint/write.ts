/**
 * Encoding a Checkpoint as a safetensors file, and saving it atomically. The file is produced as
 * parts (length, header, views of the tensors) that are written in turn, never concatenated, so
 * a checkpoint is not limited by the largest Buffer (4 GiB) and costs no copy of its tensors.
 */
import { createHash } from 'node:crypto';
import { invalidRange, invalidType } from '../errors';
import { RNN } from '../rnn';
import { Vocabulary } from '../text';
import { checkInteger, checkObject } from '../validate';
import { writeFileAtomic } from './atomic';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  MAX_CHECKPOINT_HEADER_BYTES,
  MAX_ITERATION,
  type Checkpoint,
} from './format';
import { checkShardedInfo, encodeAdmmState, encodeBpttState } from './run-state';
import { MAX_PART_BYTES, byteViews, concatParts, encodeSafetensorsParts, type Tensor } from './safetensors';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- package.json lies outside rootDir: no import
const GENERATOR = `admmirnn ${(require('../../../package.json') as { version: string }).version}`;

/** The tensors and metadata of a checkpoint, validated. */
function checkpointContents(checkpoint: Checkpoint): {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
} {
  checkObject('checkpoint', checkpoint);
  const { model, config, vocabulary, task, trainer, admmState, bpttState, sharded } = checkpoint;
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
    model: JSON.stringify({
      inputSize: d,
      hiddenSize: h,
      outputSize: K,
      ...(config.init ? { init: config.init } : {}),
    }),
  };
  if (vocabulary !== undefined) {
    if (!(vocabulary instanceof Vocabulary)) throw invalidType('checkpoint.vocabulary', 'a Vocabulary', vocabulary);
    if (vocabulary.size !== d)
      throw invalidRange('checkpoint.vocabulary', `${d} characters (the model's input size)`, vocabulary.size);
    tensors.set('vocabulary', { data: vocabulary.codePoints(), shape: [d] });
  }
  if (task !== undefined) metadata.task = JSON.stringify(task);
  if (trainer !== undefined) {
    checkObject('checkpoint.trainer', trainer);
    // The reader's bound: a count it would refuse is not written.
    checkInteger('checkpoint.trainer.iteration', trainer.iteration, 0, MAX_ITERATION);
    metadata.trainer = JSON.stringify(trainer);
  }
  if (admmState !== undefined) {
    checkInteger('checkpoint.admmState.iteration', admmState.iteration, 0, MAX_ITERATION);
    metadata.admm = encodeAdmmState(admmState, task, { h, K }, tensors);
  }
  if (bpttState !== undefined) {
    checkInteger('checkpoint.bpttState.iteration', bpttState.iteration, 0, MAX_ITERATION);
    metadata.bptt = encodeBpttState(bpttState, { d, h, K }, tensors);
  }
  if (sharded !== undefined) metadata.sharded = JSON.stringify(checkShardedInfo('checkpoint.sharded', sharded));
  // The checksum covers the data section, which is the tensors concatenated in order.
  const hash = createHash('sha256');
  for (const t of tensors.values()) for (const view of byteViews(t.data)) hash.update(view);
  metadata.sha256 = hash.digest('hex');
  metadata.created = new Date().toISOString();
  metadata.generator = GENERATOR;
  return { tensors, metadata };
}

/** The whole checkpoint file as one Buffer (at most 4 GiB: `saveCheckpoint` has no such limit). */
export function encodeCheckpoint(checkpoint: Checkpoint): Buffer {
  return concatParts(encodeCheckpointParts(checkpoint));
}

/**
 * The checkpoint file as parts to write in order: the length, the header, and views of the
 * tensors of at most `maxPart` bytes (no copy, no concatenation). @internal
 */
export function encodeCheckpointParts(checkpoint: Checkpoint, maxPart = MAX_PART_BYTES): Uint8Array[] {
  const { tensors, metadata } = checkpointContents(checkpoint);
  return encodeSafetensorsParts(tensors, metadata, maxPart, MAX_CHECKPOINT_HEADER_BYTES);
}

/** Saves a checkpoint atomically: a crash mid-save leaves any previous file at `path` intact. */
export async function saveCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  if (typeof path !== 'string' || path === '') throw invalidType('path', 'a non-empty string', path);
  await writeFileAtomic(path, encodeCheckpointParts(checkpoint));
}
