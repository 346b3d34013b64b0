/**
 * Runs one configuration on one data set: trains until both the wall-clock budget and the
 * epoch count are reached, evaluating the test metric after every epoch (evaluation time is
 * not training time), and measures the readout-only floor of the same initialisation.
 */
import {
  AdmmTrainer,
  BpttTrainer,
  RNN,
  refitReadout,
  type AdmmTrainerOptions,
  type BpttTrainerOptions,
  type InitOptions,
} from '../../lib';
import type { Dataset } from './datasets';

export interface Config {
  name: string;
  trainer: 'admm' | 'bptt';
  init: InitOptions;
  admm?: AdmmTrainerOptions;
  bptt?: BpttTrainerOptions;
}

export interface EpochPoint {
  epoch: number;
  trainSeconds: number;
  trainLoss: number;
  test: number;
}

export interface RunResult {
  config: Config;
  dataset: Dataset['name'];
  metric: Dataset['metric'];
  hidden: number;
  floor: number;
  curve: EpochPoint[];
  atBudget: EpochPoint | undefined;
  atEpochs: EpochPoint | undefined;
  best: EpochPoint | undefined;
  refit?: number;
  status: string;
}

function testMetric(model: RNN, data: Dataset): number {
  const e = model.evaluate(data.test, { lossSteps: data.lossSteps });
  return data.metric === 'accuracy' ? e.accuracy : e.loss;
}

export function better(data: Dataset['metric'], a: number, b: number): boolean {
  return data === 'accuracy' ? a > b : a < b;
}

/** The readout-only floor: the test metric after fitting only (V, c) on the untrained network. */
export function readoutFloor(data: Dataset, hidden: number, init: InitOptions): number {
  const model = new RNN({ inputSize: data.inputSize, hiddenSize: hidden, outputSize: data.outputSize, init });
  refitReadout(model, data.train, { lossSteps: data.lossSteps });
  return testMetric(model, data);
}

export async function run(
  config: Config,
  data: Dataset,
  hidden: number,
  budgetSeconds: number,
  epochs: number,
  floor: number
): Promise<RunResult> {
  const model = new RNN({
    inputSize: data.inputSize,
    hiddenSize: hidden,
    outputSize: data.outputSize,
    init: config.init,
  });
  const curve: EpochPoint[] = [];
  let trainSeconds = 0;
  const onIteration = (r: { iteration: number; seconds: number; loss: number }) => {
    trainSeconds += r.seconds;
    curve.push({ epoch: r.iteration, trainSeconds, trainLoss: r.loss, test: testMetric(model, data) });
    return !(trainSeconds >= budgetSeconds && r.iteration >= epochs);
  };
  const maxIterations = 10_000;
  const result =
    config.trainer === 'admm'
      ? await new AdmmTrainer(model, { lossSteps: data.lossSteps, ...config.admm }).fit(data.train, {
          maxIterations,
          onIteration,
        })
      : await new BpttTrainer(model, { lossSteps: data.lossSteps, ...config.bptt }).fit(data.train, {
          maxIterations,
          onIteration,
        });
  const withinBudget = curve.filter((p) => p.trainSeconds <= budgetSeconds);
  const refit = 'refit' in result && result.refit ? testMetric(model, data) : undefined;
  return {
    config,
    dataset: data.name,
    metric: data.metric,
    hidden,
    floor,
    curve,
    atBudget: withinBudget[withinBudget.length - 1],
    atEpochs: curve.find((p) => p.epoch === epochs),
    best: curve.reduce<EpochPoint | undefined>(
      (b, p) => (!b || better(data.metric, p.test, b.test) ? p : b),
      undefined
    ),
    refit,
    status: result.status,
  };
}
