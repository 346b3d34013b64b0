/** AdmmTrainer behaviour: learning, determinism, stopping, ρ policies, event loop, faults. */
import test from 'ava';
import {
  AdmmTrainer,
  type AdmmStateSnapshot,
  RNN,
  loadMnist10k,
  type AdmmIterationRecord,
  type PersistentIterationRecord,
} from '../lib';
import { persistentHistory, randomProblem, withoutTimes } from './problems';
import { EventLoopMonitor } from './helpers/event-loop';

/** The paper's full-batch loop (not the default mode), without the persistent mode's default dual walk. */
const PERSISTENT = { mode: 'persistent', dualWalk: false } as const;

const mnist = loadMnist10k({ limit: 600 });

function mnistModel(seed = 0, hidden = 24): RNN {
  return new RNN({ inputSize: 28, hiddenSize: hidden, outputSize: 10, init: { scheme: 'normal', scale: 0.1, seed } });
}

test('on real data the true loss falls and the residuals shrink after their first-iteration jump', async (t) => {
  const model = mnistModel();
  const trainer = new AdmmTrainer(model, PERSISTENT);
  const before = model.evaluate(mnist.train);
  const { history: records, status } = await trainer.fit(mnist.train, { maxIterations: 15 });
  const history = persistentHistory(records);
  t.is(status, 'max-iterations');
  t.is(history.length, 15);
  const last = history[history.length - 1];
  t.true(last.loss < before.loss - 0.05, `loss ${before.loss} → ${last.loss}`);
  t.true(last.accuracy > before.accuracy + 0.05, `accuracy ${before.accuracy} → ${last.accuracy}`);
  const worstPrimal = (r: PersistentIterationRecord) =>
    Math.max(r.primalResiduals.a, r.primalResiduals.s, r.primalResiduals.o);
  const peak = Math.max(...history.slice(0, 3).map(worstPrimal));
  t.true(worstPrimal(last) < peak / 5, `primal residual ${peak} → ${worstPrimal(last)}`);
  t.true(
    last.dualResidual < history[0].dualResidual,
    `dual residual ${history[0].dualResidual} → ${last.dualResidual}`
  );
  t.true(model.evaluate(mnist.test).accuracy > 0.2);
});

test('the record carries every field, ρ follows the geometric schedule and the Lagrangian is finite', async (t) => {
  const { model, data } = randomProblem({
    N: 20,
    T: 6,
    d: 4,
    h: 8,
    K: 3,
    lossSteps: 'every',
    loss: 'softmax-cross-entropy',
  });
  const trainer = new AdmmTrainer(model, {
    ...PERSISTENT,
    rho: [4, 2, 1],
    rhoPolicy: { kind: 'geometric', factor: 1.5, max: 10 },
    lossSteps: 'every',
  });
  const history = persistentHistory((await trainer.fit(data, { maxIterations: 4 })).history);
  t.deepEqual(
    history.map((r) => r.iteration),
    [1, 2, 3, 4]
  );
  t.deepEqual(
    history.map((r) => r.rho[0]),
    [4, 6, 9, 10]
  );
  t.deepEqual(
    history.map((r) => r.rho[2]),
    [1, 1.5, 2.25, 3.375]
  );
  for (const r of history) {
    for (const v of [
      r.loss,
      r.accuracy,
      r.auxiliaryLoss,
      r.lagrangian,
      r.primalResiduals.a,
      r.primalResiduals.s,
      r.primalResiduals.o,
      r.dualResidual,
    ])
      t.true(Number.isFinite(v));
    t.true(r.seconds > 0 && r.elapsed >= r.seconds);
  }
  t.deepEqual(trainer.state!.rho, [10, 10, 3.375 * 1.5]);
});

test('the persistent record reports ρ1‖μ1_t‖ per step as stepSignal', async (t) => {
  const T = 6,
    h = 8;
  const { model, data } = randomProblem({ N: 20, T, d: 4, h, K: 3, lossSteps: 'last', loss: 'softmax-cross-entropy' });
  const trainer = new AdmmTrainer(model, {
    ...PERSISTENT,
    rho: [4, 2, 1],
    rhoPolicy: { kind: 'geometric', factor: 1.5, max: 10 },
  });
  const { history } = await trainer.fit(data, { maxIterations: 2 });
  const signal = history[1].stepSignal!;
  t.is(signal.length, T);
  // Recomputed from the exported state: μ1 there is already rescaled to the next ρ1, λ1 = ρ1 μ1 is not.
  const snap = trainer.exportState() as AdmmStateSnapshot;
  for (let step = 0; step < T; step++) {
    let sq = 0;
    for (let n = 0; n < 20; n++) for (let i = 0; i < h; i++) sq += snap.M1[(n * T + step) * h + i] ** 2;
    const expected = snap.rho[0] * Math.sqrt(sq);
    t.true(Math.abs(signal[step] - expected) <= 1e-5 * expected + 1e-9, `step ${step}: ${signal[step]} vs ${expected}`);
  }
  t.true(signal.some((v) => v > 0));
});

test('the same seed gives the identical history', async (t) => {
  const run = async () => {
    const model = mnistModel(7);
    const { history } = await new AdmmTrainer(model, PERSISTENT).fit(mnist.train, { maxIterations: 3 });
    return { history: withoutTimes(history), weights: Array.from(model.W) };
  };
  const a = await run(),
    b = await run();
  t.deepEqual(a.history, b.history);
  t.deepEqual(a.weights, b.weights);
});

test('the linearised variant trains and reports its backtracked θ', async (t) => {
  const model = mnistModel(3);
  const trainer = new AdmmTrainer(model, { ...PERSISTENT, update: 'linearized', rho: 1, rhoPolicy: { kind: 'fixed' } });
  const history = persistentHistory((await trainer.fit(mnist.train, { maxIterations: 8 })).history);
  const last = history[history.length - 1];
  t.truthy(last.theta);
  for (const v of Object.values(last.theta!)) t.true(v > 0 && Number.isFinite(v));
  t.true(last.lagrangian < history[0].lagrangian);
});

test('residual balancing moves ρ by tau when the residuals are unbalanced', async (t) => {
  const { model, data } = randomProblem({
    N: 30,
    T: 5,
    d: 3,
    h: 6,
    K: 3,
    lossSteps: 'last',
    loss: 'softmax-cross-entropy',
  });
  const trainer = new AdmmTrainer(model, {
    ...PERSISTENT,
    rho: 1,
    rhoPolicy: { kind: 'residual-balancing', mu: 1, tau: 2 },
    safeguard: false, // its rejections scale ρ by other factors
  });
  const { history } = await trainer.fit(data, { maxIterations: 6 });
  const values = new Set(history.flatMap((r) => r.rho.map((v) => Math.log2(v))));
  t.true(
    [...values].every((v) => Number.isInteger(v)),
    `ρ must move by powers of tau: ${[...values]}`
  );
  t.true(values.size > 1, 'ρ never changed');
});

test('stops on residual tolerance, on a loss plateau and when onIteration returns false', async (t) => {
  const { model, data } = randomProblem({
    N: 12,
    T: 4,
    d: 3,
    h: 5,
    K: 3,
    lossSteps: 'last',
    loss: 'softmax-cross-entropy',
  });
  const converged = await new AdmmTrainer(model.clone(), PERSISTENT).fit(data, {
    maxIterations: 50,
    tolerance: { primal: 1, dual: 1e9 },
  });
  t.is(converged.status, 'converged');
  t.is(converged.history.length, 1);
  const plateau = await new AdmmTrainer(model.clone(), PERSISTENT).fit(data, {
    maxIterations: 50,
    plateau: { patience: 2, minDelta: 0.9 },
  });
  t.is(plateau.status, 'plateau');
  t.is(plateau.history.length, 3);
  const stopped = await new AdmmTrainer(model.clone(), PERSISTENT).fit(data, {
    maxIterations: 50,
    onIteration: (r) => r.iteration < 2,
  });
  t.is(stopped.status, 'stopped');
  t.is(stopped.history.length, 2);
});

test('iterate() yields the same records fit() returns', async (t) => {
  const { model, data } = randomProblem({
    N: 12,
    T: 4,
    d: 3,
    h: 5,
    K: 3,
    lossSteps: 'last',
    loss: 'softmax-cross-entropy',
  });
  const twin = model.clone();
  const seen: AdmmIterationRecord[] = [];
  for await (const record of new AdmmTrainer(model, PERSISTENT).iterate(data, { maxIterations: 3 })) seen.push(record);
  const { history } = await new AdmmTrainer(twin, PERSISTENT).fit(data, { maxIterations: 3 });
  t.deepEqual(withoutTimes(seen), withoutTimes(history));
});

test('resume continues from the saved auxiliaries and reproduces the uninterrupted run', async (t) => {
  const { model, data } = randomProblem({
    N: 16,
    T: 5,
    d: 3,
    h: 6,
    K: 3,
    lossSteps: 'last',
    loss: 'softmax-cross-entropy',
  });
  const twin = model.clone();
  const straight = await new AdmmTrainer(model, PERSISTENT).fit(data, { maxIterations: 4 });
  const trainer = new AdmmTrainer(twin, PERSISTENT);
  const first = await trainer.fit(data, { maxIterations: 2 });
  const second = await trainer.fit(data, { maxIterations: 2, resume: true });
  t.deepEqual(withoutTimes([...first.history, ...second.history]), withoutTimes(straight.history));
  t.deepEqual(Array.from(twin.W), Array.from(model.W));
});

// Serial: concurrent tests in this file evaluate models synchronously, which would stall the timer.
test.serial('the event loop keeps ticking during fit', async (t) => {
  const model = new RNN({ inputSize: 28, hiddenSize: 128, outputSize: 10, init: { seed: 1 } });
  const data = loadMnist10k({ limit: 2000 }).train;
  const monitor = new EventLoopMonitor();
  // The iterations and the dual walks (the persistent defaults): the warm start's readout refit
  // yields like the readoutRefit, tested below.
  await new AdmmTrainer(model, { mode: 'persistent', warmStart: 'none' }).fit(data, { maxIterations: 4 });
  const { seconds, worst, gap, ticks } = monitor.stop();
  t.log(
    `fit ${seconds.toFixed(2)} s, ${ticks} ticks, longest busy stretch ${worst.toFixed(1)} ms, longest gap ${gap.toFixed(1)} ms`
  );
  // One iteration here takes ~0.5 s of compute: a blocking fit would stall the timer that long.
  // The bound leaves room for a loaded 2-core CI machine (measured here: 60–90 ms).
  t.true(seconds > 1, 'the problem is too small to show blocking');
  t.true(worst < 250, `event loop blocked for ${worst.toFixed(1)} ms`);
  t.true(ticks > (seconds * 1000) / 50);
});

// Serial for the same reason. The refit at the end of the fit (forward states, then up to 300
// L-BFGS iterations) runs after the last record is handed over; a synchronous one stalls the timer.
test.serial('the event loop keeps ticking during the readoutRefit that ends a fit', async (t) => {
  const model = new RNN({ inputSize: 28, hiddenSize: 128, outputSize: 10, init: { seed: 1 } });
  const data = loadMnist10k({ limit: 5000 }).train;
  const monitor = new EventLoopMonitor();
  // From the random readout, as calibrated: after the warm start the refit is a few long line searches.
  const trainer = new AdmmTrainer(model, { ...PERSISTENT, readoutRefit: true, warmStart: 'none' });
  const result = await trainer.fit(data, { maxIterations: 1, onIteration: () => monitor.restart() });
  const { seconds, worst, gap, ticks } = monitor.stop();
  t.log(
    `refit ${seconds.toFixed(2)} s, ${ticks} ticks, longest busy stretch ${worst.toFixed(1)} ms, longest gap ${gap.toFixed(1)} ms`
  );
  t.is(result.status, 'max-iterations');
  t.truthy(result.refit, 'the refit ran');
  t.true(seconds > 0.25, 'the refit is too short to show blocking');
  // One evaluation of the objective is the longest stretch between yields (the line search pauses
  // between its evaluations): ~25 ms here on a quiet machine, more when test files run beside it
  // (BENCHMARKS.md, "Readout refit"). A refit that does not yield blocks for
  // the whole refit, so the bound scales with it: a quarter of the refit, at least 250 ms.
  const bound = Math.max(250, (seconds * 1000) / 4);
  t.true(worst < bound, `event loop blocked for ${worst.toFixed(1)} ms (bound ${bound.toFixed(0)} ms)`);
  t.true(ticks > (seconds * 1000) / 50);
});

test('an AbortSignal stops the fit and keeps the weights of the last completed iteration', async (t) => {
  const model = mnistModel(2);
  const controller = new AbortController();
  let afterFirst: number[] = [];
  const trainer = new AdmmTrainer(model, PERSISTENT);
  const run = trainer.fit(mnist.train, {
    maxIterations: 50,
    signal: controller.signal,
    onIteration: (r) => {
      if (r.iteration === 1) {
        afterFirst = Array.from(model.W);
        setTimeout(() => controller.abort(), 5); // lands mid-iteration 2
      }
    },
  });
  const result = await run;
  t.is(result.status, 'aborted');
  t.is(result.history.length, 1);
  t.deepEqual(Array.from(model.W), afterFirst);
  model.predict(mnist.test); // the model is usable again
});

test('non-finite weights stop training with status diverged', async (t) => {
  const { model, data } = randomProblem({
    N: 12,
    T: 4,
    d: 3,
    h: 5,
    K: 3,
    lossSteps: 'last',
    loss: 'softmax-cross-entropy',
  });
  const result = await new AdmmTrainer(model, PERSISTENT).fit(data, {
    maxIterations: 10,
    onIteration: (r) => {
      if (r.iteration === 2) model.W[3] = NaN; // corrupt the weights from outside
    },
  });
  t.is(result.status, 'diverged');
  t.regex(result.message, /W\[3\] = NaN/);
  t.is(result.history.length, 2);
});

test('each error code means one thing: not initialised, wrong mode, chunked state', async (t) => {
  const { model, data } = randomProblem({
    N: 12,
    T: 4,
    d: 3,
    h: 5,
    K: 3,
    lossSteps: 'last',
    loss: 'softmax-cross-entropy',
  });
  const persistent = new AdmmTrainer(model, PERSISTENT);
  await t.throwsAsync(() => persistent.step(), {
    code: 'ERR_NOT_INITIALISED',
    message: /initialise\(data\) or fit\(data\)/,
  });
  t.throws(() => persistent.exportState(), { code: 'ERR_NOT_INITIALISED' });
  await t.throwsAsync(() => persistent.epoch(), { code: 'ERR_WRONG_MODE', message: /mini-batch modes.*use step\(\)/ });
  const adjoint = new AdmmTrainer(model, { mode: 'adjoint' });
  await t.throwsAsync(() => adjoint.epoch(), { code: 'ERR_NOT_INITIALISED' });
  await adjoint.initialise(data);
  await t.throwsAsync(() => adjoint.step(), {
    code: 'ERR_WRONG_MODE',
    message: /belong to mode 'persistent', not 'adjoint'/,
  });
  await t.throwsAsync(async () => adjoint.updateOutputs(), { code: 'ERR_WRONG_MODE' });
  await t.notThrowsAsync(() => adjoint.epoch());
});

test('overlapping fits on one trainer or model are refused with ERR_BUSY', async (t) => {
  const { model, data } = randomProblem({
    N: 12,
    T: 4,
    d: 3,
    h: 5,
    K: 3,
    lossSteps: 'last',
    loss: 'softmax-cross-entropy',
  });
  const trainer = new AdmmTrainer(model, PERSISTENT);
  const running = trainer.fit(data, { maxIterations: 3 });
  await t.throwsAsync(() => trainer.fit(data), { code: 'ERR_BUSY' });
  await t.throwsAsync(() => new AdmmTrainer(model, PERSISTENT).fit(data), { code: 'ERR_BUSY' });
  t.throws(() => model.predict(data), { code: 'ERR_BUSY' });
  t.is((await running).status, 'max-iterations');
  t.notThrows(() => model.predict(data));
});

test('two independent trainers run concurrently in one process', async (t) => {
  const a = randomProblem({ N: 20, T: 5, d: 3, h: 6, K: 3, lossSteps: 'last', loss: 'softmax-cross-entropy', seed: 4 });
  const b = randomProblem({ N: 20, T: 5, d: 3, h: 6, K: 3, lossSteps: 'last', loss: 'softmax-cross-entropy', seed: 4 });
  const [ra, rb] = await Promise.all([
    new AdmmTrainer(a.model, PERSISTENT).fit(a.data, { maxIterations: 3 }),
    new AdmmTrainer(b.model, PERSISTENT).fit(b.data, { maxIterations: 3 }),
  ]);
  t.deepEqual(withoutTimes(ra.history), withoutTimes(rb.history));
});
