/**
 * Row-block parallelism (native/row_parallel.h): the tall kernels run their row blocks on the
 * BLAS threads with single-threaded OpenBLAS (its own threading is off), and kernels run one at
 * a time. These tests pin what that must not change: the numbers (one BLAS thread or two, down
 * to whole fits), and determinism when kernels are started concurrently (OpenBLAS rounds
 * differently with 1 and 2 threads, and its thread count is process-wide).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { nativeHooks } from '../lib/internal/test-hooks';
import { native, type NativeShape } from '../lib/native';
import { Random } from '../lib/random';
import { stopAscentWorkers } from '../lib';
import { fitFresh } from './problems';
import { withThreads, withThreadsAsync } from './helpers/threads';

const normal = (rng: Random, n: number, scale = 1) => Float32Array.from({ length: n }, () => scale * rng.normal());

const withBlasThreads = <T>(blas: number, body: () => T): T => withThreads({ blas }, body);

// 700 samples × 5 steps = 3,500 rows: four row blocks of ~1,024 rows for the affine maps,
// the s-solve and the (U, W, b) Gram; 2,600 samples: three forward chunks of 1,024.
const s: NativeShape = { N: 700, T: 5, d: 3, h: 8, K: 2, everyStep: false };
const rng = new Random(3);
const rows = s.N * s.T * s.h;
const x = normal(rng, s.N * s.T * s.d),
  U = normal(rng, s.h * s.d, 0.5),
  W = normal(rng, s.h * s.h, 0.3),
  b = normal(rng, s.h, 0.1);
const V = normal(rng, s.K * s.h, 0.5),
  c = normal(rng, s.K, 0.1);
const S = normal(rng, rows, 0.5),
  A = normal(rng, rows),
  XU = normal(rng, rows),
  M1 = normal(rng, rows, 0.1),
  M2 = normal(rng, rows, 0.1);
const TA = A.map(Math.tanh),
  O = normal(rng, s.N * s.K),
  M3 = normal(rng, s.N * s.K, 0.1);

/** Every row-blocked kernel's outputs at the current thread counts. */
function rowBlockedOutputs() {
  const xu = new Float32Array(rows),
    p = new Float32Array(rows),
    sOut = new Float32Array(rows);
  native.inputProjection({ shape: s, x, U, b, out: xu });
  native.recurrentAffine({ shape: s, XU, S, W, out: p });
  const change = native.sStep({
    shape: s,
    A,
    TA,
    M1,
    M2,
    XU,
    O,
    M3,
    W,
    V,
    c,
    S,
    out: sOut,
    rho1: 1,
    rho2: 2,
    rho3: 0.5,
    linearized: false,
  }).change;
  const weights = { U: U.slice(), W: W.slice(), b: b.slice() };
  native.solveUWb({ shape: s, x, S, A, M1, scratch: new Float32Array(rows), ...weights, rho1: 1, beta: 0.1 });
  const fs: NativeShape = { ...s, N: 2600 },
    fx = normal(new Random(5), fs.N * fs.T * fs.d);
  const fo = {
    A: new Float32Array(fs.N * fs.T * fs.h),
    S: new Float32Array(fs.N * fs.T * fs.h),
    O: new Float32Array(fs.N * fs.K),
  };
  native.forward({ shape: fs, x: fx, U, W, b, V, c, ...fo });
  return { xu, p, sOut, change, weights, forward: fo };
}

function maxRelativeDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k] - b[k]) / (1 + Math.abs(b[k])));
  return worst;
}

test.serial('the row-blocked kernels give the same products with one BLAS thread as with two', (t) => {
  const one = withBlasThreads(1, rowBlockedOutputs),
    two = withBlasThreads(2, rowBlockedOutputs);
  // The same single-threaded product per block either way: bit for bit.
  t.deepEqual(two.xu, one.xu);
  t.deepEqual(two.p, one.p);
  t.deepEqual(two.sOut, one.sOut);
  // Sums split differently over the elementwise threads: last bits only.
  t.true(Math.abs(two.change - one.change) <= 1e-9 * one.change, `Σ(Δs)² ${two.change} vs ${one.change}`);
  for (const k of ['U', 'W', 'b'] as const) t.true(maxRelativeDifference(two.weights[k], one.weights[k]) < 1e-5, k);
  // Forward chunks of 4,096 samples on one thread, of 1,024 on two.
  for (const k of ['A', 'S', 'O'] as const)
    t.true(maxRelativeDifference(two.forward[k], one.forward[k]) < 1e-5, `forward ${k}`);
});

test.serial('the same call twice gives bit-identical results on two threads', (t) => {
  const first = withBlasThreads(2, rowBlockedOutputs),
    second = withBlasThreads(2, rowBlockedOutputs);
  t.deepEqual(second, first);
});

test.serial(
  'native sgemm runs in row blocks: the same bits with one BLAS thread or two, close to one OpenBLAS call',
  async (t) => {
    const r = new Random(9),
      m = 2500,
      n = 7,
      k = 33;
    const a = normal(r, m * k),
      bb = normal(r, k * n),
      threaded = new Float32Array(m * n);
    const blocked = (blas: number) =>
      withBlasThreads(blas, () => {
        const C = new Float32Array(m * n);
        native.sgemm({ m, n, k, A: a, B: bb, C });
        return C;
      });
    const one = blocked(1);
    t.deepEqual(blocked(2), one);
    nativeHooks.sgemmThreaded({ m, n, k, A: a, B: bb, C: threaded });
    t.true(maxRelativeDifference(threaded, one) < 1e-5);
    const asynchronous = new Float32Array(m * n);
    await nativeHooks.sgemmThreadedAsync({ m, n, k, A: a, B: bb, C: asynchronous });
    t.deepEqual(asynchronous, threaded);
    t.throws(() => nativeHooks.sgemmThreaded({ m, n, k, A: a, B: bb, C: a.subarray(0, m * n) }), {
      instanceOf: RangeError,
      message: /^sgemmThreaded: C must be memory distinct from A/,
    });
  }
);

test.serial('kernels started together give the results of the same kernels run one by one', async (t) => {
  // A forward pass and readouts (OpenBLAS on one thread) beside sgemmThreaded, which turns
  // OpenBLAS's own threads on for its call: h = 128, K = 10 is a shape whose readout rounds
  // differently on 1 and 2 OpenBLAS threads, so overlap would show in the bits.
  const fs: NativeShape = { N: 4096, T: 6, d: 4, h: 128, K: 10, everyStep: false },
    r = new Random(17);
  const fx = normal(r, fs.N * fs.T * fs.d),
    fU = normal(r, fs.h * fs.d, 0.3),
    fW = normal(r, fs.h * fs.h, 0.08),
    fb = normal(r, fs.h, 0.1);
  const fV = normal(r, fs.K * fs.h, 0.3),
    fc = normal(r, fs.K, 0.1),
    fS = normal(r, fs.N * fs.T * fs.h, 0.5);
  const rs: NativeShape = { ...fs, N: 1000, T: 1 },
    rS = normal(r, rs.N * rs.h, 0.5);
  const before = native.getThreads();
  native.setThreads({ blas: 2 });
  try {
    const readoutAlone = new Float32Array(rs.N * rs.K),
      forwardAlone = new Float32Array(fs.N * fs.K);
    native.readout({ shape: rs, S: rS, V: fV, c: fc, out: readoutAlone });
    native.forward({ shape: fs, x: fx, U: fU, W: fW, b: fb, V: fV, c: fc, O: forwardAlone });
    for (let round = 0; round < 3; round++) {
      const O = new Float32Array(fs.N * fs.K),
        outs = Array.from({ length: 4 }, () => new Float32Array(rs.N * rs.K));
      const P = new Float32Array(fs.N * fs.T * fs.h),
        XUf = new Float32Array(fs.N * fs.T * fs.h);
      await Promise.all([
        native.forwardAsync({ shape: fs, x: fx, U: fU, W: fW, b: fb, V: fV, c: fc, O }),
        native.recurrentAffineAsync({ shape: fs, XU: XUf, S: fS, W: fW, out: P }),
        nativeHooks.sgemmThreadedAsync({ m: rs.N, n: fs.h, k: fs.h, A: rS, B: fW, C: new Float32Array(rs.N * fs.h) }),
        ...outs.map((out) => native.readoutAsync({ shape: rs, S: rS, V: fV, c: fc, out })),
      ]);
      t.deepEqual(O, forwardAlone, `forward, round ${round}`);
      for (const out of outs) t.deepEqual(out, readoutAlone, `readout, round ${round}`);
    }
  } finally {
    native.setThreads(before);
  }
});

test.serial('a fit gives the same weights and records with one BLAS thread as with two, in every mode', async (t) => {
  // Mini-batches of 64 × h = 96: per-step products and Grams that OpenBLAS's own threading
  // would split (and round differently) if it were on.
  const spec = { N: 256, T: 6, d: 5, h: 96, K: 3, lossSteps: 'last', loss: 'softmax-cross-entropy', seed: 2 } as const;
  for (const mode of ['adjoint', 'local-duals', 'sweeps', 'persistent'] as const) {
    const options = mode === 'persistent' ? { mode } : { mode, batchSize: 64 };
    const one = await withThreadsAsync({ blas: 1 }, () => fitFresh(spec, options, 2));
    const two = await withThreadsAsync({ blas: 2 }, () => fitFresh(spec, options, 2));
    t.deepEqual(two.weights, one.weights, mode);
    t.deepEqual(two.history, one.history, mode);
  }
  await stopAscentWorkers();
});

test.serial('getThreads reports the configured BLAS count, and setThreads still applies it', (t) => {
  const before = native.getThreads();
  try {
    native.setThreads({ blas: 1 });
    t.is(native.getThreads().blas, 1);
    native.setThreads({ blas: 2 });
    t.is(native.getThreads().blas, 2);
  } finally {
    native.setThreads(before);
  }
});

/** Runs `code` in a fresh process with the fault switch (test-hooks injectFault) at `fault`; returns its output. */
function childWithFault(fault: string, code: string): string {
  const lib = path.resolve(__dirname, '..', 'lib');
  const hooks = JSON.stringify(path.join(lib, 'internal', 'test-hooks'));
  const setup = `const { native } = require(${JSON.stringify(path.join(lib, 'native-entry'))});
require(${hooks}).nativeHooks.injectFault({ site: ${JSON.stringify(fault)} });`;
  const r = spawnSync(process.execPath, ['-e', `${setup}\n${code}`], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`child exited with ${r.status} (${r.signal}): ${r.stderr}`);
  return r.stdout;
}

const affineCall = `
const s = { N: 700, T: 5, d: 3, h: 8, K: 2, everyStep: false }, n = s.N * s.T * s.h;
const args = { shape: s, XU: new Float32Array(n), S: new Float32Array(n), W: new Float32Array(64), out: new Float32Array(n) };
const report = (e) => console.log(e.code + ' ' + e.message);
try { native.recurrentAffine(args); console.log('no error'); } catch (e) { report(e); }
native.recurrentAffineAsync(args).then(() => console.log('no error'), report).then(() => {
  native.tanh({ n, A: args.S, out: args.out });  // still usable afterwards
  console.log('alive');
});`;

test.serial('a failure on a row-block worker thread becomes the kernel error, and the process lives on', (t) => {
  const out = childWithFault('blocks', affineCall);
  t.regex(
    out,
    /^ERR_OUT_OF_MEMORY recurrentAffine: out of memory\nERR_OUT_OF_MEMORY recurrentAffine: out of memory\nalive\n$/
  );
});

test.serial('a failure on an elementwise worker thread becomes the kernel error, and the process lives on', (t) => {
  const out = childWithFault(
    'chunks',
    `
const n = 1 << 20, A = new Float32Array(n), out = new Float32Array(n);
try { native.tanh({ n, A, out }); console.log('no error'); } catch (e) { console.log(e.code + ' ' + e.message); }
console.log('alive');`
  );
  t.is(out, 'ERR_OUT_OF_MEMORY tanh: out of memory\nalive\n');
});
