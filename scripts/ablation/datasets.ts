/** The two data sets of the ablation: mnist10k (rows as steps) and next-character Metamorphosis. */
import { type LossSteps, type TrainingData, loadCharacterText, loadMnist10k } from '../../lib';
import { METAMORPHOSIS } from '../data-files';

export interface Dataset {
  name: 'mnist' | 'text';
  train: TrainingData;
  test: TrainingData;
  inputSize: number;
  outputSize: number;
  lossSteps: LossSteps;
  /** The test metric: 'accuracy' (higher is better) or 'cross-entropy' in nats/char (lower is better). */
  metric: 'accuracy' | 'cross-entropy';
}

export function mnist(): Dataset {
  const { train, test } = loadMnist10k();
  return { name: 'mnist', train, test, inputSize: 28, outputSize: 10, lossSteps: 'last', metric: 'accuracy' };
}

/** Metamorphosis (data/metamorphosis.txt): the first 90% of the text trains, the last 10% is held out; T = 25. */
export function metamorphosis(file = METAMORPHOSIS): Dataset {
  const { vocabulary, train, test } = loadCharacterText(file, { sequenceLength: 25, heldOut: 0.1 });
  return {
    name: 'text',
    train,
    test,
    inputSize: vocabulary.size,
    outputSize: vocabulary.size,
    lossSteps: 'every',
    metric: 'cross-entropy',
  };
}
