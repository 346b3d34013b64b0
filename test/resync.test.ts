/**
 * The resynchronised mini-batch modes: the closed-form multipliers are the BPTT adjoints, the
 * gradient-free local dual walk converges to the same multipliers, and every mode learns.
 */
import test from 'ava';
import { AdmmTrainer, RNN, Random, loadCharacterText, loadMnist10k, refitReadout, type AdmmMode } from '../lib';
import { bpttNative, native } from '../lib/native-entry';
import { randomProblem, withoutTimes } from './problems';
import { METAMORPHOSIS } from '../scripts/data-files';

type Loss = 'softmax-cross-entropy' | 'squared-error';

function forwardPoint(loss: Loss, everyStep: boolean, seed = 3, h = 5) {
  const { model, data } = randomProblem({
    N: 6,
    T: 4,
    d: 3,
    h,
    K: 3,
    lossSteps: everyStep ? 'every' : 'last',
    loss,
    seed,
  });
  // W and V sum over h states: scaled to the h = 5 problem's sizes, so a wider problem stays as tame.
  const tame = Math.sqrt(5 / h);
  for (const w of [model.W, model.V]) for (let i = 0; i < w.length; i++) w[i] *= tame;
  const shape = { N: 6, T: 4, d: 3, h, K: 3, everyStep };
  const L = everyStep ? 4 : 1;
  const A = new Float32Array(6 * 4 * h),
    S = new Float32Array(6 * 4 * h),
    O = new Float32Array(6 * L * 3);
  const x = data.inputs as Float32Array;
  native.forward({ shape, x, ...model.weights(), A, S, O });
  const targets =
    loss === 'squared-error'
      ? ({ loss, values: data.targets as Float32Array } as const)
      : ({ loss, labels: data.targets as Int32Array } as const);
  return { model, shape, x, A, S, O, targets, L };
}

const cases: [Loss, boolean][] = [
  ['softmax-cross-entropy', false],
  ['softmax-cross-entropy', true],
  ['squared-error', false],
  ['squared-error', true],
];

for (const [loss, everyStep] of cases) {
  const name = `${loss}, loss at ${everyStep ? 'every' : 'the last'} step`;

  test(`adjoint multipliers give the BPTT gradients (${name})`, (t) => {
    const { model, shape, x, S, O, targets, L } = forwardPoint(loss, everyStep);
    const rho1 = 2,
      rho3 = 0.5,
      { N, T, h, d, K } = shape;
    const M1 = new Float32Array(N * T * h),
      M3 = new Float32Array(N * L * K),
      stepNorms = new Float32Array(T);
    native.adjointMultipliers({ shape, S, O, W: model.W, V: model.V, rho1, rho3, M1, M3, stepNorms, ...targets });
    const g = {
      gU: new Float32Array(h * d),
      gW: new Float32Array(h * h),
      gb: new Float32Array(h),
      gV: new Float32Array(K * h),
      gc: new Float32Array(K),
      stepNorms: new Float32Array(T),
    };
    bpttNative.bpttGradients({ shape, x, ...model.weights(), ...targets, ...g });
    // ∂L/∂a_t = −λ1_t = −ρ1 μ1_t, so ∂L/∂W = −ρ1 Σ_t μ1_t s_{t−1}ᵀ, ∂L/∂b = −ρ1 Σ_t μ1_t; ∂L/∂c = −ρ3 Σ μ3.
    const gW = new Float64Array(h * h),
      gb = new Float64Array(h),
      gc = new Float64Array(K);
    for (let n = 0; n < N; n++)
      for (let s = 0; s < T; s++)
        for (let i = 0; i < h; i++) {
          const mu = M1[(n * T + s) * h + i];
          gb[i] -= rho1 * mu;
          if (s > 0) for (let j = 0; j < h; j++) gW[i * h + j] -= rho1 * mu * S[(n * T + s - 1) * h + j];
        }
    for (let r = 0; r < N * L; r++) for (let k = 0; k < K; k++) gc[k] -= rho3 * M3[r * K + k];
    const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
      let err = 0,
        norm = 0;
      for (let i = 0; i < a.length; i++) {
        err += (a[i] - b[i]) ** 2;
        norm += b[i] ** 2;
      }
      t.true(Math.sqrt(err) <= 1e-4 * Math.sqrt(norm) + 1e-6, `${what}: relative error ${Math.sqrt(err / norm)}`);
    };
    close(gW, g.gW, 'dW');
    close(gb, g.gb, 'db');
    close(gc, g.gc, 'dc');
    // The signal reaching step t is ‖∂L/∂s_t‖, which BPTT reports too.
    close(stepNorms, g.stepNorms, 'per-step norms');
  });

  // h = 80: on AVX-512 processors the walk's state products run native/square_product.cpp's
  // kernel (tiles of 4 and 1 rows by 64 and 16 columns); h = 5 runs OpenBLAS everywhere.
  for (const hidden of [5, 80])
    test(`the gradient-free local dual walk converges to the adjoint multipliers (${name}, h = ${hidden})`, (t) => {
      const { model, shape, x, A, S, O, targets, L } = forwardPoint(loss, everyStep, 5, hidden);
      const { N, T, h, K } = shape;
      // ρ = 3 keeps every local a-problem convex here; with ρ = 1 some elements are not and the
      // local iteration can stall at another stationary point.
      const rho = { rho1: 3, rho2: 3, rho3: 3 };
      const M1a = new Float32Array(N * T * h),
        M3a = new Float32Array(N * L * K);
      native.adjointMultipliers({
        shape,
        S,
        O,
        W: model.W,
        V: model.V,
        rho1: 3,
        rho3: 3,
        M1: M1a,
        M3: M3a,
        ...targets,
      });
      const walk = (sweeps: number) => {
        const M1 = new Float32Array(N * T * h),
          M3 = new Float32Array(N * L * K),
          Saux = new Float32Array(N * T * h);
        const A2 = A.slice(),
          O2 = O.slice();
        // γ = 0.5: with larger dual steps the local iteration can cycle instead of converging.
        native.localDualWalk({
          shape,
          x,
          ...model.weights(),
          S,
          Saux,
          A: A2,
          O: O2,
          M1,
          M3,
          ...rho,
          sweeps,
          gamma: 0.5,
          ...targets,
        });
        let err = 0,
          norm = 0;
        for (let i = 0; i < M1.length; i++) {
          err += (M1[i] - M1a[i]) ** 2;
          norm += M1a[i] ** 2;
        }
        return { rel: Math.sqrt(err / norm), A2, Saux };
      };
      const few = walk(20),
        many = walk(400);
      t.true(many.rel < 1e-3, `after 400 sweeps the multipliers differ by ${many.rel}`);
      t.true(many.rel < few.rel / 10, `no convergence: ${few.rel} → ${many.rel}`);
      // At convergence the walk's auxiliaries return to the forward point.
      let drift = 0;
      for (let i = 0; i < A.length; i++)
        drift = Math.max(drift, Math.abs(many.A2[i] - A[i]), Math.abs(many.Saux[i] - S[i]));
      t.true(drift < 1e-3, `auxiliaries drifted ${drift} from the forward point`);
    });
}

// A batch of 70 samples is walked in parts of ~32 samples on the BLAS threads (local_walk.cpp):
// every sample must get the same walk as when it is walked alone (to float rounding of the
// row-blocked products), which checks each part's offsets into A, O, M1, M3, Saux and the targets.
for (const [loss, everyStep] of cases) {
  const name = `${loss}, loss at ${everyStep ? 'every' : 'the last'} step`;
  test(`the local dual walk of a batch in parts equals each sample's own walk (${name})`, (t) => {
    const N = 70,
      T = 3,
      d = 4,
      h = 6,
      K = 3,
      L = everyStep ? T : 1;
    const { model, data } = randomProblem({ N, T, d, h, K, lossSteps: everyStep ? 'every' : 'last', loss, seed: 7 });
    const x = data.inputs as Float32Array,
      y = data.targets;
    const perTarget = loss === 'squared-error' ? L * K : L;
    const walk = (n0: number, n: number) => {
      const shape = { N: n, T, d, h, K, everyStep };
      const A = new Float32Array(n * T * h),
        S = new Float32Array(n * T * h),
        O = new Float32Array(n * L * K);
      const xs = x.slice(n0 * T * d, (n0 + n) * T * d);
      native.forward({ shape, x: xs, ...model.weights(), A, S, O });
      const part = y.slice(n0 * perTarget, (n0 + n) * perTarget);
      const targets =
        loss === 'squared-error'
          ? ({ loss, values: part as Float32Array } as const)
          : ({ loss, labels: part as Int32Array } as const);
      const M1 = new Float32Array(n * T * h),
        M3 = new Float32Array(n * L * K),
        Saux = new Float32Array(n * T * h);
      const out = { A, O, M1, M3, Saux };
      const rho = { rho1: 3, rho2: 3, rho3: 3 };
      native.localDualWalk({ shape, x: xs, ...model.weights(), S, ...out, ...rho, sweeps: 4, gamma: 0.5, ...targets });
      return out;
    };
    const whole = walk(0, N);
    let worst = 0;
    for (let n = 0; n < N; n++) {
      const alone = walk(n, 1);
      for (const key of ['A', 'O', 'M1', 'M3', 'Saux'] as const) {
        const size = alone[key].length;
        for (let i = 0; i < size; i++) worst = Math.max(worst, Math.abs(whole[key][n * size + i] - alone[key][i]));
      }
    }
    t.true(worst < 1e-4, `a sample's walk in the batch differs from its walk alone by ${worst}`);
  });
}

const mnist = loadMnist10k({ limit: 768 });

for (const mode of ['adjoint', 'local-duals', 'sweeps'] as AdmmMode[]) {
  test(`mode '${mode}' learns on real data`, async (t) => {
    const make = () =>
      new RNN({ inputSize: 28, hiddenSize: 32, outputSize: 10, init: { scheme: 'normal', scale: 0.1, seed: 1 } });
    const floorModel = make();
    refitReadout(floorModel, mnist.train);
    const floor = floorModel.evaluate(mnist.train).loss;
    const model = make();
    const before = model.evaluate(mnist.train).loss;
    const { history, status } = await new AdmmTrainer(model, { mode, batchSize: 64, localSweeps: 5 }).fit(mnist.train, {
      maxIterations: 3,
    });
    t.is(status, 'max-iterations');
    const last = history[history.length - 1];
    t.true(last.loss < before - 0.15, `training loss ${before} → ${last.loss}`);
    t.is(last.stepSignal!.length, 28);
    t.true(last.stepSignal!.every((v) => Number.isFinite(v) && v >= 0));
    // On this small problem only the adjoint mode passes the floor within 3 epochs (the ablation measures the rest).
    if (mode === 'adjoint')
      t.true(last.loss < floor, `training loss ${last.loss} not below the readout-only floor ${floor}`);
  });
}

test("'local-duals' with its default γ learns next-character text (a loss at every step)", async (t) => {
  const { vocabulary, train } = loadCharacterText(METAMORPHOSIS, { sequenceLength: 25, maxSamples: 400 });
  const V = vocabulary.size;
  const model = new RNN({
    inputSize: V,
    hiddenSize: 32,
    outputSize: V,
    init: { scheme: 'normal', scale: 0.1, seed: 0 },
  });
  const trainer = new AdmmTrainer(model, { mode: 'local-duals', lossSteps: 'every' });
  t.is(trainer.options.gamma, 0.5);
  t.is(new AdmmTrainer(model, { mode: 'local-duals' }).options.gamma, 2);
  const before = model.evaluate(train, { lossSteps: 'every' }).loss;
  const { history, status } = await trainer.fit(train, { maxIterations: 3 });
  t.is(status, 'max-iterations');
  // Measured 4.11 → 2.82; the last-step default γ = 2 only reaches 3.99 here (and diverges on more data).
  const last = history[history.length - 1].loss;
  t.true(last < before - 1, `training loss ${before} → ${last}`);
});

test('mini-batch modes are deterministic for a seed and the shuffling seed matters', async (t) => {
  const runWith = async (seed: number) => {
    const model = new RNN({ inputSize: 28, hiddenSize: 16, outputSize: 10, init: { seed: 2 } });
    const { history } = await new AdmmTrainer(model, { mode: 'adjoint', batchSize: 100, seed }).fit(mnist.train, {
      maxIterations: 2,
    });
    return withoutTimes(history);
  };
  t.deepEqual(await runWith(1), await runWith(1));
  t.notDeepEqual(await runWith(1), await runWith(2));
});

test('the trust region bounds every (U, W, b) step', async (t) => {
  const model = new RNN({ inputSize: 28, hiddenSize: 16, outputSize: 10, init: { seed: 4 } });
  const W0 = model.W.slice();
  const trainer = new AdmmTrainer(model, {
    mode: 'adjoint',
    batchSize: mnist.train.targets.length,
    trustRegion: 0.01,
    eta: 0,
  });
  await trainer.fit(mnist.train, { maxIterations: 1 });
  let dw = 0,
    w = 0;
  for (let i = 0; i < W0.length; i++) {
    dw += (model.W[i] - W0[i]) ** 2;
    w += W0[i] ** 2;
  }
  t.true(Math.sqrt(dw) <= 0.01 * Math.sqrt(w) * (1 + 1e-5), `‖ΔW‖ = ${Math.sqrt(dw)}, ‖W‖ = ${Math.sqrt(w)}`);
  t.true(dw > 0);
});

test('readoutRefit refits (V, c) when the fit ends and reports the refitted metrics', async (t) => {
  const model = new RNN({ inputSize: 28, hiddenSize: 16, outputSize: 10, init: { seed: 5 } });
  const result = await new AdmmTrainer(model, { mode: 'adjoint', readoutRefit: true }).fit(mnist.train, {
    maxIterations: 1,
  });
  t.truthy(result.refit);
  const e = model.evaluate(mnist.train);
  t.is(result.refit!.accuracy, e.accuracy);
  t.true(
    result.refit!.loss <= result.history[0].loss + 1e-9,
    'the refit must not be worse than the trained readout on its own objective'
  );
});

test('mini-batch modes reject options that belong to the persistent loop', (t) => {
  const model = new RNN({ inputSize: 3, hiddenSize: 4, outputSize: 2 });
  t.throws(() => new AdmmTrainer(model, { mode: 'adjoint', update: 'linearized' }), {
    instanceOf: RangeError,
    message: /options.update/,
  });
  t.throws(() => new AdmmTrainer(model, { mode: 'local-duals', rhoPolicy: { kind: 'residual-balancing' } }), {
    instanceOf: RangeError,
    message: /options.rhoPolicy.kind/,
  });
  t.throws(() => new AdmmTrainer(model, { mode: 'shadow' as never }), {
    instanceOf: RangeError,
    message: /options.mode/,
  });
  t.throws(() => new AdmmTrainer(model, { batchSize: 0 }), { instanceOf: RangeError, message: /options.batchSize/ });
  t.throws(() => new AdmmTrainer(model, { trustRegion: 0 }), {
    instanceOf: RangeError,
    message: /options.trustRegion/,
  });
});

test('the local walk and adjoint bindings check sizes and aliasing', (t) => {
  const { model, shape, x, A, S, O, targets } = forwardPoint('softmax-cross-entropy', false);
  const rng = new Random(1);
  const M1 = Float32Array.from({ length: A.length }, () => rng.normal()),
    M3 = new Float32Array(O.length);
  t.throws(
    () =>
      native.adjointMultipliers({
        shape,
        S,
        O,
        W: model.W,
        V: model.V,
        rho1: 1,
        rho3: 1,
        M1: M1.subarray(1),
        M3,
        ...targets,
      }),
    { instanceOf: RangeError, message: /M1 must be of length/ }
  );
  t.throws(
    () => native.adjointMultipliers({ shape, S, O, W: model.W, V: model.V, rho1: 1, rho3: 1, M1: S, M3, ...targets }),
    { instanceOf: RangeError, message: /M1 must be memory distinct from S/ }
  );
  t.throws(
    () =>
      native.localDualWalk({
        shape,
        x,
        ...model.weights(),
        S,
        Saux: S,
        A,
        O,
        M1,
        M3,
        rho1: 1,
        rho2: 1,
        rho3: 1,
        sweeps: 2,
        gamma: 1,
        ...targets,
      }),
    { instanceOf: RangeError, message: /Saux must be memory distinct from S/ }
  );
  t.throws(
    () =>
      native.localDualWalk({
        shape,
        x,
        ...model.weights(),
        S,
        Saux: new Float32Array(A.length),
        A,
        O,
        M1,
        M3,
        rho1: 1,
        rho2: 1,
        rho3: 1,
        sweeps: 0,
        gamma: 1,
        ...targets,
      }),
    { instanceOf: RangeError, message: /sweeps/ }
  );
});
