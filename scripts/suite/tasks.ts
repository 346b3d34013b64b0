/**
 * The suite's tasks, built offline and reproducibly from a seed: mnist10k rows, next-character
 * Metamorphosis (loss at every step), colour-count token sequences, the adding problem, the
 * temporal order problem, noisy-sinusoid forecasting (squared error) and the embedded Reber
 * grammar. mnist, text and adding come from the experiments' loaders (one copy of each).
 */
import type { TrainingData } from '../../lib';
import type { TaskInfo } from './report';
import { ADDING_BASELINE_MSE } from '../experiments/adding';
import { type ExperimentData, addingData, higherIsBetter, mnistData, textData } from '../experiments/data';
import { COLOUR_COUNT, colourCount } from './generators/colour-count';
import { REBER_SYMBOLS, embeddedReber } from './generators/reber';
import { SINUSOIDS, noisySinusoids } from './generators/sinusoids';
import { TEMPORAL_ORDER, temporalOrder } from './generators/temporal-order';

export interface SuiteTask extends ExperimentData {
  /** What kind of problem it is, for the report. */
  kind: string;
  /** A trivial predictor's test metric: majority class, unigram nats/char, or predicting the training mean. */
  reference: { value: number; what: string };
  /**
   * Unit of the stability checks' thresholds (0.03 drop, floor + 0.10): 1 for accuracy and
   * nats/char; for MSE the reference MSE, so the thresholds are fractions of the target variance.
   */
  checkScale: number;
}

export type Size = 'quick' | 'full';
export const TASK_NAMES = ['mnist', 'text', 'colour-count', 'adding', 'temporal-order', 'sinusoids', 'reber'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

/** Sizes per task: [train, test] sequences (text: windows per split) and T where it is a choice. */
export const TASK_SIZES: Record<Size, Record<TaskName, { train: number; test: number; T?: number }>> = {
  quick: {
    mnist: { train: 600, test: 300 },
    text: { train: 300, test: 300 },
    'colour-count': { train: 1500, test: 500 },
    adding: { train: 1000, test: 500, T: 20 },
    'temporal-order': { train: 1000, test: 500, T: 20 },
    sinusoids: { train: 1000, test: 500, T: 30 },
    reber: { train: 1000, test: 500, T: 20 },
  },
  full: {
    mnist: { train: 8000, test: 2000 },
    text: { train: Infinity, test: Infinity },
    'colour-count': { train: 20000, test: 5000 },
    adding: { train: 8000, test: 2000, T: 25 },
    'temporal-order': { train: 8000, test: 2000, T: 40 },
    sinusoids: { train: 8000, test: 2000, T: 30 },
    reber: { train: 8000, test: 2000, T: 24 },
  },
};

/** Share of the most frequent class among the test labels (last-step targets). */
function majority(test: TrainingData): number {
  const counts = new Map<number, number>();
  for (const y of test.targets) counts.set(y, (counts.get(y) ?? 0) + 1);
  return Math.max(...counts.values()) / test.targets.length;
}

/** Test MSE (per output value) of predicting the training targets' mean, per output. */
export function meanPredictorMse(train: TrainingData, test: TrainingData, K: number): number {
  const mean = new Float64Array(K);
  for (let i = 0; i < train.targets.length; i++) mean[i % K] += train.targets[i] / (train.targets.length / K);
  let sum = 0;
  for (let i = 0; i < test.targets.length; i++) sum += (test.targets[i] - mean[i % K]) ** 2;
  return sum / test.targets.length;
}

/** Held-out nats/char of the training set's character frequencies (add-one smoothed). */
export function unigramNats(train: TrainingData, test: TrainingData, V: number): number {
  const counts = new Float64Array(V).fill(1);
  for (const y of train.targets) counts[y]++;
  const total = counts.reduce((a, b) => a + b, 0);
  let nats = 0;
  for (const y of test.targets) nats -= Math.log(counts[y] / total);
  return nats / test.targets.length;
}

function classification(base: ExperimentData, kind: string): SuiteTask {
  return { ...base, kind, reference: { value: majority(base.test), what: 'majority class' }, checkScale: 1 };
}

function regression(base: ExperimentData, kind: string): SuiteTask {
  const mse = meanPredictorMse(base.train, base.test, base.outputSize);
  return { ...base, kind, reference: { value: mse, what: 'predicting the training mean' }, checkScale: mse };
}

/** The first `count` sequences (inputs of `perSequence` values each); the whole set when it is smaller. */
function take(data: TrainingData, count: number, perSequence: number): TrainingData {
  const n = Math.min(count, data.targets.length);
  return { ...data, inputs: data.inputs.subarray(0, n * perSequence), targets: data.targets.subarray(0, n) };
}

const within = (limit: number) => (Number.isFinite(limit) ? limit : undefined);

/** The fields every generated task shares (one target per sequence, at the last step). */
type Sizes = { inputSize: number; outputSize: number };
function generated(name: string, train: TrainingData, test: TrainingData, sizes: Sizes) {
  const metric = train.targets instanceof Int32Array ? ('accuracy' as const) : ('mse' as const);
  return { name, train, test, ...sizes, lossSteps: 'last' as const, metric };
}

/** Builds one task; `seed` seeds every generator (train and test from different streams). */
export function buildTask(name: TaskName, size: Size, seed = 0): SuiteTask {
  const s = TASK_SIZES[size][name];
  const split = `train seed ${seed}, test seed ${seed + 1}`;
  switch (name) {
    case 'mnist': {
      const base = mnistData();
      const cut = { ...base, train: take(base.train, s.train, 28 * 28), test: take(base.test, s.test, 28 * 28) };
      return classification(cut, 'image rows (T = 28, d = 28), 10 classes');
    }
    case 'text': {
      const base = textData(within(s.train));
      const nats = unigramNats(base.train, base.test, base.inputSize);
      const reference = { value: nats, what: 'unigram character frequencies' };
      return { ...base, kind: 'next character at every step (T = 25)', reference, checkScale: 1 };
    }
    case 'colour-count': {
      const { symbols, classes, length } = COLOUR_COUNT;
      const sizes = { inputSize: symbols, outputSize: classes };
      return classification(
        {
          ...generated(name, colourCount(s.train, seed), colourCount(s.test, seed + 1), sizes),
          description: `colour count: T = ${length}, token ids over ${symbols} symbols, ${classes} classes, ${split}`,
        },
        `token-id sequences (T = ${length}, ${symbols} symbols), ${classes} classes`
      );
    }
    case 'adding': {
      const base = { ...addingData(s.T!, s.train, s.test, seed), name };
      const task = regression(base, `long-range regression (adding problem, T = ${s.T})`);
      const what = `predicting the training mean (theory: ${ADDING_BASELINE_MSE.toFixed(4)})`;
      return { ...task, reference: { value: task.reference.value, what } };
    }
    case 'temporal-order': {
      const { symbols, classes } = TEMPORAL_ORDER;
      const sizes = { inputSize: symbols, outputSize: classes };
      return classification(
        {
          ...generated(name, temporalOrder(s.train, s.T!, seed), temporalOrder(s.test, s.T!, seed + 1), sizes),
          description: `temporal order (Hochreiter & Schmidhuber 1997, 6a), T = ${s.T}, ${split}`,
        },
        `long-range classification (temporal order, T = ${s.T}), ${classes} classes`
      );
    }
    case 'sinusoids': {
      const { noise, horizon } = SINUSOIDS;
      const sizes = { inputSize: 1, outputSize: horizon };
      return regression(
        {
          ...generated(name, noisySinusoids(s.train, s.T!, seed), noisySinusoids(s.test, s.T!, seed + 1), sizes),
          description: `two noisy sinusoids, T = ${s.T}, noise σ = ${noise}, ${horizon} clean values ahead, ${split}`,
        },
        `regression, squared error (forecast ${horizon} steps of noisy sinusoids, T = ${s.T})`
      );
    }
    case 'reber': {
      const sizes = { inputSize: REBER_SYMBOLS.length, outputSize: 2 };
      return classification(
        {
          ...generated(name, embeddedReber(s.train, s.T!, seed), embeddedReber(s.test, s.T!, seed + 1), sizes),
          description:
            'embedded Reber grammar, valid vs invalid (½ valid, ¼ long-range error, ¼ local error), ' +
            `strings ≤ ${s.T} symbols left-padded, ${split}`,
        },
        `grammar (embedded Reber, valid/invalid, T = ${s.T}), 2 classes`
      );
    }
  }
}

/** Sequences in a split: inputs are [N, T] token ids or [N, T, d] values. */
export function sequences(data: TrainingData, inputSize: number): number {
  return data.inputs.length / (data.sequenceLength * (data.inputs instanceof Int32Array ? 1 : inputSize));
}

/** What the report says about a task (sizes, metric, reference); floors are filled in per seed. */
export function taskInfo(task: SuiteTask, buildSeconds: number): TaskInfo {
  return {
    name: task.name,
    kind: task.kind,
    description: task.description,
    metric: task.metric,
    higherIsBetter: higherIsBetter(task.metric),
    reference: task.reference,
    checkScale: task.checkScale,
    train: sequences(task.train, task.inputSize),
    test: sequences(task.test, task.inputSize),
    T: task.train.sequenceLength,
    inputSize: task.inputSize,
    outputSize: task.outputSize,
    lossSteps: task.lossSteps,
    floors: [],
    buildSeconds,
  };
}
