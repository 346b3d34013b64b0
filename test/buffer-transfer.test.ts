/**
 * Buffers transferred, handed to a worker or collected while async native work uses them
 * (issue 15, D1): an error or a correct result, never a crash. Each case of
 * fuzz/transfer-cases.ts runs in a child process with the collector exposed, so that a kernel
 * touching freed memory shows as a signal instead of killing the test runner.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { native } from '../lib/native-entry';
import { TRANSFER_CASES } from './fuzz/transfer-cases';

const CHILD = path.join(__dirname, 'fuzz', 'transfer-cases.js');

for (const name of Object.keys(TRANSFER_CASES))
  test(`${name}: an error or a correct result, never a crash`, (t) => {
    const r = spawnSync(process.execPath, ['--expose-gc', CHILD, name], { encoding: 'utf8', timeout: 120_000 });
    t.is(r.signal, null, `the child crashed: ${r.stderr.slice(-2000)}`);
    t.is(r.status, 0, r.stderr.slice(-2000));
    const report = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
    t.is(report.outcome, 'ok', report.message);
    t.deepEqual(report.problems, []);
  });

test('an output transferred while the call runs: RangeError naming it, nothing written', async (t) => {
  const shape = { N: 2, T: 3, d: 2, h: 3, K: 2, everyStep: false };
  const weights = {
    U: new Float32Array(6).fill(0.1),
    W: new Float32Array(9).fill(0.1),
    b: new Float32Array(3),
    V: new Float32Array(6).fill(0.2),
    c: new Float32Array(2),
  };
  const x = new Float32Array(12).fill(1),
    S = new Float32Array(18).fill(7),
    O = new Float32Array(4);
  const pending = native.forwardAsync({ shape, x, ...weights, A: new Float32Array(18), S, O });
  structuredClone(O.buffer, { transfer: [O.buffer] });
  const e = await t.throwsAsync(pending, { instanceOf: RangeError });
  t.regex(e!.message, /^forward: O must be left attached until the call settles \(its buffer was detached/);
  t.true(
    S.every((v) => v === 7),
    'S, still attached, is not written either: all or nothing'
  );
});

test('inputs transferred mid-call, one then filled with NaN: the result of the values at the call', async (t) => {
  const A = new Float32Array(8).map((_, i) => i / 8),
    B = A.map((v) => 1 - v);
  const expected = new Float32Array(4);
  native.sgemm({ m: 2, n: 2, k: 4, A: A.slice(), B: B.slice(), C: expected });
  const args = { m: 2, n: 2, k: 4, A, B, C: new Float32Array(4) };
  const pending = native.sgemmAsync(args);
  structuredClone(A.buffer, { transfer: [A.buffer] });
  new Float32Array(structuredClone(B.buffer, { transfer: [B.buffer] })).fill(NaN);
  await pending;
  t.deepEqual(args.C, expected);
});

test('resizable buffers shrunk mid-call: an input gives the result of its values, an output RangeError', async (t) => {
  const values = [0, 1, -1, 2],
    expected = new Float32Array(4);
  native.tanh({ n: 4, A: Float32Array.from(values), out: expected });
  // ES2024 resizable buffers (Node 20 has them; this TypeScript lib does not describe them).
  type Resizable = ArrayBuffer & { resize(bytes: number): void };
  const Resizable = ArrayBuffer as unknown as new (bytes: number, options: { maxByteLength: number }) => Resizable;
  const resizable = () => new Resizable(16, { maxByteLength: 64 });
  const input = resizable(),
    A = new Float32Array(input),
    out = new Float32Array(4);
  A.set(values);
  const reading = native.tanhAsync({ n: 4, A, out });
  input.resize(0);
  await reading;
  t.deepEqual(out, expected);
  const output = resizable();
  const writing = native.tanhAsync({ n: 4, A: Float32Array.from(values), out: new Float32Array(output) });
  output.resize(8);
  await t.throwsAsync(writing, { instanceOf: RangeError, message: /^tanh: out must be left attached until the call/ });
});
