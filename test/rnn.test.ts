/** RNN: initialisation, prediction, evaluation, serialisation. */
import test from 'ava';
import { RNN } from '../lib';
import { randomProblem } from './problems';

function tanhForward(model: RNN, x: Float32Array, T: number): number[][] {
  const { inputSize: d, hiddenSize: h, outputSize: K } = model;
  const N = x.length / (T * d);
  const out: number[][] = [];
  for (let n = 0; n < N; n++) {
    let s = new Array(h).fill(0);
    for (let t = 0; t < T; t++) {
      s = s.map((_, i) => {
        let a = model.b[i];
        for (let j = 0; j < d; j++) a += model.U[i * d + j] * x[(n * T + t) * d + j];
        for (let j = 0; j < h; j++) a += model.W[i * h + j] * s[j];
        return Math.tanh(a);
      });
    }
    out.push(
      Array.from({ length: K }, (_, k) => model.c[k] + s.reduce((acc, v, j) => acc + model.V[k * h + j] * v, 0))
    );
  }
  return out;
}

test('predict matches a float64 forward pass', (t) => {
  const { model, data } = randomProblem({
    N: 5,
    T: 6,
    d: 3,
    h: 7,
    K: 4,
    lossSteps: 'last',
    loss: 'softmax-cross-entropy',
  });
  const got = model.predict(data);
  const want = tanhForward(model, data.inputs as Float32Array, 6);
  t.is(got.length, 5 * 4);
  want.flat().forEach((v, i) => t.true(Math.abs(got[i] - v) < 1e-5, `output ${i}: ${got[i]} vs ${v}`));
});

test('every-step outputs end with the last-step outputs; predictAsync agrees', async (t) => {
  const { model, data } = randomProblem({
    N: 4,
    T: 5,
    d: 3,
    h: 6,
    K: 2,
    lossSteps: 'every',
    loss: 'softmax-cross-entropy',
  });
  const every = model.predict(data, { outputs: 'every' });
  const last = model.predict(data);
  t.is(every.length, 4 * 5 * 2);
  for (let n = 0; n < 4; n++) for (let k = 0; k < 2; k++) t.is(every[(n * 5 + 4) * 2 + k], last[n * 2 + k]);
  t.deepEqual(Array.from(await model.predictAsync(data, { outputs: 'every' })), Array.from(every));
});

test('token-id inputs equal one-hot dense inputs', (t) => {
  const { model, data } = randomProblem({
    N: 6,
    T: 4,
    d: 5,
    h: 6,
    K: 3,
    lossSteps: 'last',
    loss: 'softmax-cross-entropy',
    tokens: true,
  });
  const ids = data.inputs as Int32Array;
  const oneHot = new Float32Array(ids.length * 5);
  ids.forEach((id, i) => (oneHot[i * 5 + id] = 1));
  const a = model.predict(data),
    b = model.predict({ inputs: oneHot, sequenceLength: 4 });
  a.forEach((v, i) => t.true(Math.abs(v - b[i]) < 1e-6));
});

test('initialisation is seeded and each scheme has its documented statistics', (t) => {
  const make = (scheme: 'normal' | 'uniform' | 'glorot' | 'orthogonal', seed = 3, scale?: number) =>
    new RNN({ inputSize: 20, hiddenSize: 64, outputSize: 10, init: { scheme, seed, scale } });
  t.deepEqual(Array.from(make('normal').W), Array.from(make('normal').W));
  t.notDeepEqual(Array.from(make('normal', 3).W), Array.from(make('normal', 4).W));
  const std = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
  t.true(Math.abs(std(make('normal', 3, 0.5).W) - 0.5) < 0.03);
  t.true(make('uniform', 3, 0.2).W.every((v) => Math.abs(v) <= 0.2));
  const glorotLimit = Math.sqrt(6 / (20 + 64));
  t.true(make('glorot').U.every((v) => Math.abs(v) <= glorotLimit + 1e-7));
  // Orthogonal W: WᵀW = I (times gain²).
  const W = make('orthogonal', 5, 2).W,
    h = 64;
  for (let i = 0; i < h; i += 7)
    for (let j = 0; j < h; j += 5) {
      let dot = 0;
      for (let k = 0; k < h; k++) dot += W[k * h + i] * W[k * h + j];
      t.true(Math.abs(dot - (i === j ? 4 : 0)) < 1e-4, `WᵀW[${i},${j}] = ${dot}`);
    }
  for (const m of [make('normal'), make('orthogonal')]) t.true(m.b.every((v) => v === 0) && m.c.every((v) => v === 0));
});

test('toJSON / fromJSON round-trips exactly, through JSON text', (t) => {
  const { model, data } = randomProblem({
    N: 3,
    T: 4,
    d: 3,
    h: 5,
    K: 2,
    lossSteps: 'last',
    loss: 'softmax-cross-entropy',
  });
  const copy = RNN.fromJSON(JSON.parse(JSON.stringify(model)));
  t.deepEqual(Array.from(copy.predict(data)), Array.from(model.predict(data)));
  t.deepEqual(copy.toJSON(), model.toJSON());
  t.is(copy.parameterCount, 5 * 3 + 25 + 5 + 2 * 5 + 2);
});

test('evaluate reports mean cross-entropy and accuracy; squared error for real targets', (t) => {
  const { model, data } = randomProblem({
    N: 8,
    T: 3,
    d: 2,
    h: 4,
    K: 3,
    lossSteps: 'last',
    loss: 'softmax-cross-entropy',
  });
  const logits = model.predict(data);
  let loss = 0,
    correct = 0;
  for (let n = 0; n < 8; n++) {
    const row = Array.from(logits.subarray(n * 3, n * 3 + 3));
    const max = Math.max(...row),
      lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    const y = (data.targets as Int32Array)[n];
    loss += lse - row[y];
    if (row.indexOf(max) === y) correct++;
  }
  const e = model.evaluate(data);
  t.true(Math.abs(e.loss - loss / 8) < 1e-9);
  t.is(e.accuracy, correct / 8);
  const reg = randomProblem({ N: 5, T: 3, d: 2, h: 4, K: 2, lossSteps: 'last', loss: 'squared-error' });
  const out = reg.model.predict(reg.data),
    y = reg.data.targets as Float32Array;
  const se = out.reduce((s, v, i) => s + 0.5 * (v - y[i]) ** 2, 0) / 5;
  const r = reg.model.evaluate(reg.data);
  t.true(Math.abs(r.loss - se) < 1e-9);
  t.true(Number.isNaN(r.accuracy));
});
