/**
 * A test problem split into shards (persistent-loop rows, or the mini-batch modes' views of every
 * row), as the trainer splits it: the same function
 * in the test process (coordinator, in-process shards) and in a worker process (its one shard),
 * so both sides hold bit-identical data.
 */
import type { RNN, TrainingData } from '../../lib';
import { resolveTrainerOptions, type AdmmTrainerOptions } from '../../lib/admm/options';
import { sharedInputs, sharedTargets } from '../../lib/in-shared-memory';
import { coordinatorOptions } from '../../lib/parallel/coordinator';
import { shardCore, shardStarts } from '../../lib/parallel/starts';
import { trainingLayout } from '../../lib/training/layout';

export function shardedProblem(model: RNN, data: TrainingData, options: AdmmTrainerOptions, shards: number) {
  const o = resolveTrainerOptions(options);
  const layout = trainingLayout(data, model, { loss: o.loss, lossSteps: o.lossSteps });
  const shared = { shape: layout.shape, inputs: sharedInputs(layout.inputs), targets: sharedTargets(layout.targets) };
  const parts = shardStarts(shared, o, shards).map((start, i) => shardCore(start, i));
  const classification = layout.loss === 'softmax-cross-entropy';
  return {
    shape: layout.shape,
    parts,
    coordinator: coordinatorOptions(o, layout, shards, 0),
    miniBatch: { shards, staleness: 0, trainer: o, classification },
  };
}
