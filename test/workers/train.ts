/**
 * Worker-thread body for test/concurrency.test.ts: loads the addon in this thread, trains a
 * small model with workerData.trainer ('admm' | 'bptt') for workerData.iterations, posting
 * {iteration, loss} after each iteration and {done, status, weights} at the end.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AdmmTrainer, BpttTrainer, RNN, Random } from '../../lib';

const { trainer, iterations, seed } = workerData as { trainer: 'admm' | 'bptt'; iterations: number; seed: number };
const N = 40,
  T = 6,
  d = 4,
  h = 16,
  K = 3,
  rng = new Random(seed);
const data = {
  inputs: Float32Array.from({ length: N * T * d }, () => rng.normal()),
  targets: Int32Array.from({ length: N }, () => rng.int(K)),
  sequenceLength: T,
};
const model = new RNN({ inputSize: d, hiddenSize: h, outputSize: K, init: { seed } });
const onIteration = (r: { iteration: number; loss: number }) =>
  parentPort?.postMessage({ iteration: r.iteration, loss: r.loss });
const run =
  trainer === 'admm'
    ? new AdmmTrainer(model).fit(data, { maxIterations: iterations, onIteration })
    : new BpttTrainer(model, { batchSize: 4 }).fit(data, { maxIterations: iterations, onIteration });
void run.then((r) => parentPort?.postMessage({ done: true, status: r.status, weights: Array.from(model.W) }));
