/** Numerical faults: each is detected and reported with a status that says what happened, never silent NaN weights. */
import test from 'ava';
import { AdmmTrainer, BpttTrainer, RNN, Random, type TrainingData } from '../lib';
import { native } from '../lib/native-entry';
import { persistentHistory } from './problems';

const N = 12,
  T = 4,
  d = 3,
  h = 5,
  K = 3;

function data(input: (i: number) => number, seed = 3): TrainingData {
  const rng = new Random(seed);
  return {
    inputs: Float32Array.from({ length: N * T * d }, (_, i) => input(i)),
    targets: Int32Array.from({ length: N }, () => rng.int(K)),
    sequenceLength: T,
  };
}
const normal = (seed = 5) => {
  const rng = new Random(seed);
  return () => rng.normal();
};
const model = () => new RNN({ inputSize: d, hiddenSize: h, outputSize: K, init: { seed: 1 } });
const allFinite = (m: RNN) => Object.values(m.weights()).every((w) => w.every(Number.isFinite));

for (const [label, value] of [
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
] as const) {
  test(`${label} in the inputs is rejected at the boundary by every entry point, weights untouched`, async (t) => {
    const m = model(),
      before = JSON.stringify(m),
      bad = data((i) => (i === 7 ? value : 0.5));
    const expected = {
      instanceOf: RangeError,
      message: new RegExp(`data.inputs must be finite .* element 7 is ${label}`),
    };
    await t.throwsAsync(() => new AdmmTrainer(m).fit(bad, { maxIterations: 2 }), expected);
    await t.throwsAsync(() => new BpttTrainer(m).fit(bad, { maxIterations: 2 }), expected);
    await t.throwsAsync(() => m.predictAsync(bad), expected);
    t.throws(() => m.evaluate(bad), expected);
    t.is(JSON.stringify(m), before);
  });

  test(`${label} in regression targets is rejected at the boundary`, async (t) => {
    const targets = new Float32Array(N * K).fill(0.25);
    targets[5] = value;
    const bad = { ...data(normal()), targets };
    const expected = {
      instanceOf: RangeError,
      message: new RegExp(`data.targets must be finite .* element 5 is ${label}`),
    };
    await t.throwsAsync(() => new AdmmTrainer(model()).fit(bad, { maxIterations: 1 }), expected);
    await t.throwsAsync(() => new BpttTrainer(model()).fit(bad, { maxIterations: 1 }), expected);
  });
}

test('NaN injected into the weights mid-fit ends it with status diverged before any update uses it (BPTT)', async (t) => {
  const m = model();
  const result = await new BpttTrainer(m, { batchSize: 4 }).fit(data(normal()), {
    maxIterations: 5,
    onIteration: (r) => {
      if (r.iteration === 2) m.V[1] = NaN;
    },
  });
  t.is(result.status, 'diverged');
  t.regex(result.message, /non-finite (loss|gradient|weights)/);
  t.is(result.history.length, 2);
  // The poisoned weight was the caller's; every update after it was refused.
  t.true(Number.isNaN(m.V[1]));
});

test('a NaN state reaching the a-step is reported as ERR_NON_FINITE, not a crash', (t) => {
  const n = 3,
    f = () => Float32Array.of(0.1, 0.2, 0.3);
  const args = {
    n,
    P: f(),
    M1: f(),
    S: Float32Array.of(0.1, NaN, 0.3),
    M2: f(),
    A: f(),
    TA: new Float32Array(n),
    rho1: 1,
    rho2: 5,
  };
  t.throws(() => native.aStep(args), { code: 'ERR_NON_FINITE', message: /S \+ M2 is not finite at element 1/ });
});

test('a-step: the first non-finite element is reported however the scan is split across threads', (t) => {
  // 300,000 elements: the scan runs in more than one chunk; hits in a later chunk must not win.
  const n = 300_000,
    f = () => new Float32Array(n).fill(0.25);
  for (const [bad, expected] of [
    [[150_000, 290_000], 150_000],
    [[7, 250_000], 7],
    [[n - 1], n - 1],
  ] as const) {
    const S = f(),
      M2 = f();
    for (const k of bad) M2[k] = Infinity;
    const args = { n, P: f(), M1: f(), S, M2, A: f(), TA: new Float32Array(n), rho1: 1, rho2: 5 };
    t.throws(() => native.aStep(args), {
      code: 'ERR_NON_FINITE',
      message: new RegExp(`not finite at element ${expected} `),
    });
    t.is(args.A[0], 0.25, 'A untouched');
  }
});

test('a singular Gram (all-zero inputs, beta = 0) is regularised: the fit finishes with finite weights and U = 0', async (t) => {
  // x = 0 and b = 0 keep every state at 0, so the (U, W, b) Gram is zero but for the bias entry.
  // The solver's relative jitter makes it positive definite; the columns of x and s carry no
  // information, so their weights come out exactly 0 instead of NaN.
  const m = model();
  const result = await new AdmmTrainer(m, { mode: 'persistent', beta: 0 }).fit(
    data(() => 0),
    { maxIterations: 4 }
  );
  t.is(result.status, 'max-iterations', result.message);
  t.true(allFinite(m));
  t.true(m.U.every((u) => u === 0));
  for (const r of persistentHistory(result.history)) t.true(Number.isFinite(r.loss) && Number.isFinite(r.lagrangian));
});

test('a Gram that overflows float32 (inputs 1e20, beta = 0) ends the fit with a status that names the solve, weights kept', async (t) => {
  const m = model(),
    before = JSON.stringify(m);
  // No warm start: the readout refit it runs first would change (V, c) before the failing solve.
  const result = await new AdmmTrainer(m, { mode: 'persistent', beta: 0, warmStart: 'none' }).fit(
    data(() => 1e20),
    { maxIterations: 3 }
  );
  t.true(result.status === 'diverged' || result.status === 'singular', result.status);
  const failed =
    /iteration 1: solveUWbFromGram: (weight solve produced non-finite values|Gram matrix is not positive definite)/;
  t.regex(result.message, failed);
  t.is(result.history.length, 0);
  t.is(JSON.stringify(m), before);
});

test('an exploding rho schedule (geometric ×1000) is capped at its max and never yields non-finite weights or records', async (t) => {
  for (const update of ['exact', 'linearized'] as const)
    for (const safeguard of [false, true]) {
      const m = model();
      const result = await new AdmmTrainer(m, {
        mode: 'persistent',
        update,
        safeguard,
        rhoPolicy: { kind: 'geometric', factor: 1e3, max: 1e12 },
      }).fit(data(normal()), { maxIterations: 8 });
      t.true(allFinite(m), `${update}: non-finite weights`);
      if (result.status !== 'max-iterations')
        t.regex(result.message, /non-finite|rho|ρ/, `${update}: ${result.message}`);
      t.true(
        result.history.every((r) => r.rho.every((rho) => rho <= 1e12)),
        'ρ exceeded its max'
      );
      // The true-loss safeguard's relaxation may leave ρ below the cap; the schedule alone reaches it.
      if (!safeguard) t.deepEqual(result.history.at(-1)?.rho ?? [1e12, 1e12, 1e12], [1e12, 1e12, 1e12]);
      for (const r of persistentHistory(result.history))
        t.true([r.loss, r.lagrangian, r.dualResidual].every(Number.isFinite), `${update}: iteration ${r.iteration}`);
    }
});
