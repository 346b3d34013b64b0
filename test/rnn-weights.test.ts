/**
 * Models built from given weights (RNN.withWeights, RNN.fromJSON): the declared sizes are
 * checked against the weights before anything is allocated, no random initialisation is spent on
 * weights that are overwritten, and the total parameter count is bounded.
 */
import test from 'ava';
import { RNN } from '../lib';
import { MAX_PARAMETERS } from '../lib/rnn';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object itself, to wrap its exports
const initModule = require('../lib/init') as typeof import('../lib/init');

/** Runs `fn` counting the calls to the random initialisation. */
function countingInitialisations<T>(fn: () => T): { calls: number; result?: T; error?: unknown } {
  const original = initModule.initialise;
  let calls = 0;
  initModule.initialise = (...args) => {
    calls++;
    return original(...args);
  };
  try {
    const result = fn();
    return { calls, result };
  } catch (error) {
    return { calls, error };
  } finally {
    initModule.initialise = original;
  }
}

const sizes = { inputSize: 3, hiddenSize: 4, outputSize: 2 };
const weightsFor = (fill: number) => ({
  U: new Float32Array(12).fill(fill),
  W: new Float32Array(16).fill(fill),
  b: new Float32Array(4).fill(fill),
  V: new Float32Array(8).fill(fill),
  c: new Float32Array(2).fill(fill),
});

test('withWeights builds a model from copies of the given weights, without a random initialisation', (t) => {
  const weights = weightsFor(0.25);
  const counted = countingInitialisations(() =>
    RNN.withWeights({ ...sizes, init: { scheme: 'glorot', seed: 3 } }, weights)
  );
  t.is(counted.error, undefined);
  t.is(counted.calls, 0);
  const model = counted.result!;
  for (const name of ['U', 'W', 'b', 'V', 'c'] as const) {
    t.deepEqual(model[name], weights[name]);
    t.not(model[name], weights[name], `${name} is a copy`);
  }
  weights.W[0] = 9;
  t.is(model.W[0], 0.25);
  t.is(countingInitialisations(() => new RNN(sizes)).calls, 1, 'the constructor still initialises');
});

test('withWeights checks the sizes, each weight and its values, naming the parameter', (t) => {
  t.throws(() => RNN.withWeights(null as never, weightsFor(0)), {
    instanceOf: TypeError,
    message: /^config must be an object/,
  });
  t.throws(() => RNN.withWeights({ ...sizes, hiddenSize: 0 }, weightsFor(0)), {
    instanceOf: RangeError,
    message: /config.hiddenSize/,
  });
  t.throws(() => RNN.withWeights(sizes, null as never), {
    instanceOf: TypeError,
    message: /^weights must be an object/,
  });
  t.throws(() => RNN.withWeights(sizes, { ...weightsFor(0), W: new Float32Array(15) }), {
    instanceOf: RangeError,
    message: /weights.W must be of length 16/,
  });
  t.throws(() => RNN.withWeights(sizes, { ...weightsFor(0), U: new Float64Array(12) as never }), {
    instanceOf: TypeError,
    message: /weights.U must be a Float32Array/,
  });
  t.throws(() => RNN.withWeights(sizes, { ...weightsFor(0), c: Float32Array.of(0, NaN) }), {
    instanceOf: RangeError,
    message: /weights.c must be finite.*element 1 is NaN/,
  });
  const { c: _, ...missing } = weightsFor(0);
  t.throws(() => RNN.withWeights(sizes, missing as never), {
    instanceOf: TypeError,
    message: /weights.c must be a Float32Array/,
  });
});

test('the total parameter count is bounded before anything is allocated (V = K·h had no bound)', (t) => {
  // h·(d+h+1) is small, but K·h = 2^34 would be a 64 GiB V (V8: "Invalid typed array length").
  const huge = { inputSize: 1, hiddenSize: 1 << 14, outputSize: 1 << 20 };
  t.throws(() => new RNN(huge), {
    instanceOf: RangeError,
    message: /^config must be sizes with at most 2\^31 parameters/,
  });
  t.throws(() => RNN.withWeights(huge, weightsFor(0)), {
    instanceOf: RangeError,
    message: /^config must be sizes with at most 2\^31 parameters/,
  });
  // d = 2^24, h = 127: the (U, W, b) system is within its own bound, and K = 130,946 is one class too many.
  const edge = { inputSize: 1 << 24, hiddenSize: 127, outputSize: 130_946 };
  t.is(127 * ((1 << 24) + 128) + 130_945 * 128, MAX_PARAMETERS);
  t.throws(() => new RNN(edge), { instanceOf: RangeError, message: /parameters.*got 2147483776/ });
});

test('fromJSON checks the declared sizes against the weights before allocating or initialising a model', (t) => {
  // 110 bytes that used to allocate and randomly initialise an 8192 × 8192 model (~540 MB, 26 s).
  const tiny = { format: 'admmirnn.rnn', version: 1, inputSize: 1, hiddenSize: 8192, outputSize: 8192, weights: {} };
  const missing = countingInitialisations(() => RNN.fromJSON(tiny));
  t.is(missing.calls, 0);
  t.true(missing.error instanceof TypeError);
  t.regex((missing.error as Error).message, /^data.weights.U must be an array of numbers/);
  const short = countingInitialisations(() =>
    RNN.fromJSON({ ...tiny, weights: { U: [], W: [], b: [], V: [], c: [] } })
  );
  t.is(short.calls, 0);
  t.regex((short.error as Error).message, /^data.weights.U must be of length 8192/);
  t.throws(() => RNN.fromJSON({ ...tiny, outputSize: 1 << 20, hiddenSize: 1 << 14 }), {
    instanceOf: RangeError,
    message: /^data must be sizes with at most 2\^31 parameters/,
  });
  t.throws(() => RNN.fromJSON({ ...tiny, hiddenSize: '8' }), {
    instanceOf: TypeError,
    message: /^data.hiddenSize must be an integer/,
  });
  const good = new RNN(sizes).toJSON();
  const copy = countingInitialisations(() => RNN.fromJSON(JSON.parse(JSON.stringify(good))));
  t.is(copy.calls, 0);
  t.deepEqual(copy.result!.toJSON(), good);
});
