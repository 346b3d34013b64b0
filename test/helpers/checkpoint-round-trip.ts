/** A trainer's state written to a checkpoint and read back through the file format, and runs resumed from one. */
import { AdmmTrainer, type AdmmTrainerOptions, type BpttTrainer, type RNN } from '../../lib';
import { type Checkpoint, type LoadedCheckpoint, decodeCheckpoint, encodeCheckpoint } from '../../lib/checkpoint';
import { type ProblemSpec, randomProblem } from '../problems';

/** A checkpoint of `model` and `trainer`'s state after `iteration` iterations on data of `spec`, decoded again. */
export function checkpointRoundTrip(
  model: RNN,
  trainer: AdmmTrainer | BpttTrainer,
  iteration: number,
  spec: Pick<ProblemSpec, 'T' | 'loss' | 'lossSteps'>,
  name = 'round-trip.st'
): LoadedCheckpoint {
  const { inputSize, hiddenSize, outputSize } = model;
  const checkpoint: Checkpoint = {
    model,
    config: { inputSize, hiddenSize, outputSize },
    task: { source: 'npy', sequenceLength: spec.T, loss: spec.loss, lossSteps: spec.lossSteps, inputs: 'dense' },
    trainer: { kind: trainer instanceof AdmmTrainer ? 'admm' : 'bptt', options: { ...trainer.options }, iteration },
    ...(trainer instanceof AdmmTrainer ? { admmState: trainer.exportState() } : { bpttState: trainer.exportState() }),
  };
  return decodeCheckpoint(encodeCheckpoint(checkpoint), name);
}

/**
 * The same run twice on `spec`'s problem: 4 iterations straight, and 2 + 2 on a new trainer
 * restored from a checkpoint written after the first 2 (`saved`: the state exported there).
 */
export async function straightAndResumed(spec: ProblemSpec, options: AdmmTrainerOptions, name: string) {
  const straight = randomProblem(spec);
  const full = new AdmmTrainer(straight.model, options);
  const four = await full.fit(straight.data, { maxIterations: 4 });
  const half = randomProblem(spec);
  const first = new AdmmTrainer(half.model, options);
  await first.fit(half.data, { maxIterations: 2 });
  const saved = first.exportState();
  const back = checkpointRoundTrip(half.model, first, 2, spec, name);
  const second = new AdmmTrainer(back.model, back.trainer!.options);
  await second.restoreState(half.data, back.admmState!);
  const rest = await second.fit(half.data, { maxIterations: 2, resume: true });
  return { straight, full, four, saved, back, second, rest };
}
