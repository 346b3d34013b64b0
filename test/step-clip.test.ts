/** Step clipping of the mini-batch modes (options.stepClip, lib/admm/step-clip.ts). */
import test from 'ava';
import { AdmmTrainer, RNN } from '../lib';
import { StepClip } from '../lib/admm/step-clip';
import { copyWeights, type WeightCopy } from '../lib/training/rollback';
import type { WeightName } from '../lib/rnn';
import { fitFresh, type ProblemSpec } from './problems';

const NAMES: WeightName[] = ['U', 'W', 'b', 'V', 'c'];

/** Moves every weight of `model` by `length` / √(weight count) from `from`: a step of that length. */
function step(model: RNN, from: WeightCopy, length: number): void {
  const w = model.weights();
  const count = NAMES.reduce((n, k) => n + w[k].length, 0);
  for (const k of NAMES) for (let i = 0; i < w[k].length; i++) w[k][i] = from[k][i] + length / Math.sqrt(count);
}

function stepLength(model: RNN, from: WeightCopy): number {
  const w = model.weights();
  let sq = 0;
  for (const k of NAMES) for (let i = 0; i < w[k].length; i++) sq += (w[k][i] - from[k][i]) ** 2;
  return Math.sqrt(sq);
}

test('a step longer than factor × the running mean is scaled back to it along its direction', (t) => {
  const model = new RNN({ inputSize: 3, hiddenSize: 4, outputSize: 2, init: { seed: 1 } });
  const clip = new StepClip(2);
  const start = copyWeights(model);
  step(model, start, 1);
  t.is(clip.apply(model, start, 1), 1, 'the first step sets the mean');
  const before = copyWeights(model);
  step(model, before, 10);
  const shrink = clip.apply(model, before, 1);
  t.true(Math.abs(shrink - 0.2) < 1e-5, `shrink ${shrink}`);
  t.true(Math.abs(stepLength(model, before) - 2) < 1e-5, `length ${stepLength(model, before)}`);
  // Every weight moved by the same fraction of its step: the direction is kept.
  const moved = (model.U[0] - before.U[0]) / (model.c[1] - before.c[1]);
  t.true(Math.abs(moved - 1) < 1e-4);
});

test("lengths are compared at the safeguard's scale 1, and the mean restarts each epoch", (t) => {
  const model = new RNN({ inputSize: 3, hiddenSize: 4, outputSize: 2, init: { seed: 2 } });
  const clip = new StepClip(1.5);
  let from = copyWeights(model);
  step(model, from, 1);
  clip.apply(model, from, 1);
  // A step tried at scale 8 that is 1/8 as long is the same step: not clipped.
  from = copyWeights(model);
  step(model, from, 1 / 8);
  t.is(clip.apply(model, from, 8), 1);
  from = copyWeights(model);
  step(model, from, 1 / 4);
  t.true(clip.apply(model, from, 8) < 1, 'twice the mean at scale 8 is clipped');
  clip.startEpoch();
  from = copyWeights(model);
  step(model, from, 100);
  t.is(clip.apply(model, from, 1), 1, "a new epoch's first step sets the mean afresh");
});

test('options.stepClip is checked', (t) => {
  const model = new RNN({ inputSize: 3, hiddenSize: 4, outputSize: 2 });
  t.throws(() => new AdmmTrainer(model, { stepClip: 0.5 }), { instanceOf: RangeError, message: /options.stepClip/ });
  t.throws(() => new AdmmTrainer(model, { stepClip: Number.NaN }), {
    instanceOf: RangeError,
    message: /options.stepClip/,
  });
  t.throws(() => new AdmmTrainer(model, { stepClip: '2' as never }), {
    instanceOf: TypeError,
    message: /options.stepClip/,
  });
  t.throws(() => new AdmmTrainer(model, { mode: 'persistent', stepClip: 2 }), {
    instanceOf: RangeError,
    message: /options.stepClip/,
  });
  t.throws(() => new AdmmTrainer(model, { stepClip: true as never }), {
    instanceOf: TypeError,
    message: /options.stepClip must be a number ≥ 1 or false/,
  });
  t.is(new AdmmTrainer(model, { mode: 'local-duals', stepClip: 1.5 }).options.stepClip, 1.5);
  t.is(new AdmmTrainer(model, { stepClip: false }).options.stepClip, false);
  t.is(new AdmmTrainer(model, { mode: 'persistent', stepClip: false }).options.stepClip, false);
});

test("the default: 1.25 with the safeguard's relax 2 in mode 'adjoint', 1.25 and relax 1.1 in 'local-duals', no clip and relax 1.1 in the others", (t) => {
  const model = new RNN({ inputSize: 3, hiddenSize: 4, outputSize: 2 });
  const resolved = (options?: object) => {
    const { stepClip, safeguard } = new AdmmTrainer(model, options).options;
    return { stepClip, relax: safeguard && safeguard.relax };
  };
  t.deepEqual(resolved(), { stepClip: 1.25, relax: 2 });
  t.deepEqual(
    resolved({ safeguard: { momentum: 0.5 } }),
    { stepClip: 1.25, relax: 2 },
    'overrides keep the mode defaults'
  );
  t.deepEqual(resolved({ safeguard: { relax: 1.5 } }), { stepClip: 1.25, relax: 1.5 });
  t.deepEqual(resolved({ mode: 'local-duals' }), { stepClip: 1.25, relax: 1.1 });
  for (const mode of ['sweeps', 'persistent']) t.deepEqual(resolved({ mode }), { stepClip: false, relax: 1.1 }, mode);
  // Saved options keep 'none' as false, so a checkpoint rebuilds the unclipped run.
  t.is(JSON.parse(JSON.stringify(new AdmmTrainer(model, { mode: 'sweeps' }).options)).stepClip, false);
});

const spec: ProblemSpec = {
  N: 40,
  T: 6,
  d: 3,
  h: 8,
  K: 3,
  lossSteps: 'last',
  loss: 'softmax-cross-entropy',
  seed: 7,
};
const clipped = { mode: 'adjoint', batchSize: 8, safeguard: false, stepClip: 1 } as const;

test('a clipped fit is deterministic and differs from the unclipped one', async (t) => {
  const a = await fitFresh(spec, clipped),
    b = await fitFresh(spec, clipped);
  t.deepEqual(a, b);
  t.notDeepEqual((await fitFresh(spec, { ...clipped, stepClip: false })).weights, a.weights);
});

test('a clipped fit sharded over one worker thread is bit for bit the one-process fit', async (t) => {
  const single = await fitFresh(spec, clipped);
  const sharded = await fitFresh(spec, { ...clipped, parallel: { workers: 1 } });
  t.deepEqual(sharded.weights, single.weights);
  t.deepEqual(sharded.history, single.history);
});
