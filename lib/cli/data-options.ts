/**
 * The data sources of `train` and `eval`: bundled mnist10k, a text file (next character), a
 * labelled text file (label<TAB>text → class), or .npy inputs and targets. A checkpoint's task
 * and vocabulary, when given, fix how the data is encoded so it matches the trained model.
 */
import fs from 'node:fs';
import { type Command, Option } from 'commander';
import type { TaskInfo } from '../checkpoint/format';
import type { TrainingData } from '../data';
import { loadMnist10k } from '../mnist';
import { decodeNpy } from '../npy';
import { encodeLabelledText } from '../datasets';
import { Vocabulary, characterWindows, parseLabelledText } from '../text';
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
    .option('--sequence-length <T>', 'steps per sequence (--text default 32; --labelled default: the longest text, at most 256)', integer(1, 1 << 20))
    .option('--stride <n>', '--text: characters between window starts (default: T)', integer(1))
    .addOption(new Option('--split <split>', 'mnist10k split').choices(['train', 'test']).default(defaultSplit))
    .option('--input-size <d>', 'int32 --inputs: the number of token ids (default: largest id + 1)', integer(1))
    .option('--classes <K>', 'int32 --targets: the number of classes (default: largest id + 1)', integer(1));
}

function readNpy(file: string) {
  return decodeNpy(fs.readFileSync(file), file);
}

function maxPlusOne(values: Int32Array): number {
  let max = -1;
  for (const v of values) if (v > max) max = v;
  return max + 1;
}

function limitRows(data: TrainingData, perSequence: { inputs: number; targets: number }, limit?: number): TrainingData {
  const N = data.inputs.length / perSequence.inputs;
  if (limit === undefined || limit >= N) return data;
  return { ...data, inputs: data.inputs.subarray(0, limit * perSequence.inputs), targets: data.targets.subarray(0, limit * perSequence.targets) };
}

/** Loads the selected source. `saved` (from a checkpoint) fixes the encoding for eval and resume. */
export function loadData(flags: DataFlags, saved?: { task?: TaskInfo; vocabulary?: Vocabulary }): LoadedData {
  const sources = [flags.mnist && '--mnist', flags.text && '--text', flags.labelled && '--labelled', (flags.inputs || flags.targets) && '--inputs/--targets'].filter(Boolean);
  if (sources.length !== 1) throw new UsageError(`choose exactly one data source: --mnist, --text, --labelled or --inputs with --targets${sources.length ? ` (got ${sources.join(', ')})` : ''}`);
  const task = saved?.task;
  if (flags.mnist) {
    const split = loadMnist10k({ limit: flags.limit })[flags.split ?? 'train'];
    return { data: split, inputSize: 28, outputSize: 10, task: { source: 'mnist10k', sequenceLength: 28, loss: 'softmax-cross-entropy', lossSteps: 'last', inputs: 'dense' } };
  }
  if (flags.text) {
    const text = fs.readFileSync(flags.text, 'utf8');
    const vocabulary = saved?.vocabulary ?? Vocabulary.fromText(text);
    const T = flags.sequenceLength ?? task?.sequenceLength ?? 32;
    const data = characterWindows(text, vocabulary, { sequenceLength: T, stride: flags.stride, maxSamples: flags.limit });
    return { data, vocabulary, inputSize: vocabulary.size, outputSize: vocabulary.size, task: { source: 'text', sequenceLength: T, loss: 'softmax-cross-entropy', lossSteps: 'every', inputs: 'ids' } };
  }
  if (flags.labelled) {
    const parsed = parseLabelledText(fs.readFileSync(flags.labelled, 'utf8'), flags.labelled);
    const count = Math.min(parsed.texts.length, flags.limit ?? Infinity);
    const limited = { texts: parsed.texts.slice(0, count), labels: parsed.labels.slice(0, count) };
    const { data, vocabulary, labels } = encodeLabelledText(limited, { name: flags.labelled, labels: task?.labels, vocabulary: saved?.vocabulary, sequenceLength: flags.sequenceLength ?? task?.sequenceLength });
    const T = data.sequenceLength;
    return { data, vocabulary, inputSize: vocabulary.size, outputSize: labels.length, task: { source: 'labelled', sequenceLength: T, loss: 'softmax-cross-entropy', lossSteps: 'last', inputs: 'ids', labels } };
  }
  if (!flags.inputs || !flags.targets) throw new UsageError('--inputs and --targets go together');
  const x = readNpy(flags.inputs), y = readNpy(flags.targets);
  const dense = x.data instanceof Float32Array;
  if (x.shape.length !== (dense ? 3 : 2)) throw new RangeError(`${flags.inputs} must be float32 [N,T,d] or int32 [N,T], got ${x.data.constructor.name} of shape (${x.shape})`);
  const [N, T] = x.shape;
  if (N < 1 || T < 1) throw new RangeError(`${flags.inputs} must hold at least one sequence of at least one step, got shape (${x.shape})`);
  const classes = y.data instanceof Int32Array;
  const every = y.shape.length === (classes ? 2 : 3);
  if (y.shape[0] !== N || (every && y.shape[1] !== T) || y.shape.length !== (classes ? 1 : 2) + (every ? 1 : 0))
    throw new RangeError(`${flags.targets} must be int32 [N] or [N,T], or float32 [N,K] or [N,T,K] with N = ${N}, T = ${T}; got ${y.data.constructor.name} of shape (${y.shape})`);
  const inputSize = dense ? x.shape[2] : flags.inputSize ?? maxPlusOne(x.data as Int32Array);
  const outputSize = classes ? flags.classes ?? maxPlusOne(y.data as Int32Array) : y.shape[y.shape.length - 1];
  const L = every ? T : 1;
  const data = limitRows({ inputs: x.data, targets: y.data, sequenceLength: T }, { inputs: dense ? T * inputSize : T, targets: classes ? L : L * outputSize }, flags.limit);
  return {
    data, inputSize, outputSize,
    task: { source: 'npy', sequenceLength: T, loss: classes ? 'softmax-cross-entropy' : 'squared-error', lossSteps: every ? 'every' : 'last', inputs: dense ? 'dense' : 'ids' },
  };
}
