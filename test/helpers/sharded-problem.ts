/**
 * A test problem split into persistent-loop shards, as the trainer splits it: the same function
 * in the test process (coordinator, in-process shards) and in a worker process (its one shard),
 * so both sides hold bit-identical data.
 */
import type { RNN, TrainingData } from '../../lib';
import { resolveTrainerOptions, type AdmmTrainerOptions } from '../../lib/admm/options';
import { inputLayout, lossForTargets, nativeShape, targetLayout } from '../../lib/data';
import { sharedInputs, sharedTargets } from '../../lib/in-shared-memory';
import type { CoordinatorOptions } from '../../lib/parallel/coordinator';
import { PersistentShard } from '../../lib/parallel/shard';
import { shardData, splitRows } from '../../lib/parallel/split';

export function shardedProblem(model: RNN, data: TrainingData, options: AdmmTrainerOptions, shards: number) {
  const o = resolveTrainerOptions(options);
  const layout = inputLayout('data', data, model);
  const loss = o.loss ?? lossForTargets(data.targets)!;
  const shape = nativeShape(model, layout.N, layout.T, o.lossSteps);
  const inputs = sharedInputs(layout.native);
  const targets = sharedTargets(targetLayout('data.targets', data.targets, shape, loss, o.lossSteps));
  const parts = splitRows(shape.N, shards).map(
    ([b, e], i) => new PersistentShard(i, shardData(shape, inputs, targets, o.lossSteps, b, e))
  );
  const coordinator: CoordinatorOptions = {
    shards,
    staleness: 0,
    rho: o.rho,
    rhoPolicy: o.rhoPolicy,
    beta: o.beta * shape.N,
    classification: loss === 'softmax-cross-entropy',
  };
  return { shape, parts, coordinator };
}
