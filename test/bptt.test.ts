/** Native BPTT gradients against centred finite differences of a float64 reference, and its argument checks. */
import test from 'ava';
import { native as bpttNative, type BpttGradientsArgs } from '../lib/native';
import { Random } from '../lib/random';
import { type Net, type Problem, centred, referenceLoss } from './bptt-reference';
import { withThreads } from './helpers/threads';

const N = 3,
  T = 4,
  d = 3,
  h = 5,
  K = 3;

function randomArray(n: number, rng: Random, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

/** Weights as float32 (what the kernel sees) and the same values in float64 (what the reference perturbs). */
function makeNet(seed: number) {
  const rng = new Random(seed);
  const w = {
    U: randomArray(h * d, rng, 0.8),
    W: randomArray(h * h, rng, 0.6),
    b: randomArray(h, rng, 0.3),
    V: randomArray(K * h, rng, 0.8),
    c: randomArray(K, rng, 0.3),
  };
  const net: Net = {
    d,
    h,
    K,
    U: Float64Array.from(w.U),
    W: Float64Array.from(w.W),
    b: Float64Array.from(w.b),
    V: Float64Array.from(w.V),
    c: Float64Array.from(w.c),
  };
  return { w, net };
}

function makeProblem(
  everyStep: boolean,
  loss: 'softmax-cross-entropy' | 'squared-error',
  tokens: boolean,
  seed = 1
): Problem {
  const rng = new Random(seed);
  const L = everyStep ? T : 1;
  return {
    N,
    T,
    everyStep,
    ...(tokens ? { ids: Int32Array.from({ length: N * T }, () => rng.int(d)) } : { x: randomArray(N * T * d, rng, 1) }),
    ...(loss === 'squared-error'
      ? { values: randomArray(N * L * K, rng, 1) }
      : { labels: Int32Array.from({ length: N * L }, () => rng.int(K)) }),
  };
}

function nativeArgs(p: Problem, w: ReturnType<typeof makeNet>['w']): BpttGradientsArgs {
  return {
    shape: { N: p.N, T: p.T, d, h, K, everyStep: p.everyStep },
    ...(p.ids ? { ids: p.ids } : { x: p.x as Float32Array }),
    ...(p.values
      ? { loss: 'squared-error' as const, values: p.values }
      : { loss: 'softmax-cross-entropy' as const, labels: p.labels as Int32Array }),
    ...w,
    gU: new Float32Array(h * d),
    gW: new Float32Array(h * h),
    gb: new Float32Array(h),
    gV: new Float32Array(K * h),
    gc: new Float32Array(K),
    stepNorms: new Float32Array(p.T),
  };
}

const close = (a: number, b: number) => Math.abs(a - b) <= 2e-4 + 2e-3 * Math.abs(b);

for (const everyStep of [false, true])
  for (const loss of ['softmax-cross-entropy', 'squared-error'] as const)
    for (const tokens of [false, true])
      test(`gradients match finite differences: loss at ${everyStep ? 'every step' : 'last step'}, ${loss}, ${tokens ? 'token ids' : 'dense inputs'}`, (t) => {
        const { w, net } = makeNet(everyStep ? 7 : 3);
        const p = makeProblem(everyStep, loss, tokens);
        const args = nativeArgs(p, w);
        const result = bpttNative.bpttGradients(args);
        const f = () => referenceLoss(net, p);
        t.true(Math.abs(result.loss - f()) < 1e-4 * Math.max(1, f()), `loss ${result.loss} vs ${f()}`);
        t.is(result.count, N * (everyStep ? T : 1));
        const pairs = [
          ['U', args.gU],
          ['W', args.gW],
          ['b', args.gb],
          ['V', args.gV],
          ['c', args.gc],
        ] as const;
        let checked = 0;
        for (const [name, g] of pairs) {
          const param = net[name];
          for (let i = 0; i < param.length; i++) {
            const fd = centred(f, param, i);
            if (!close(g[i], fd)) t.fail(`∂L/∂${name}[${i}]: native ${g[i]}, finite difference ${fd}`);
            checked++;
          }
        }
        t.is(checked, h * d + h * h + h + K * h + K);
        // ‖∂L/∂s_t‖ over the batch, from finite differences of a bump added to s_t.
        for (let step = 0; step < T; step++) {
          let sq = 0;
          for (let n = 0; n < N; n++)
            for (let i = 0; i < h; i++) {
              const e = 1e-6;
              const fd =
                (referenceLoss(net, p, { n, t: step, i, delta: e }) -
                  referenceLoss(net, p, { n, t: step, i, delta: -e })) /
                (2 * e);
              sq += fd * fd;
            }
          const norm = (args.stepNorms as Float32Array)[step];
          t.true(close(norm, Math.sqrt(sq)), `‖∂L/∂s_${step + 1}‖: native ${norm}, finite difference ${Math.sqrt(sq)}`);
        }
      });

test('a mini-batch gives the gradients of its samples, and scale multiplies them', (t) => {
  const { w } = makeNet(5);
  const p = makeProblem(true, 'softmax-cross-entropy', false);
  const picked = [2, 0];
  const full = nativeArgs(p, w);
  const batched = { ...nativeArgs(p, w), batch: Int32Array.from(picked), batchSize: 2, scale: 0.25 };
  const sub: Problem = {
    ...p,
    N: 2,
    x: Float32Array.from(picked.flatMap((n) => Array.from((p.x as Float32Array).subarray(n * T * d, (n + 1) * T * d)))),
    labels: Int32Array.from(picked.flatMap((n) => Array.from((p.labels as Int32Array).subarray(n * T, (n + 1) * T)))),
  };
  const subArgs = nativeArgs(sub, w);
  const rb = bpttNative.bpttGradients(batched);
  const rs = bpttNative.bpttGradients(subArgs);
  bpttNative.bpttGradients(full);
  t.is(rb.count, 2 * T);
  t.true(Math.abs(rb.loss - rs.loss) < 1e-5 * rs.loss);
  for (const k of ['gU', 'gW', 'gb', 'gV', 'gc'] as const)
    for (let i = 0; i < subArgs[k].length; i++)
      t.true(Math.abs(batched[k][i] - 0.25 * subArgs[k][i]) < 1e-6 + 1e-5 * Math.abs(subArgs[k][i]), `${k}[${i}]`);
  t.notDeepEqual(Array.from(full.gW), Array.from(subArgs.gW));
});

test('the async twin gives the same gradients; bpttLoss the same loss', async (t) => {
  const { w } = makeNet(9);
  const p = makeProblem(false, 'squared-error', false);
  const a = nativeArgs(p, w),
    b = nativeArgs(p, w);
  const ra = bpttNative.bpttGradients(a);
  const rb = await bpttNative.bpttGradientsAsync(b);
  t.is(ra.loss, rb.loss);
  t.deepEqual(Array.from(a.gW), Array.from(b.gW));
  t.deepEqual(Array.from(a.stepNorms as Float32Array), Array.from(b.stepNorms as Float32Array));
  const { gU, gW, gb, gV, gc, stepNorms, ...lossArgs } = a;
  t.deepEqual(bpttNative.bpttLoss(lossArgs), ra);
  t.deepEqual(
    await bpttNative.bpttLossAsync({ ...lossArgs, batch: Int32Array.from([1]), batchSize: 1 }),
    bpttNative.bpttGradients({ ...b, batch: Int32Array.from([1]), batchSize: 1 })
  );
  t.truthy(gU && gW && gb && gV && gc && stepNorms);
});

test('bad arguments are refused with TypeError / RangeError before any memory is touched', async (t) => {
  const { w } = makeNet(2);
  const p = makeProblem(false, 'softmax-cross-entropy', false);
  const ok = () => nativeArgs(p, w);
  const call = (patch: Record<string, unknown>) => () =>
    bpttNative.bpttGradients({ ...ok(), ...patch } as BpttGradientsArgs);
  t.throws(call({ gU: new Float32Array(h * d + 1) }), { instanceOf: RangeError, message: /gU/ });
  t.throws(call({ W: new Float64Array(h * h) }), { instanceOf: TypeError, message: /W/ });
  t.throws(call({ labels: Int32Array.from([0, 1, K]) }), { instanceOf: RangeError, message: /labels/ });
  t.throws(call({ labels: new Int32Array(N + 1) }), { instanceOf: RangeError, message: /labels/ });
  t.throws(call({ batch: Int32Array.from([0, N]), batchSize: 2 }), { instanceOf: RangeError, message: /batch/ });
  t.throws(call({ batch: Int32Array.from([0, 1]), batchSize: 3 }), { instanceOf: RangeError, message: /batch/ });
  t.throws(call({ batch: Int32Array.from([0, 1]), batchSize: N + 1 }), {
    instanceOf: RangeError,
    message: /batchSize/,
  });
  t.throws(call({ batchSize: 2 }), { instanceOf: TypeError, message: /batch/ });
  t.throws(call({ x: undefined, ids: Int32Array.from({ length: N * T }, (_, i) => (i === 5 ? d : 0)) }), {
    instanceOf: RangeError,
    message: /ids/,
  });
  t.throws(call({ loss: 'hinge' }), { instanceOf: RangeError, message: /loss/ });
  t.throws(call({ scale: -1 }), { instanceOf: RangeError, message: /scale/ });
  t.throws(call({ shape: { N, T, d, h: 0, K } }), { instanceOf: RangeError, message: /shape\.h/ });
  const shared = ok();
  t.throws(call({ gW: shared.W, W: shared.W }), { instanceOf: RangeError, message: /gW/ });
  const buffer = new Float32Array(h * d + h * h);
  t.throws(call({ gU: buffer.subarray(0, h * d), gW: buffer.subarray(h * d - 1, h * d - 1 + h * h) }), {
    instanceOf: RangeError,
    message: /distinct/,
  });
  // Every output against every input the kernel reads, optional ones included.
  t.throws(call({ stepNorms: (shared.x as Float32Array).subarray(0, T) }), {
    instanceOf: RangeError,
    message: /stepNorms must be memory distinct from x/,
  });
  const regressionProblem = makeProblem(true, 'squared-error', true);
  const regression = nativeArgs(regressionProblem, w);
  const values = regressionProblem.values as Float32Array;
  t.throws(() => bpttNative.bpttGradients({ ...regression, gc: values.subarray(1, 1 + K) }), {
    instanceOf: RangeError,
    message: /gc must be memory distinct from values/,
  });
  await t.throwsAsync(bpttNative.bpttGradientsAsync({ ...ok(), gc: new Float32Array(1) }), {
    instanceOf: RangeError,
    message: /gc/,
  });
});

test("a batch large enough to run in parts gives the whole batch's gradients, the same on one BLAS thread as on two", (t) => {
  // 200 samples: three parts of 64–68 samples (native/bptt.cpp kPartSamples), summed in part order.
  const { w, net } = makeNet(11);
  const rng = new Random(4);
  const p: Problem = {
    N: 200,
    T,
    everyStep: false,
    x: randomArray(200 * T * d, rng, 1),
    labels: Int32Array.from({ length: 200 }, () => rng.int(K)),
  };
  const run = (blas: number) =>
    withThreads({ blas }, () => {
      const args = nativeArgs(p, w);
      return { result: bpttNative.bpttGradients(args), args };
    });
  const one = run(1),
    two = run(2);
  t.deepEqual(two.result, one.result);
  for (const k of ['gU', 'gW', 'gb', 'gV', 'gc', 'stepNorms'] as const)
    t.deepEqual(Array.from(two.args[k] as Float32Array), Array.from(one.args[k] as Float32Array), k);
  const f = () => referenceLoss(net, p);
  t.true(Math.abs(one.result.loss - f()) < 1e-4 * f(), `loss ${one.result.loss} vs ${f()}`);
  for (const [name, g] of [
    ['U', one.args.gU],
    ['W', one.args.gW],
    ['b', one.args.gb],
    ['V', one.args.gV],
    ['c', one.args.gc],
  ] as const)
    for (let i = 0; i < g.length; i++) {
      const fd = centred(f, net[name], i);
      if (!close(g[i], fd)) t.fail(`∂L/∂${name}[${i}]: native ${g[i]}, finite difference ${fd}`);
    }
});
