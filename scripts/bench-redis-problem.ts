/**
 * The benchmark problem of scripts/bench-redis.ts, built the same way by the coordinator and by
 * every worker process (same data, same split): mnist10k sequences, mode 'persistent'.
 */
import { RNN, loadMnist10k } from '../lib';
import { resolveTrainerOptions } from '../lib/admm/options';
import { sharedInputs, sharedTargets } from '../lib/in-shared-memory';
import { coordinatorOptions } from '../lib/parallel/coordinator';
import { shardCore, shardStarts } from '../lib/parallel/starts';
import { trainingLayout } from '../lib/training/layout';

export function benchModel(h: number): RNN {
  return new RNN({ inputSize: 28, hiddenSize: h, outputSize: 10, init: { scheme: 'normal', scale: 0.1, seed: 1 } });
}

export function benchProblem(limit: number, h: number, shards: number) {
  const data = loadMnist10k({ limit }).train;
  const model = benchModel(h);
  const o = resolveTrainerOptions({ mode: 'persistent', warmStart: 'none' });
  const layout = trainingLayout(data, model, { loss: o.loss, lossSteps: o.lossSteps });
  const shape = layout.shape;
  const starts = shardStarts(
    { shape, inputs: sharedInputs(layout.inputs), targets: sharedTargets(layout.targets) },
    o,
    shards
  );
  const part = (i: number) => shardCore(starts[i], i);
  return { data, model, shape, part, coordinator: coordinatorOptions(o, layout, shards, 0) };
}
