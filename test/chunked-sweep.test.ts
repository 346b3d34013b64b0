/**
 * The persistent loop with options.chunkSize: a full chunked pass (same block order, Grams
 * summed over chunks) must land on the unchunked iterate up to float rounding, for every input
 * and loss layout, with a chunk size that does not divide N.
 */
import test from 'ava';
import { AdmmTrainer, type AdmmStateSnapshot, RNN } from '../lib';
import { AUTO_CHUNK_ABOVE_BYTES, AUTO_CHUNK_CACHE_BYTES, automaticChunkSize } from '../lib/admm/options';
import { type ProblemSpec, persistentHistory, randomProblem } from './problems';

const SPECS: ProblemSpec[] = [
  { N: 50, T: 6, d: 4, h: 8, K: 3, lossSteps: 'last', loss: 'softmax-cross-entropy' },
  { N: 37, T: 5, d: 6, h: 7, K: 2, lossSteps: 'every', loss: 'squared-error' },
  { N: 41, T: 4, d: 5, h: 6, K: 3, lossSteps: 'every', loss: 'softmax-cross-entropy', tokens: true },
];

/** Largest |a − b| relative to the largest |b| (1 floor): rounding-level agreement. */
function relativeGap(a: Float32Array, b: Float32Array): number {
  let gap = 0,
    scale = 1;
  for (let i = 0; i < a.length; i++) {
    gap = Math.max(gap, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return gap / scale;
}

for (const spec of SPECS) {
  const name = `N=${spec.N} ${spec.lossSteps} ${spec.loss}${spec.tokens ? ' tokens' : ''}`;
  test(`chunked sweeps give the unchunked iterate (${name})`, async (t) => {
    const whole = randomProblem(spec),
      chunked = randomProblem(spec);
    // From the model's own readout and β 1e-3: the warm start, or the persistent default β 1e-4, leave
    // μ1 so small after 3 iterations that its per-step norms are rounding-level and the 2% tolerance
    // below does not apply.
    const options = { mode: 'persistent', rho: 10, lossSteps: spec.lossSteps, warmStart: 'none', beta: 1e-3 } as const;
    const a = new AdmmTrainer(whole.model, options);
    const b = new AdmmTrainer(chunked.model, { ...options, chunkSize: 16 });
    const ra = await a.fit(whole.data, { maxIterations: 3 });
    const rb = await b.fit(chunked.data, { maxIterations: 3 });
    t.true(b.state!.chunked);
    t.is(b.state!.TA.length, 16 * spec.T * spec.h, 'TA holds one chunk');
    const wa = whole.model.weights(),
      wb = chunked.model.weights();
    // One-hot inputs sum to the bias column: U and b are determined only up to U_v + δ, b − δ,
    // a near-null direction of the Gram where rounding moves the solve. Compare U_v + b there.
    const effective = (w: typeof wa) =>
      spec.tokens ? Float32Array.from(w.U, (u, k) => u + w.b[Math.floor(k / spec.d)]) : w.U;
    const pairs: [string, Float32Array, Float32Array][] = [
      ['U', effective(wb), effective(wa)],
      ['W', wb.W, wa.W],
      ['V', wb.V, wa.V],
      ['c', wb.c, wa.c],
    ];
    if (!spec.tokens) pairs.push(['b', wb.b, wa.b]);
    for (const [k, x, y] of pairs) {
      const gap = relativeGap(x, y);
      t.true(gap < 1e-4, `${k}: ${gap}`);
    }
    for (const k of ['A', 'S', 'O', 'M1', 'M2', 'M3'] as const) {
      const gap = relativeGap(b.state![k], a.state![k]);
      t.true(gap < 1e-3, `${k}: ${gap}`);
    }
    for (let i = 0; i < 3; i++) {
      const x = persistentHistory(ra.history)[i],
        y = persistentHistory(rb.history)[i];
      t.true(Math.abs(x.loss - y.loss) <= 1e-4 * Math.abs(x.loss), `loss ${x.loss} vs ${y.loss}`);
      t.true(
        Math.abs(x.lagrangian - y.lagrangian) <= 1e-3 * Math.abs(x.lagrangian),
        `L ${x.lagrangian} vs ${y.lagrangian}`
      );
      t.true(Math.abs(x.primalResiduals.a - y.primalResiduals.a) <= 1e-3 * x.primalResiduals.a + 1e-6);
      t.is(y.stepSignal!.length, spec.T);
      // μ1 sums a − P, differences of nearly equal values that the two layouts round differently,
      // so ‖μ1_t‖ agrees to ~1% (measured ≤ 0.8%), not to the 1e-4 of the weights.
      const largest = Math.max(...x.stepSignal!);
      for (let step = 0; step < spec.T; step++)
        t.true(
          Math.abs(x.stepSignal![step] - y.stepSignal![step]) <= 2e-2 * largest,
          `stepSignal ${step}: ${x.stepSignal![step]} vs ${y.stepSignal![step]}`
        );
    }
  });
}

test('chunkSize belongs to the exact persistent mode', (t) => {
  const { model } = randomProblem(SPECS[0]);
  t.throws(() => new AdmmTrainer(model, { chunkSize: 16 }), { instanceOf: RangeError });
  t.throws(() => new AdmmTrainer(model, { mode: 'persistent', update: 'linearized', chunkSize: 16 }), {
    instanceOf: RangeError,
  });
});

test('a chunked state round-trips through exportState / restoreState', async (t) => {
  const p = randomProblem(SPECS[0]);
  const trainer = new AdmmTrainer(p.model, { mode: 'persistent', rho: 10, chunkSize: 16 });
  await trainer.fit(p.data, { maxIterations: 2 });
  const saved = trainer.exportState() as AdmmStateSnapshot;
  t.is(saved.TA.length, saved.A.length);
  const weights = p.model.clone();
  const next = (await trainer.fit(p.data, { maxIterations: 1, resume: true })).history[0];
  p.model.setWeights(weights.weights());
  await trainer.restoreState(p.data, saved);
  const again = (await trainer.fit(p.data, { maxIterations: 1, resume: true })).history[0];
  t.is(again.loss, next.loss);
  t.throws(() => trainer.updatePreactivations(), { message: /unchunked/ });
});

test('the default chunk size: whole state while the caches fit in 1 GiB, chunks of ~256 MiB of caches above', (t) => {
  const perSequence = 3 * 4 * 28 * 128; // tanh a, XU, P of one MNIST-shaped sequence at h = 128
  t.is(automaticChunkSize(8000, 28, 128), undefined);
  t.is(automaticChunkSize(Math.floor(AUTO_CHUNK_ABOVE_BYTES / perSequence), 28, 128), undefined);
  t.is(
    automaticChunkSize(Math.floor(AUTO_CHUNK_ABOVE_BYTES / perSequence) + 1, 28, 128),
    Math.floor(AUTO_CHUNK_CACHE_BYTES / perSequence)
  );
  t.is(automaticChunkSize(60000, 28, 128), 6241);
  t.is(automaticChunkSize(10, 1, 2 ** 26), 1); // a single sequence's caches above the chunk budget
});

test.serial('a persistent trainer chunks large data by default, and says so to the single-block methods', async (t) => {
  // T = 1, h = 512: the caches of N = 174,763 sequences just exceed 1 GiB (a 1.4 GB state, no recurrence).
  const h = 512,
    N = Math.floor(AUTO_CHUNK_ABOVE_BYTES / (12 * h)) + 1;
  const data = { inputs: new Float32Array(N).fill(0.5), targets: new Int32Array(N), sequenceLength: 1 };
  const model = new RNN({ inputSize: 1, hiddenSize: h, outputSize: 2, init: { seed: 1 } });
  const auto = new AdmmTrainer(model, { mode: 'persistent' });
  await auto.initialise(data);
  t.true(auto.state!.chunked);
  t.is(auto.state!.chunkRows, automaticChunkSize(N, 1, h) ?? -1);
  t.throws(() => auto.updatePreactivations(), {
    code: 'ERR_CHUNKED_STATE',
    message: /chunks of 43690 sequences.*chunkSize ≥ N keeps it whole/,
  });
});
