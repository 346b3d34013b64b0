/** Overlapping calls, independent trainers, worker threads (and their termination), aborting a fit. */
import test from 'ava';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AdmmTrainer, BpttTrainer, RNN, Random } from '../lib';
import { randomProblem, withoutTimes } from './problems';

const small = (seed = 1) =>
  randomProblem({ N: 16, T: 4, d: 3, h: 5, K: 3, lossSteps: 'last', loss: 'softmax-cross-entropy', seed });

test('overlapping BPTT fits on one trainer or one model are refused with ERR_BUSY', async (t) => {
  const { model, data } = small();
  const trainer = new BpttTrainer(model, { batchSize: 4 });
  const running = trainer.fit(data, { maxIterations: 3 });
  await t.throwsAsync(() => trainer.fit(data), { code: 'ERR_BUSY', message: /already running/ });
  await t.throwsAsync(() => new BpttTrainer(model).fit(data), {
    code: 'ERR_BUSY',
    message: /in use by BpttTrainer.fit/,
  });
  await t.throwsAsync(() => new AdmmTrainer(model).fit(data), { code: 'ERR_BUSY' });
  t.throws(() => model.setWeights({ b: new Float32Array(5) }), { code: 'ERR_BUSY' });
  t.is((await running).status, 'max-iterations');
  t.is((await trainer.fit(data, { maxIterations: 1 })).status, 'max-iterations'); // usable again
});

test('overlapping async predictions on one model are refused with ERR_BUSY, then the model is free', async (t) => {
  const { model, data } = small();
  const first = model.predictAsync(data);
  await t.throwsAsync(() => model.predictAsync(data), { code: 'ERR_BUSY', message: /in use by predictAsync/ });
  await t.throwsAsync(() => model.evaluateAsync(data), { code: 'ERR_BUSY' });
  t.deepEqual(Array.from(await first), Array.from(model.predict(data)));
});

test('two independent BPTT trainers run concurrently and match a sequential run', async (t) => {
  const [a, b, c] = [small(4), small(4), small(4)];
  const opts = { batchSize: 4, seed: 2 };
  const [ra, rb] = await Promise.all([
    new BpttTrainer(a.model, opts).fit(a.data, { maxIterations: 3 }),
    new BpttTrainer(b.model, opts).fit(b.data, { maxIterations: 3 }),
  ]);
  const rc = await new BpttTrainer(c.model, opts).fit(c.data, { maxIterations: 3 });
  t.deepEqual(withoutTimes(ra.history), withoutTimes(rc.history));
  t.deepEqual(withoutTimes(rb.history), withoutTimes(rc.history));
  t.deepEqual(Array.from(a.model.W), Array.from(c.model.W));
});

const WORKER = path.join(__dirname, 'workers', 'train.js');

function trainInWorker(trainer: 'admm' | 'bptt', iterations: number, seed: number) {
  const worker = new Worker(WORKER, { workerData: { trainer, iterations, seed } });
  const iterationsSeen: number[] = [];
  const done = new Promise<{ status: string; weights: number[] }>((resolve, reject) => {
    worker.on('message', (m) => (m.done ? resolve(m) : iterationsSeen.push(m.iteration)));
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`worker exited with ${code} before finishing`)));
  });
  return { worker, done, iterationsSeen };
}

test('the addon loads in two worker threads at once and both train to the result of the main thread', async (t) => {
  const runs = [trainInWorker('admm', 3, 7), trainInWorker('bptt', 3, 7)];
  const [admm, bptt] = await Promise.all(runs.map((r) => r.done));
  await Promise.all(runs.map((r) => r.worker.terminate()));
  t.is(admm.status, 'max-iterations');
  t.is(bptt.status, 'max-iterations');
  t.deepEqual(runs[0].iterationsSeen, [1, 2, 3]);
  // The same problem trained on the main thread gives the same weights (context-aware, no shared state).
  const rng = new Random(7),
    N = 40,
    T = 6,
    d = 4,
    h = 16,
    K = 3;
  const data = {
    inputs: Float32Array.from({ length: N * T * d }, () => rng.normal()),
    targets: Int32Array.from({ length: N }, () => rng.int(K)),
    sequenceLength: T,
  };
  const model = new RNN({ inputSize: d, hiddenSize: h, outputSize: K, init: { seed: 7 } });
  await new AdmmTrainer(model).fit(data, { maxIterations: 3 });
  t.deepEqual(admm.weights, Array.from(model.W));
});

test('worker.terminate() in the middle of training leaves the process alive and the addon usable', async (t) => {
  for (const trainer of ['admm', 'bptt'] as const) {
    const run = trainInWorker(trainer, 10000, 3);
    run.done.catch(() => undefined);
    await new Promise<void>((resolve) => run.worker.on('message', (m) => m.iteration === 2 && resolve()));
    const code = await run.worker.terminate(); // lands while native work is queued or running
    t.is(code, 1);
    t.true(run.iterationsSeen.length >= 2);
  }
  const again = trainInWorker('admm', 2, 5);
  t.is((await again.done).status, 'max-iterations');
  await again.worker.terminate();
  const { model, data } = small();
  t.is((await new AdmmTrainer(model).fit(data, { maxIterations: 1 })).status, 'max-iterations');
});

for (const kind of ['admm', 'bptt'] as const)
  test(`aborting a ${kind} fit mid-iteration keeps the last completed iteration's weights and training can resume`, async (t) => {
    const { model, data } = randomProblem({
      N: 64,
      T: 8,
      d: 4,
      h: 24,
      K: 3,
      lossSteps: 'last',
      loss: 'softmax-cross-entropy',
      seed: 9,
    });
    const trainer =
      kind === 'admm' ? new AdmmTrainer(model, { mode: 'persistent' }) : new BpttTrainer(model, { batchSize: 2 });
    const controller = new AbortController();
    let afterFirst = '';
    const result = await trainer.fit(data, {
      maxIterations: 50,
      signal: controller.signal,
      onIteration: (r: { iteration: number }) => {
        if (r.iteration !== 1) return;
        afterFirst = JSON.stringify(model.weights());
        setImmediate(() => controller.abort()); // lands inside iteration 2
      },
    });
    t.is(result.status, 'aborted');
    t.regex(result.message, /aborted (during|before) iteration 2/);
    t.is(result.history.length, 1);
    if (kind === 'admm') t.is(JSON.stringify(model.weights()), afterFirst); // BPTT keeps its last completed mini-batch update
    t.true(Object.values(model.weights()).every((w) => w.every(Number.isFinite)));
    const resumed = await trainer.fit(data, { maxIterations: 2, resume: true });
    t.is(resumed.status, 'max-iterations', resumed.message);
    t.deepEqual(
      resumed.history.map((r) => r.iteration),
      [2, 3]
    );
    t.true(resumed.history.every((r) => Number.isFinite(r.loss)));
  });
