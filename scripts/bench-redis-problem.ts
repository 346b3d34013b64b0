/**
 * The benchmark problem of scripts/bench-redis.ts, built the same way by the coordinator and by
 * every worker process (same data, same split): mnist10k sequences, mode 'persistent'.
 */
import { RNN, loadMnist10k } from '../lib';
import { resolveTrainerOptions } from '../lib/admm/options';
import { inputLayout, lossForTargets, nativeShape, targetLayout } from '../lib/data';
import { sharedInputs, sharedTargets } from '../lib/in-shared-memory';
import type { CoordinatorOptions } from '../lib/parallel/coordinator';
import { PersistentShard } from '../lib/parallel/shard';
import { shardData, splitRows } from '../lib/parallel/split';

export function benchModel(h: number): RNN {
  return new RNN({ inputSize: 28, hiddenSize: h, outputSize: 10, init: { scheme: 'normal', scale: 0.1, seed: 1 } });
}

export function benchProblem(limit: number, h: number, shards: number) {
  const data = loadMnist10k({ limit }).train;
  const model = benchModel(h);
  const o = resolveTrainerOptions({ mode: 'persistent', warmStart: 'none' });
  const layout = inputLayout('data', data, model);
  const loss = lossForTargets(data.targets)!;
  const shape = nativeShape(model, layout.N, layout.T, o.lossSteps);
  const inputs = sharedInputs(layout.native);
  const targets = sharedTargets(targetLayout('data.targets', data.targets, shape, loss, o.lossSteps));
  const ranges = splitRows(shape.N, shards);
  const part = (i: number) => new PersistentShard(i, shardData(shape, inputs, targets, o.lossSteps, ...ranges[i]));
  const coordinator: CoordinatorOptions = {
    shards,
    staleness: 0,
    rho: o.rho,
    rhoPolicy: o.rhoPolicy,
    beta: o.beta * shape.N,
    classification: true,
  };
  return { data, model, shape, part, coordinator };
}
