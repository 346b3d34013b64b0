/** BpttTrainer: learning, determinism, clipping, divergence, stopping, non-blocking fit, bad inputs. */
import test from 'ava';
import { BpttTrainer } from '../lib/bptt/trainer';
import { Random } from '../lib/random';
import { RNN } from '../lib/rnn';
import type { TrainingData } from '../lib/data';

const T = 6,
  d = 2;

/** Class 1 when the first input channel sums to more than zero over the sequence. */
function task(N: number, seed = 0): TrainingData {
  const rng = new Random(seed);
  const inputs = Float32Array.from({ length: N * T * d }, () => rng.normal());
  const targets = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    let sum = 0;
    for (let t = 0; t < T; t++) sum += inputs[(n * T + t) * d];
    targets[n] = sum > 0 ? 1 : 0;
  }
  return { inputs, targets, sequenceLength: T };
}

const model = (seed = 1) => new RNN({ inputSize: d, hiddenSize: 8, outputSize: 2, init: { scheme: 'glorot', seed } });

test('Adam learns a small task; records carry the per-step gradient norms', async (t) => {
  const m = model();
  const trainer = new BpttTrainer(m, { batchSize: 16, optimizer: { kind: 'adam', lr: 0.02 } });
  const result = await trainer.fit(task(128), { maxIterations: 15 });
  t.is(result.status, 'max-iterations');
  t.is(result.history.length, 15);
  const first = result.history[0],
    last = result.history[14];
  t.true(last.loss < 0.6 * first.loss, `loss ${first.loss} → ${last.loss}`);
  t.true(last.accuracy > 0.85, `accuracy ${last.accuracy}`);
  t.is(last.stepGradientNorms.length, T);
  t.true(last.stepGradientNorms.every((v) => Number.isFinite(v) && v > 0));
  t.true(last.gradientNorm > 0 && last.maxGradientNorm >= last.gradientNorm);
  t.true(
    result.history.every((r) => r.trainSeconds > 0 && r.trainSeconds <= r.seconds),
    'the training loop is part of the epoch'
  );
  t.is(trainer.steps, 15 * 8);
  t.true(
    Math.abs(m.evaluate(task(128)).loss - last.loss) < 1e-5 * last.loss,
    "the record's loss is the forward-pass loss"
  );
});

for (const optimizer of [
  { kind: 'sgd', lr: 0.5 },
  { kind: 'momentum', lr: 0.1, nesterov: true },
  { kind: 'adagrad', lr: 0.1 },
  { kind: 'rmsprop', centered: true },
] as const)
  test(`${optimizer.kind} lowers the training loss`, async (t) => {
    const result = await new BpttTrainer(model(), { batchSize: 16, optimizer }).fit(task(128), { maxIterations: 8 });
    t.true(
      result.history[7].loss < 0.9 * result.history[0].loss,
      `${result.history[0].loss} → ${result.history[7].loss}`
    );
  });

test('the same seed gives the same run; another seed shuffles differently', async (t) => {
  const data = task(100);
  const runs = await Promise.all(
    [0, 0, 5].map(async (seed) => {
      const m = model();
      const r = await new BpttTrainer(m, { batchSize: 12, seed }).fit(data, { maxIterations: 3 });
      return { losses: r.history.map((h) => h.loss), W: Array.from(m.W) };
    })
  );
  t.deepEqual(runs[0], runs[1]);
  t.notDeepEqual(runs[0].W, runs[2].W);
});

test('clipping bounds every update; without it the same run moves further', async (t) => {
  const data = task(64);
  const clippedModel = model(),
    freeModel = model();
  const start = Array.from(clippedModel.W);
  const clipped = await new BpttTrainer(clippedModel, {
    batchSize: 64,
    shuffle: false,
    clipGradNorm: 1e-3,
    optimizer: { kind: 'sgd', lr: 1 },
  }).fit(data, { maxIterations: 1 });
  const free = await new BpttTrainer(freeModel, {
    batchSize: 64,
    shuffle: false,
    optimizer: { kind: 'sgd', lr: 1 },
  }).fit(data, { maxIterations: 1 });
  t.is(clipped.history[0].clippedBatches, 1);
  t.is(free.history[0].clippedBatches, 0);
  t.is(clipped.history[0].gradientNorm, free.history[0].gradientNorm); // reported before clipping
  const moved = (m: RNN) => {
    let sq = 0;
    for (const [name, w] of Object.entries(m.weights())) {
      const before = name === 'W' ? start : Array.from(model().weights()[name as 'U'] as Float32Array);
      w.forEach((v, i) => (sq += (v - before[i]) ** 2));
    }
    return Math.sqrt(sq);
  };
  t.true(Math.abs(moved(clippedModel) - 1e-3) < 1e-5, `step ${moved(clippedModel)}`);
  t.true(moved(freeModel) > 0.01);
});

test('a diverging run stops with status diverged and finite weights', async (t) => {
  // Squared error with a step far beyond 2/‖s‖²: the readout oscillates with growing amplitude until it overflows.
  const m = model(),
    data = task(64);
  const targets = Float32Array.from({ length: 64 * 2 }, (_, i) => 100 * (i % 2));
  const result = await new BpttTrainer(m, { batchSize: 8, optimizer: { kind: 'sgd', lr: 10 } }).fit(
    { ...data, targets },
    { maxIterations: 20 }
  );
  t.is(result.status, 'diverged');
  t.regex(result.message, /non-finite/);
  for (const w of Object.values(m.weights())) t.true(w.every((v) => Number.isFinite(v)));
});

test('AbortSignal, onIteration returning false and plateau stop the fit', async (t) => {
  const controller = new AbortController();
  const aborted = await new BpttTrainer(model(), { batchSize: 8 }).fit(task(64), {
    maxIterations: 50,
    onIteration: (r) => {
      if (r.iteration === 2) controller.abort();
    },
    signal: controller.signal,
  });
  t.is(aborted.status, 'aborted');
  t.is(aborted.history.length, 2);
  const stopped = await new BpttTrainer(model()).fit(task(64), {
    maxIterations: 50,
    onIteration: (r) => r.iteration < 3,
  });
  t.is(stopped.status, 'stopped');
  t.is(stopped.history.length, 3);
  const plateau = await new BpttTrainer(model(), { optimizer: { kind: 'sgd', lr: 0 } }).fit(task(64), {
    maxIterations: 50,
    plateau: { patience: 2 },
  });
  t.is(plateau.status, 'plateau');
  t.is(plateau.history.length, 3);
});

test('fit does not block the event loop; iterate yields every epoch; resume continues the count', async (t) => {
  const trainer = new BpttTrainer(model(), { batchSize: 4 });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const seen: number[] = [];
  for await (const record of trainer.iterate(task(256), { maxIterations: 3 })) seen.push(record.iteration);
  clearInterval(timer);
  t.deepEqual(seen, [1, 2, 3]);
  t.true(ticks > 10, `${ticks} timer ticks during the fit`);
  const more = await trainer.fit(task(256), { maxIterations: 2, resume: true });
  t.deepEqual(
    more.history.map((r) => r.iteration),
    [4, 5]
  );
});

test('loss at every step with squared error and token ids', async (t) => {
  const N = 40,
    K = 3,
    rng = new Random(3);
  const ids = Int32Array.from({ length: N * T }, () => rng.int(4));
  const values = Float32Array.from({ length: N * T * K }, (_, i) => (ids[Math.floor(i / K)] === i % K ? 1 : 0));
  const m = new RNN({ inputSize: 4, hiddenSize: 8, outputSize: K });
  const result = await new BpttTrainer(m, {
    lossSteps: 'every',
    batchSize: 8,
    optimizer: { kind: 'adam', lr: 0.03 },
  }).fit({ inputs: ids, targets: values, sequenceLength: T }, { maxIterations: 10 });
  t.true(Number.isNaN(result.history[0].accuracy));
  t.true(result.history[9].loss < 0.5 * result.history[0].loss);
});

test('bad arguments are TypeError / RangeError naming the parameter', async (t) => {
  t.throws(() => new BpttTrainer({} as RNN), { instanceOf: TypeError, message: /model/ });
  t.throws(() => new BpttTrainer(model(), { batchSize: 0 }), { instanceOf: RangeError, message: /batchSize/ });
  t.throws(() => new BpttTrainer(model(), { clipGradNorm: 0 }), { instanceOf: RangeError, message: /clipGradNorm/ });
  t.throws(() => new BpttTrainer(model(), { optimizer: { kind: 'sgd' } as never }), {
    instanceOf: TypeError,
    message: /optimizer\.lr/,
  });
  t.throws(() => new BpttTrainer(model(), { lossSteps: 'first' as never }), {
    instanceOf: RangeError,
    message: /lossSteps/,
  });
  t.throws(() => new BpttTrainer(model(), { seed: -1 }), { instanceOf: RangeError, message: /seed/ });
  const trainer = new BpttTrainer(model());
  const data = task(8);
  await t.throwsAsync(trainer.fit({ ...data, inputs: new Float32Array(7) }), {
    instanceOf: RangeError,
    message: /inputs/,
  });
  await t.throwsAsync(trainer.fit({ ...data, targets: Int32Array.from(data.targets, () => 2) }), {
    instanceOf: RangeError,
    message: /targets/,
  });
  await t.throwsAsync(trainer.fit({ ...data, targets: [0, 1] as never }), {
    instanceOf: TypeError,
    message: /targets/,
  });
  await t.throwsAsync(trainer.fit(data, { maxIterations: -1 }), { instanceOf: RangeError, message: /maxIterations/ });
  await t.throwsAsync(trainer.fit(data, { signal: {} as never }), { instanceOf: TypeError, message: /signal/ });
});
