/**
 * An AbortSignal stops the persistent mode's long phases outside the blocks: the readout warm
 * start and the dual walk (at the start and after an iteration), with the abort contract of the
 * rest of the fit (README "Using it"): status 'aborted', the weights of the last completed
 * iteration (those the fit began with before iteration 1). Unaborted runs are unchanged.
 */
import test from 'ava';
import { AdmmTrainer, type AdmmTrainerOptions, type RNN, getThreads, setThreads } from '../lib';
import { native } from '../lib/native';
import { EventLoopMonitor } from './helpers/event-loop';
import { type ProblemSpec, randomProblem, withoutTimes } from './problems';

/** A loss at every step of 400 × 20: the warm start's refit yields hundreds of times. */
const LONG_REFIT: ProblemSpec = {
  N: 400,
  T: 20,
  d: 4,
  h: 16,
  K: 12,
  lossSteps: 'every',
  loss: 'softmax-cross-entropy',
};
const WALKED: ProblemSpec = { N: 256, T: 20, d: 4, h: 24, K: 4, lossSteps: 'last', loss: 'softmax-cross-entropy' };
const PERSISTENT = { mode: 'persistent' } as const;
const EVERY_STEP = { ...PERSISTENT, lossSteps: 'every' } as const;

const weightsOf = (model: RNN) =>
  Object.fromEntries(Object.entries(model.weights()).map(([k, v]) => [k, Array.from(v)]));

/** Aborts `controller` on the `turns`-th turn of the event loop from now. */
function abortAfterTurns(controller: AbortController, turns: number): void {
  let turn = 0;
  const next = () => (++turn >= turns ? controller.abort() : setImmediate(next));
  setImmediate(next);
}

/**
 * Aborts `controller` just after the `nth` dual walk of a fit has started: the walk is the only
 * persistent phase that listens to the signal, and the abort (a microtask) lands once the walk
 * has handed its kernel to the thread pool.
 */
function abortInWalk(controller: AbortController, nth: number): void {
  const signal = controller.signal;
  const add = signal.addEventListener.bind(signal);
  let walks = 0;
  signal.addEventListener = ((...args: Parameters<AbortSignal['addEventListener']>) => {
    add(...args);
    if (args[0] === 'abort' && ++walks === nth) queueMicrotask(() => controller.abort());
  }) as AbortSignal['addEventListener'];
}

test('an abort during the warm start ends the fit before iteration 1 with the weights it began with', async (t) => {
  const warmed = randomProblem(LONG_REFIT);
  const initial = weightsOf(warmed.model);
  await new AdmmTrainer(warmed.model, EVERY_STEP).fit(warmed.data, { maxIterations: 0 });
  t.notDeepEqual(weightsOf(warmed.model).V, initial.V, 'the warm start moves the readout');

  const p = randomProblem(LONG_REFIT);
  const trainer = new AdmmTrainer(p.model, EVERY_STEP);
  const controller = new AbortController();
  const run = trainer.fit(p.data, { maxIterations: 5, signal: controller.signal });
  abortAfterTurns(controller, 3); // the refit has yielded far more often by its end
  const result = await run;
  t.is(result.status, 'aborted');
  t.regex(result.message, /before iteration 1/);
  t.deepEqual(result.history, []);
  t.deepEqual(weightsOf(p.model), initial);
  t.throws(() => trainer.exportState(), { code: 'ERR_NOT_INITIALISED' }, 'no half-started run is kept');

  // The next fit starts afresh, as on a new trainer.
  const again = await trainer.fit(p.data, { maxIterations: 2 });
  const fresh = randomProblem(LONG_REFIT);
  const expected = await new AdmmTrainer(fresh.model, EVERY_STEP).fit(fresh.data, { maxIterations: 2 });
  t.deepEqual(withoutTimes(again.history), withoutTimes(expected.history));
  t.deepEqual(weightsOf(p.model), weightsOf(fresh.model));
});

test('an abort during the first dual walk ends the fit before iteration 1, the warm start undone', async (t) => {
  const p = randomProblem(WALKED);
  const initial = weightsOf(p.model);
  const trainer = new AdmmTrainer(p.model, { ...PERSISTENT, dualWalk: true });
  const controller = new AbortController();
  abortInWalk(controller, 1);
  const result = await trainer.fit(p.data, { maxIterations: 5, signal: controller.signal });
  t.is(result.status, 'aborted');
  t.regex(result.message, /before iteration 1/);
  t.deepEqual(result.history, []);
  t.deepEqual(weightsOf(p.model), initial);
  t.throws(() => trainer.exportState(), { code: 'ERR_NOT_INITIALISED' });
});

test('an abort during the re-walk after an iteration keeps the weights of the last completed iteration', async (t) => {
  const p = randomProblem(WALKED);
  const trainer = new AdmmTrainer(p.model, { ...PERSISTENT, dualWalk: { every: 1 } });
  const controller = new AbortController();
  abortInWalk(controller, 3); // the start's walk, iteration 1's, then iteration 2's
  let afterFirst: Record<string, number[]> = {};
  const result = await trainer.fit(p.data, {
    maxIterations: 5,
    signal: controller.signal,
    onIteration: (r) => void (r.iteration === 1 && (afterFirst = weightsOf(p.model))),
  });
  t.is(result.status, 'aborted');
  t.regex(result.message, /during iteration 2/);
  t.is(result.history.length, 1);
  t.deepEqual(weightsOf(p.model), afterFirst);
  p.model.predict(p.data); // the model is usable again
});

test('a fit whose signal never aborts is the fit without one, warm start and walks included', async (t) => {
  const options: AdmmTrainerOptions = { ...PERSISTENT, dualWalk: { every: 1 } };
  const fits = [undefined, new AbortController().signal].map(async (signal) => {
    const p = randomProblem(WALKED);
    const trainer = new AdmmTrainer(p.model, options);
    const { status, history } = await trainer.fit(p.data, { maxIterations: 3, signal });
    return { status, history: withoutTimes(history), weights: weightsOf(p.model), state: trainer.exportState() };
  });
  const [plain, signalled] = await Promise.all(fits);
  t.is(plain.status, 'max-iterations');
  t.deepEqual(signalled, plain);
});

test('the walk kernel stops at its first step when its cancel flag is set, and checks the flag', (t) => {
  const { N, T, d, h, K } = WALKED;
  const p = randomProblem(WALKED);
  const shape = { N, T, d, h, K, everyStep: false };
  const inputs = { x: p.data.inputs as Float32Array };
  const A = new Float32Array(N * T * h),
    S = new Float32Array(N * T * h),
    O = new Float32Array(N * K);
  native.forward({ shape, ...inputs, ...p.model.weights(), A, S, O });
  const walk = (cancel?: Int32Array) => {
    const out = { A: A.slice(), O: O.slice(), M1: new Float32Array(N * T * h), Saux: new Float32Array(N * T * h) };
    const M3 = new Float32Array(N * K).fill(1);
    const args = { shape, ...inputs, ...p.model.weights(), S, ...out, M3, rho1: 1, rho2: 1, rho3: 1, sweeps: 2 };
    native.localDualWalk({
      ...args,
      gamma: 1,
      loss: 'softmax-cross-entropy',
      labels: p.data.targets as Int32Array,
      cancel,
    });
    return out;
  };
  t.true(
    walk().M1.some((v) => v !== 0),
    'a walk gives μ1 credit'
  );
  const flag = new Int32Array(new SharedArrayBuffer(4));
  t.true(
    walk(flag).M1.some((v) => v !== 0),
    'a clear flag changes nothing'
  );
  Atomics.store(flag, 0, 1);
  const stopped = walk(flag);
  t.true(
    stopped.M1.every((v) => v === 0),
    'no step walked'
  );
  t.deepEqual(stopped.A, A);
  t.deepEqual(stopped.O, O);
  t.throws(() => walk(new Int32Array(1)), { instanceOf: TypeError, message: /cancel.*SharedArrayBuffer/ });
  t.throws(() => walk(new Int32Array(new SharedArrayBuffer(8))), { instanceOf: RangeError, message: /cancel/ });
});

// Serial: the gaps measure this test's start, not the other tests' work (as trainer.test.ts's).
// One BLAS thread: on a loaded machine a threaded product's hand-off alone can stall the loop for
// 50–300 ms (BENCHMARKS.md, "Readout refit"), which would hide what is measured here, the yields.
test.serial('the event loop keeps ticking during the warm start and the first dual walk', async (t) => {
  const p = randomProblem({ ...LONG_REFIT, N: 1200 });
  const trainer = new AdmmTrainer(p.model, { ...EVERY_STEP, dualWalk: true });
  const threads = getThreads();
  setThreads({ blas: 1 });
  const monitor = new EventLoopMonitor();
  const result = await trainer.fit(p.data, { maxIterations: 0 }).finally(() => setThreads(threads)); // the start alone
  const { seconds, worst, gap, ticks } = monitor.stop();
  t.log(
    `start ${seconds.toFixed(2)} s, ${ticks} ticks, longest busy stretch ${worst.toFixed(1)} ms, longest gap ${gap.toFixed(1)} ms`
  );
  t.is(result.status, 'max-iterations');
  t.true(seconds > 0.25, 'the start is too short to show blocking');
  const bound = Math.max(250, (seconds * 1000) / 4);
  t.true(worst < bound, `event loop blocked for ${worst.toFixed(1)} ms (bound ${bound.toFixed(0)} ms)`);
  t.true(ticks > (seconds * 1000) / 50);
});
