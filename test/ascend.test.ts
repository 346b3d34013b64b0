/**
 * The dual ascent (lib/admm/ascent/): μ ← (μ + left − right)·scale with its
 * norms, on the ascent workers over SharedArrayBuffer-backed arrays (else on the main thread).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ASCENT_SPAN as SPAN, MIN_WORKER_SPANS } from '../lib/admm/ascent/pool';
import { Random } from '../lib/random';
import { stopAscentWorkers } from '../lib';
import { ascentWorkerScript, ascentWorkersUnavailable } from '../lib/internal/test-hooks';
import { ascend, type ConstraintNorms } from '../lib/admm/ascent/ascend';
import { withThreadsAsync } from './helpers/threads';

const STEPS = 7,
  ROW = 96;
const n = Math.floor(((MIN_WORKER_SPANS + 0.3) * SPAN) / ROW) * ROW; // enough spans for the workers, the last one partial

/** Three arrays of n values (cheap pseudo-random: a seeded offset into a sine). */
function arrays(shared: boolean, seed = 1) {
  const offset = new Random(seed).uniform() * 1000;
  const make = (scale: number, frequency: number) => {
    const a = shared ? new Float32Array(new SharedArrayBuffer(4 * n)) : new Float32Array(n);
    for (let k = 0; k < n; k++) a[k] = scale * Math.sin(frequency * k + offset);
    return a;
  };
  return { left: make(1, 0.7), right: make(1, 1.3), dual: make(0.1, 2.9) };
}

/** The float64 reference of one ascent. */
function reference(left: Float32Array, right: Float32Array, dual: Float32Array, scale: number) {
  let rr = 0,
    ll = 0,
    pp = 0,
    mo = 0,
    mn = 0;
  const perStep = new Float64Array(STEPS),
    next = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const r = left[k] - right[k],
      m = dual[k] + r;
    rr += r * r;
    ll += left[k] ** 2;
    pp += right[k] ** 2;
    mo += dual[k] ** 2;
    mn += m * m;
    perStep[Math.floor(k / ROW) % STEPS] += m * m;
    next[k] = m * scale;
  }
  return { norms: { residualSq: rr, leftSq: ll, rightSq: pp, dualOldSq: mo, dualNewSq: mn }, perStep, next };
}

const withElementwise = <T>(threads: number, body: () => Promise<T>): Promise<T> =>
  withThreadsAsync({ elementwise: threads }, body);

async function run(
  shared: boolean,
  threads: number,
  scale = 0.5
): Promise<{ norms: ConstraintNorms; dual: Float32Array }> {
  const { left, right, dual } = arrays(shared);
  const norms = await withElementwise(threads, () =>
    ascend(left, right, dual, scale, true, { steps: STEPS, rowLength: ROW })
  );
  return { norms, dual: Float32Array.from(dual) };
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.abs(b) + 1e-12;

/** Index of the first element where a and b differ bitwise (-1: none); ava's deepEqual is slow on millions. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const x = new Int32Array(a.buffer, a.byteOffset, a.length),
    y = new Int32Array(b.buffer, b.byteOffset, b.length);
  for (let k = 0; k < x.length; k++) if (x[k] !== y[k]) return k;
  return -1;
}

test.serial('the ascent on shared arrays with a worker matches the float64 reference', async (t) => {
  const { left, right, dual } = arrays(true);
  const expected = reference(left, right, dual, 0.5);
  const got = await withElementwise(2, () => ascend(left, right, dual, 0.5, true, { steps: STEPS, rowLength: ROW }));
  for (const key of Object.keys(expected.norms) as (keyof typeof expected.norms)[])
    t.true(close(got[key] as number, expected.norms[key]), key);
  for (let s = 0; s < STEPS; s++) t.true(close(got.dualNewSqPerStep![s], expected.perStep[s]), `step ${s}`);
  t.is(firstDifference(dual, expected.next), -1);
});

test.serial(
  'one worker, two workers, and plain (unshared) arrays on the main thread give bit-identical norms and duals',
  async (t) => {
    const alone = await run(true, 1),
      helped = await run(true, 2),
      plain = await run(false, 2);
    for (const other of [helped, plain]) {
      t.deepEqual(other.norms, alone.norms);
      t.is(firstDifference(other.dual, alone.dual), -1);
    }
  }
);

test.serial('without apply the duals are left as they were; subarray views work', async (t) => {
  const { left, right, dual } = arrays(true, 4);
  const before = Float32Array.from(dual);
  const full = await withElementwise(2, () => ascend(left, right, dual, 1, false));
  t.is(firstDifference(dual, before), -1);
  const expected = reference(left, right, dual, 1).norms;
  t.true(close(full.residualSq, expected.residualSq));
  // A view at an offset, as the chunk views of a chunked sweep pass them.
  const from = 5,
    to = n - 3; // still enough spans for the workers
  const part = await withElementwise(2, () =>
    ascend(left.subarray(from, to), right.subarray(from, to), dual.subarray(from, to), 1, true)
  );
  let rr = 0;
  for (let k = from; k < to; k++) rr += (left[k] - right[k]) ** 2;
  t.true(close(part.residualSq, rr));
  t.is(dual[from - 1], before[from - 1]);
  t.is(dual[from], Math.fround(before[from] + (left[from] - right[from])));
});

test.serial('the workers can be stopped, and the next ascent starts them again', async (t) => {
  const first = await run(true, 2);
  await stopAscentWorkers();
  const again = await run(true, 2);
  t.deepEqual(again.norms, first.norms);
  t.is(firstDifference(again.dual, first.dual), -1);
  await stopAscentWorkers();
});

test('idle workers end, so the shared arrays of finished ascents are freed (a fresh process with --expose-gc)', (t) => {
  // Ten ascents on fresh 3 × 24 MB shared arrays, dropped after each: the workers' isolates held
  // every one of them (~720 MB) until they collected garbage, which idle isolates never do.
  const lib = JSON.stringify(path.join(__dirname, '..', 'lib'));
  const script = `
    const { ascend } = require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'admm', 'ascent', 'ascend'))});
    const { ASCENT_IDLE_MS } = require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'admm', 'ascent', 'pool'))});
    const { setThreads } = require(${lib});
    setThreads({ elementwise: 2 });
    const n = 6 * 1024 * 1024;
    const shared = () => new Float32Array(new SharedArrayBuffer(4 * n)).fill(0.5);
    (async () => {
      for (let k = 0; k < 10; k++) await ascend(shared(), shared(), shared(), 1, true);
      await new Promise((r) => setTimeout(r, ASCENT_IDLE_MS + 1000));
      global.gc(); // the wrappers; their backing stores go in a sweep after it, counted by the next
      await new Promise((r) => setTimeout(r, 200));
      global.gc();
      console.log(JSON.stringify({ arrayBuffers: process.memoryUsage().arrayBuffers }));
    })();`;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  t.is(r.status, 0, r.stderr);
  const { arrayBuffers } = JSON.parse(r.stdout) as { arrayBuffers: number };
  t.true(arrayBuffers < 100e6, `${(arrayBuffers / 1e6).toFixed(0)} MB of array buffers still held`);
});

test.serial('the event loop keeps turning during a long ascent, on workers or on the main thread', async (t) => {
  for (const shared of [true, false]) {
    const { left, right, dual } = arrays(shared, 6);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    await withElementwise(2, () => ascend(left, right, dual, 1, true));
    clearInterval(timer);
    t.true(ticks >= 1, `${shared ? 'workers' : 'main thread'}: timer ran ${ticks} times`);
  }
});

test.serial('a worker that cannot start leaves the ascent to the main thread, with the same result', async (t) => {
  const expected = await run(true, 1);
  await stopAscentWorkers();
  const saved = ascentWorkerScript.path;
  ascentWorkerScript.path = path.join(__dirname, 'no-such-ascent-worker.js');
  try {
    const got = await run(true, 2);
    t.deepEqual(got.norms, expected.norms);
    t.is(firstDifference(got.dual, expected.dual), -1);
    t.regex(String(ascentWorkersUnavailable()?.message), /no-such-ascent-worker|Cannot find module/);
  } finally {
    ascentWorkerScript.path = saved;
    await stopAscentWorkers();
  }
  t.is(ascentWorkersUnavailable(), undefined);
  const again = await run(true, 2);
  t.deepEqual(again.norms, expected.norms);
});
