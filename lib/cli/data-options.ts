/**
 * The data sources of `train` and `eval`: bundled mnist10k, a text file (next character), a
 * labelled text file (label<TAB>text → class), or .npy inputs and targets. A checkpoint's task
 * and vocabulary, when given, fix how the data is encoded so it matches the trained model.
 */
import { type Command, Option } from 'commander';
import type { TaskInfo } from '../checkpoint/format';
import type { TrainingData } from '../data';
import { encodeLabelledText, readTextFile } from '../datasets';
import { invalidFile } from '../file-error';
import { loadMnist10k } from '../mnist';
import { readNpy } from '../npy';
import { Vocabulary, characterWindows, codePointLength, parseLabelledText } from '../text';
import { fromFile } from './file-errors';
import { UsageError, integer } from './usage';

export interface DataFlags {
  mnist?: boolean;
  text?: string;
  labelled?: string;
  inputs?: string;
  targets?: string;
  limit?: number;
  sequenceLength?: number;
  stride?: number;
  split?: 'train' | 'test';
  inputSize?: number;
  classes?: number;
}

export interface LoadedData {
  data: TrainingData;
  task: TaskInfo;
  vocabulary?: Vocabulary;
  inputSize: number;
  outputSize: number;
}

export function addDataOptions(cmd: Command, defaultSplit: 'train' | 'test'): Command {
  return cmd
    .option('--mnist', 'the bundled mnist10k digits (28 steps of 28 pixels, 10 classes)')
    .option('--text <file>', 'a UTF-8 text file: next-character modelling on windows of --sequence-length characters')
    .option('--labelled <file>', 'a file of label<TAB>text lines: classify each text')
    .option('--inputs <file.npy>', 'float32 [N,T,d] sequences or int32 [N,T] token ids (with --targets)')
    .option('--targets <file.npy>', 'int32 class ids [N] or [N,T], or float32 values [N,K] or [N,T,K]')
    .option('--limit <n>', 'use at most n sequences', integer(1))
    .option(
      '--sequence-length <T>',
      'steps per sequence (--text default 32; --labelled default: the longest text, at most 256)',
      integer(1, 1 << 20)
    )
    .option('--stride <n>', '--text: characters between window starts (default: T)', integer(1))
    .addOption(new Option('--split <split>', 'mnist10k split').choices(['train', 'test']).default(defaultSplit))
    .option('--input-size <d>', 'int32 --inputs: the number of token ids (default: largest id + 1)', integer(1))
    .option('--classes <K>', 'int32 --targets: the number of classes (default: largest id + 1)', integer(1));
}

/** The RNN's limits on d and K (lib/rnn.ts), checked here so an oversized file is a bad file, not bad usage. */
const MAX_INPUT_SIZE = 1 << 24;
const MAX_CLASSES = 1 << 20;

function readNpyFile(file: string) {
  return fromFile(file, () => readNpy(file));
}

/** Ids in [0, limit) (`limit` given) or [0, max] (then the count is the largest id + 1). */
interface IdLimit {
  /** The number of ids the model takes, when a flag or checkpoint fixes it. */
  count?: number;
  /** What fixed `count`, for the message. */
  flag?: string;
  /** The model's limit. */
  max: number;
}

function idCount(file: string, what: string, values: Int32Array, limit: IdLimit): number {
  let largest = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const got = `${v} at element ${i}`;
    if (v < 0) throw invalidFile(file, what, 'non-negative', got);
    if (limit.count !== undefined && v >= limit.count)
      throw invalidFile(file, what, `below ${limit.count} (${limit.flag})`, got);
    if (v >= limit.max) throw invalidFile(file, what, `below ${limit.max}, the largest size a model takes`, got);
    if (v > largest) largest = v;
  }
  return limit.count ?? largest + 1;
}

function checkFinite(file: string, values: Float32Array): void {
  for (let i = 0; i < values.length; i++)
    if (!Number.isFinite(values[i]))
      throw invalidFile(file, '.npy file', 'finite (no NaN or Infinity)', `${values[i]} at element ${i}`);
}

function limitRows(data: TrainingData, perSequence: { inputs: number; targets: number }, limit?: number): TrainingData {
  const N = data.inputs.length / perSequence.inputs;
  if (limit === undefined || limit >= N) return data;
  return {
    ...data,
    inputs: data.inputs.subarray(0, limit * perSequence.inputs),
    targets: data.targets.subarray(0, limit * perSequence.targets),
  };
}

/** What a checkpoint fixes about the data: its encoding (task, vocabulary) and the model's sizes. */
export interface SavedEncoding {
  task?: TaskInfo;
  vocabulary?: Vocabulary;
  model?: { inputSize: number; outputSize: number };
}

function loadText(file: string, flags: DataFlags, saved?: SavedEncoding): LoadedData {
  const text = readTextFile(file);
  return fromFile(file, () => {
    const T = flags.sequenceLength ?? saved?.task?.sequenceLength ?? 32;
    const length = codePointLength(text);
    if (length === 0) throw new RangeError(`${file} is empty`);
    if (length <= T)
      throw new RangeError(
        `${file} is too short: its ${length} characters make no window of T + 1 = ${T + 1} (lower --sequence-length)`
      );
    const vocabulary = saved?.vocabulary ?? Vocabulary.fromText(text);
    const windows = { sequenceLength: T, stride: flags.stride, maxSamples: flags.limit };
    const data = characterWindows(text, vocabulary, windows);
    const size = vocabulary.size;
    const task: TaskInfo = {
      source: 'text',
      sequenceLength: T,
      loss: 'softmax-cross-entropy',
      lossSteps: 'every',
      inputs: 'ids',
    };
    return { data, vocabulary, inputSize: size, outputSize: size, task };
  });
}

function loadLabelled(file: string, flags: DataFlags, saved?: SavedEncoding): LoadedData {
  if (saved?.vocabulary && !saved.vocabulary.hasPadding)
    throw new RangeError(`--labelled ${file}: the checkpoint holds a character model (trained with --text)`);
  const content = readTextFile(file);
  return fromFile(file, () => {
    const parsed = parseLabelledText(content, file);
    const count = Math.min(parsed.texts.length, flags.limit ?? Infinity);
    const limited = { texts: parsed.texts.slice(0, count), labels: parsed.labels.slice(0, count) };
    const { data, vocabulary, labels } = encodeLabelledText(limited, {
      name: file,
      labels: saved?.task?.labels,
      vocabulary: saved?.vocabulary,
      sequenceLength: flags.sequenceLength ?? saved?.task?.sequenceLength,
    });
    if (labels.length > MAX_CLASSES)
      throw new RangeError(`${file} must hold at most ${MAX_CLASSES} classes, found ${labels.length}`);
    const T = data.sequenceLength;
    const task: TaskInfo = {
      source: 'labelled',
      sequenceLength: T,
      loss: 'softmax-cross-entropy',
      lossSteps: 'last',
      inputs: 'ids',
      labels,
    };
    return { data, vocabulary, inputSize: vocabulary.size, outputSize: labels.length, task };
  });
}

function loadArrays(inputsFile: string, targetsFile: string, flags: DataFlags, saved?: SavedEncoding): LoadedData {
  const x = readNpyFile(inputsFile),
    y = readNpyFile(targetsFile);
  const dense = x.data instanceof Float32Array;
  if (x.shape.length !== (dense ? 3 : 2))
    throw invalidFile(
      inputsFile,
      '.npy inputs',
      'float32 [N,T,d] or int32 [N,T]',
      `${x.data.constructor.name} of shape (${x.shape})`
    );
  const [N, T] = x.shape;
  if (N < 1 || T < 1)
    throw invalidFile(inputsFile, '.npy inputs', 'at least one sequence of at least one step', `shape (${x.shape})`);
  const classes = y.data instanceof Int32Array;
  const every = y.shape.length === (classes ? 2 : 3);
  if (y.shape[0] !== N || (every && y.shape[1] !== T) || y.shape.length !== (classes ? 1 : 2) + (every ? 1 : 0))
    throw invalidFile(
      targetsFile,
      '.npy targets',
      `int32 [N] or [N,T], or float32 [N,K] or [N,T,K] with N = ${N}, T = ${T}`,
      `${y.data.constructor.name} of shape (${y.shape})`
    );
  const model = saved?.model;
  let inputSize: number;
  if (dense) {
    checkFinite(inputsFile, x.data as Float32Array);
    inputSize = x.shape[2];
    if (inputSize > MAX_INPUT_SIZE)
      throw invalidFile(inputsFile, '.npy inputs', `at most ${MAX_INPUT_SIZE} values per step`, `d = ${inputSize}`);
  } else {
    const count = flags.inputSize ?? model?.inputSize;
    const flag = flags.inputSize !== undefined ? '--input-size' : "the checkpoint's input size";
    inputSize = idCount(inputsFile, '.npy token ids', x.data as Int32Array, { count, flag, max: MAX_INPUT_SIZE });
  }
  let outputSize: number;
  if (classes) {
    const count = flags.classes ?? model?.outputSize;
    const flag = flags.classes !== undefined ? '--classes' : "the checkpoint's number of classes";
    outputSize = idCount(targetsFile, '.npy class ids', y.data as Int32Array, { count, flag, max: MAX_CLASSES });
  } else {
    checkFinite(targetsFile, y.data as Float32Array);
    outputSize = y.shape[y.shape.length - 1];
    if (outputSize < 1 || outputSize > MAX_CLASSES)
      throw invalidFile(targetsFile, '.npy targets', `1 to ${MAX_CLASSES} values per target`, `K = ${outputSize}`);
  }
  const L = every ? T : 1;
  const perSequence = { inputs: dense ? T * inputSize : T, targets: classes ? L : L * outputSize };
  const data = limitRows({ inputs: x.data, targets: y.data, sequenceLength: T }, perSequence, flags.limit);
  const task: TaskInfo = {
    source: 'npy',
    sequenceLength: T,
    loss: classes ? 'softmax-cross-entropy' : 'squared-error',
    lossSteps: every ? 'every' : 'last',
    inputs: dense ? 'dense' : 'ids',
  };
  return { data, inputSize, outputSize, task };
}

/**
 * Loads the selected source. `saved` (from a checkpoint) fixes the encoding for eval and resume.
 * Problems with a file's contents are FileFormatErrors naming it (exit 1); flag mistakes are
 * UsageErrors (exit 2).
 */
export function loadData(flags: DataFlags, saved?: SavedEncoding): LoadedData {
  const sources = [
    flags.mnist && '--mnist',
    flags.text && '--text',
    flags.labelled && '--labelled',
    (flags.inputs || flags.targets) && '--inputs/--targets',
  ].filter(Boolean);
  if (sources.length !== 1)
    throw new UsageError(
      `choose exactly one data source: --mnist, --text, --labelled or --inputs with --targets${sources.length ? ` (got ${sources.join(', ')})` : ''}`
    );
  if (flags.mnist) {
    const split = loadMnist10k({ limit: flags.limit })[flags.split ?? 'train'];
    return {
      data: split,
      inputSize: 28,
      outputSize: 10,
      task: {
        source: 'mnist10k',
        sequenceLength: 28,
        loss: 'softmax-cross-entropy',
        lossSteps: 'last',
        inputs: 'dense',
      },
    };
  }
  if (flags.text) return loadText(flags.text, flags, saved);
  if (flags.labelled) return loadLabelled(flags.labelled, flags, saved);
  if (!flags.inputs || !flags.targets) throw new UsageError('--inputs and --targets go together');
  return loadArrays(flags.inputs, flags.targets, flags, saved);
}
