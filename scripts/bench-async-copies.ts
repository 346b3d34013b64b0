/**
 * What the async kernels' copies of plain-ArrayBuffer arrays cost (native/binding_args.h), on the
 * persistent loop's hot calls at mnist10k size (N = 8,000, T = 28, d = 28, h = 128): each call
 * timed with every array on SharedArrayBuffers (used in place), as the trainer passes them (its
 * state and a shared copy of the data in place, the model's weights copied), and with every
 * array on plain ArrayBuffers (everything copied). Not a test: it prints figures.
 *
 *   node dist/scripts/bench-async-copies.js [--hidden 128] [--reps 5]
 */
import { parseArgs } from 'node:util';
import { native } from '../lib/native-entry';

const text = (fallback: string) => ({ type: 'string' as const, default: fallback });
const options = { hidden: text('128'), reps: text('5') };
const { values } = parseArgs({ options });
const N = 8000,
  T = 28,
  d = 28,
  K = 10,
  h = Number(values.hidden),
  reps = Number(values.reps);
const shape = { N, T, d, h, K, everyStep: false };

type Arrays = Record<string, Float32Array>;
const on = (shared: boolean, n: number, fill: number) => {
  const a = new Float32Array(shared ? new SharedArrayBuffer(4 * n) : new ArrayBuffer(4 * n));
  for (let i = 0; i < n; i++) a[i] = fill * Math.sin(i);
  return a;
};
function make(layout: 'shared' | 'trainer' | 'plain'): Arrays {
  const state = layout !== 'plain',
    weights = layout === 'shared',
    n = N * T * h;
  return {
    x: on(state, N * T * d, 1),
    U: on(weights, h * d, 0.1),
    W: on(weights, h * h, 0.1),
    b: on(weights, h, 0.1),
    V: on(weights, K * h, 0.1),
    c: on(weights, K, 0.1),
    A: on(state, n, 1),
    S: on(state, n, 0.5),
    M1: on(state, n, 0.01),
    scratch: on(state, n, 0),
    XU: on(state, n, 1),
    P: on(state, n, 1),
    O: on(state, N * K, 1),
    M3: on(state, N * K, 0.01),
  };
}

const CALLS: [string, (a: Arrays) => Promise<unknown>][] = [
  [
    'forward',
    (a) => native.forwardAsync({ shape, x: a.x, U: a.U, W: a.W, b: a.b, V: a.V, c: a.c, A: a.A, S: a.S, O: a.O }),
  ],
  ['inputProjection', (a) => native.inputProjectionAsync({ shape, x: a.x, U: a.U, b: a.b, out: a.XU })],
  ['recurrentAffine', (a) => native.recurrentAffineAsync({ shape, XU: a.XU, S: a.S, W: a.W, out: a.P })],
  [
    'solveUWb',
    (a) =>
      native.solveUWbAsync({
        shape,
        x: a.x,
        S: a.S,
        A: a.A,
        M1: a.M1,
        scratch: a.scratch,
        U: a.U,
        W: a.W,
        b: a.b,
        rho1: 100,
        beta: 8,
      }),
  ],
  ['solveVc', (a) => native.solveVcAsync({ shape, S: a.S, O: a.O, M3: a.M3, V: a.V, c: a.c, rho3: 10, beta: 8 })],
];

async function best(call: () => Promise<unknown>): Promise<number> {
  await call();
  let t = Infinity;
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    await call();
    t = Math.min(t, performance.now() - start);
  }
  return t;
}

async function main(): Promise<void> {
  const layouts = { shared: make('shared'), trainer: make('trainer'), plain: make('plain') };
  console.log(`N = ${N}, T = ${T}, d = ${d}, h = ${h}, K = ${K}; best of ${reps}, ms per async call`);
  console.log('call              in place   as the trainer   all copied');
  const totals = [0, 0, 0];
  for (const [name, call] of CALLS) {
    // Interleaved per call, so the three figures of a row see the same machine load.
    const ms: number[] = [];
    for (const layout of [layouts.shared, layouts.trainer, layouts.plain]) ms.push(await best(() => call(layout)));
    ms.forEach((m, i) => (totals[i] += m));
    console.log(`${name.padEnd(16)} ${ms.map((m) => m.toFixed(1).padStart(9)).join('   ')}`);
  }
  console.log(`${'sum'.padEnd(16)} ${totals.map((m) => m.toFixed(1).padStart(9)).join('   ')}`);
}

void main();
