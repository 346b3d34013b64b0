/** One or two steps of each optimizer against hand-computed torch.optim updates, defaults, clipping, bad options. */
import test from 'ava';
import { clipGradNorm, globalNorm } from '../lib/bptt/clipping';
import { createOptimizer } from '../lib/bptt/optimizers';

const p0 = [1, -2, 0.5];
const g1 = [0.5, 0.25, -1];
const g2 = [-0.3, 0.4, 2];

/** Runs the optimizer over the gradient sequence from p0 and returns the parameters. */
function run(options: unknown, grads: number[][]): number[] {
  const opt = createOptimizer(options);
  const p = Float32Array.from(p0);
  for (const g of grads) opt.step([p], [Float32Array.from(g)]);
  return Array.from(p);
}

function near(t: { true(v: boolean, m?: string): void }, got: number[], want: number[]) {
  want.forEach((w, i) =>
    t.true(Math.abs(got[i] - w) <= 1e-6 * Math.max(1, Math.abs(w)), `element ${i}: ${got[i]} vs ${w}`)
  );
}

test('SGD with weight decay: θ − lr (g + λθ)', (t) => {
  near(
    t,
    run({ kind: 'sgd', lr: 0.1, weightDecay: 0.01 }, [g1]),
    p0.map((p, i) => p - 0.1 * (g1[i] + 0.01 * p))
  );
});

test('Momentum: first buffer is g, then μ·buf + g', (t) => {
  const want = p0.map((p, i) => {
    const b1 = g1[i];
    const q = p - 0.1 * b1;
    const b2 = 0.9 * b1 + g2[i];
    return q - 0.1 * b2;
  });
  near(t, run({ kind: 'momentum', lr: 0.1 }, [g1, g2]), want);
});

test('Momentum with dampening: buf = μ·buf + (1 − dampening)·g after the first step', (t) => {
  const want = p0.map((p, i) => p - 0.1 * g1[i] - 0.1 * (0.5 * g1[i] + 0.75 * g2[i]));
  near(t, run({ kind: 'momentum', lr: 0.1, momentum: 0.5, dampening: 0.25 }, [g1, g2]), want);
});

test('Nesterov: step along g + μ·buf', (t) => {
  const want = p0.map((p, i) => {
    const b1 = g1[i];
    const q = p - 0.1 * (g1[i] + 0.9 * b1);
    const b2 = 0.9 * b1 + g2[i];
    return q - 0.1 * (g2[i] + 0.9 * b2);
  });
  near(t, run({ kind: 'momentum', lr: 0.1, nesterov: true }, [g1, g2]), want);
});

test('Adagrad: accumulated squares, lr decay per step', (t) => {
  const want = p0.map((p, i) => {
    const s1 = g1[i] ** 2;
    const q = p - (0.1 * g1[i]) / (Math.sqrt(s1) + 1e-10);
    const s2 = s1 + g2[i] ** 2;
    return q - ((0.1 / (1 + 0.5)) * g2[i]) / (Math.sqrt(s2) + 1e-10);
  });
  near(t, run({ kind: 'adagrad', lr: 0.1, lrDecay: 0.5 }, [g1, g2]), want);
});

test('RMSprop, plain and centred', (t) => {
  const plain = p0.map((p, i) => {
    const v1 = 0.01 * g1[i] ** 2;
    const q = p - (0.01 * g1[i]) / (Math.sqrt(v1) + 1e-8);
    const v2 = 0.99 * v1 + 0.01 * g2[i] ** 2;
    return q - (0.01 * g2[i]) / (Math.sqrt(v2) + 1e-8);
  });
  near(t, run({ kind: 'rmsprop' }, [g1, g2]), plain);
  const centred = p0.map((p, i) => {
    const v1 = 0.01 * g1[i] ** 2,
      m1 = 0.01 * g1[i];
    const q = p - (0.01 * g1[i]) / (Math.sqrt(v1 - m1 * m1) + 1e-8);
    const v2 = 0.99 * v1 + 0.01 * g2[i] ** 2,
      m2 = 0.99 * m1 + 0.01 * g2[i];
    return q - (0.01 * g2[i]) / (Math.sqrt(v2 - m2 * m2) + 1e-8);
  });
  near(t, run({ kind: 'rmsprop', centered: true }, [g1, g2]), centred);
  const momentum = p0.map((p, i) => {
    const v1 = 0.01 * g1[i] ** 2,
      b1 = g1[i] / (Math.sqrt(v1) + 1e-8);
    const q = p - 0.01 * b1;
    const v2 = 0.99 * v1 + 0.01 * g2[i] ** 2,
      b2 = 0.5 * b1 + g2[i] / (Math.sqrt(v2) + 1e-8);
    return q - 0.01 * b2;
  });
  near(t, run({ kind: 'rmsprop', momentum: 0.5 }, [g1, g2]), momentum);
});

test('Adam with bias correction (first step moves by lr·sign(g))', (t) => {
  near(
    t,
    run({ kind: 'adam' }, [g1]),
    p0.map((p, i) => p - 1e-3 * Math.sign(g1[i]))
  );
  const want = p0.map((p, i) => {
    const q = p - (1e-3 * (0.1 * g1[i])) / (1 - 0.9) / (Math.sqrt(0.001 * g1[i] ** 2) / Math.sqrt(1 - 0.999) + 1e-8);
    const m = 0.9 * 0.1 * g1[i] + 0.1 * g2[i];
    const v = 0.999 * 0.001 * g1[i] ** 2 + 0.001 * g2[i] ** 2;
    return q - ((1e-3 / (1 - 0.9 ** 2)) * m) / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** 2) + 1e-8);
  });
  near(t, run({ kind: 'adam' }, [g1, g2]), want);
  const decayed = p0.map((p, i) => p - 0.01 * Math.sign(g1[i] + 0.1 * p));
  near(t, run({ kind: 'adam', lr: 0.01, weightDecay: 0.1, betas: [0.5, 0.9] }, [g1]), decayed);
});

test("defaults are torch.optim's", (t) => {
  t.deepEqual(createOptimizer().options, { kind: 'adam', lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
  t.like(createOptimizer({ kind: 'rmsprop' }).options, {
    lr: 1e-2,
    alpha: 0.99,
    eps: 1e-8,
    momentum: 0,
    centered: false,
  });
  t.like(createOptimizer({ kind: 'adagrad' }).options, {
    lr: 1e-2,
    lrDecay: 0,
    eps: 1e-10,
    initialAccumulatorValue: 0,
  });
  t.like(createOptimizer({ kind: 'momentum', lr: 1 }).options, { momentum: 0.9, dampening: 0, nesterov: false });
  t.like(createOptimizer({ kind: 'sgd', lr: 1 }).options, { momentum: 0, weightDecay: 0 });
});

test('gradients are not modified and state is per parameter', (t) => {
  const opt = createOptimizer({ kind: 'adam', lr: 0.1 });
  const a = Float32Array.from([1]),
    b = Float32Array.from([1]);
  const ga = Float32Array.from([1]),
    gb = Float32Array.from([-4]);
  opt.step([a, b], [ga, gb]);
  t.deepEqual([ga[0], gb[0]], [1, -4]);
  near(t, [a[0], b[0]], [0.9, 1.1]);
  t.is(opt.steps, 1);
});

test('global norm clipping as clip_grad_norm_', (t) => {
  const g = [Float32Array.from([3, 0]), Float32Array.from([4])];
  t.is(globalNorm(g), 5);
  t.is(clipGradNorm(g, 10), 5);
  t.deepEqual(Array.from(g[0]), [3, 0]);
  t.is(clipGradNorm(g, 1), 5);
  const coef = 1 / (5 + 1e-6);
  near(t, [g[0][0], g[1][0]], [3 * coef, 4 * coef]);
  t.true(Math.abs(globalNorm(g) - 1) < 1e-6);
});

test('bad optimizer options are TypeError / RangeError naming the field', (t) => {
  t.throws(() => createOptimizer({ kind: 'sgd' }), { instanceOf: TypeError, message: /lr/ });
  t.throws(() => createOptimizer({ kind: 'lbfgs' }), { instanceOf: RangeError, message: /kind/ });
  t.throws(() => createOptimizer({ kind: 'adam', lr: -1 }), { instanceOf: RangeError, message: /lr/ });
  t.throws(() => createOptimizer({ kind: 'adam', betas: [1, 0.9] }), { instanceOf: RangeError, message: /betas\[0\]/ });
  t.throws(() => createOptimizer({ kind: 'adam', betas: 0.9 }), { instanceOf: TypeError, message: /betas/ });
  t.throws(() => createOptimizer({ kind: 'rmsprop', centered: 'yes' }), { instanceOf: TypeError, message: /centered/ });
  t.throws(() => createOptimizer({ kind: 'momentum', lr: 0.1, momentum: 0, nesterov: true }), {
    instanceOf: RangeError,
    message: /nesterov/,
  });
  t.throws(() => createOptimizer({ kind: 'momentum', lr: 0.1, dampening: 0.5, nesterov: true }), {
    instanceOf: RangeError,
    message: /nesterov/,
  });
  t.throws(() => createOptimizer('adam'), { instanceOf: TypeError });
});
