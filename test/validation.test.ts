/** Every class of bad input at the public boundary → TypeError / RangeError naming the parameter. */
import test from 'ava';
import { AdmmTrainer, RNN, type TrainingData } from '../lib';
import { native } from '../lib/native-entry';

/** The paper's full-batch loop (not the default mode). */
const PERSISTENT = { mode: 'persistent' } as const;

const model = () => new RNN({ inputSize: 3, hiddenSize: 4, outputSize: 2 });
const good = (): TrainingData => ({
  inputs: new Float32Array(5 * 4 * 3),
  targets: new Int32Array(5),
  sequenceLength: 4,
});

test('RNN constructor rejects bad sizes and init options', (t) => {
  t.throws(() => new RNN(undefined as never), { instanceOf: TypeError, message: /config must be an object/ });
  t.throws(() => new RNN({ inputSize: '3', hiddenSize: 4, outputSize: 2 } as never), {
    instanceOf: TypeError,
    message: /config.inputSize/,
  });
  t.throws(() => new RNN({ inputSize: 3, hiddenSize: 0, outputSize: 2 }), {
    instanceOf: RangeError,
    message: /config.hiddenSize/,
  });
  t.throws(() => new RNN({ inputSize: 3, hiddenSize: 2.5, outputSize: 2 }), {
    instanceOf: RangeError,
    message: /config.hiddenSize/,
  });
  t.throws(() => new RNN({ inputSize: 3, hiddenSize: 4, outputSize: 2, init: { scheme: 'he' as never } }), {
    instanceOf: RangeError,
    message: /config.init.scheme/,
  });
  t.throws(() => new RNN({ inputSize: 3, hiddenSize: 4, outputSize: 2, init: { scale: NaN } }), {
    instanceOf: RangeError,
    message: /config.init.scale/,
  });
  t.throws(() => new RNN({ inputSize: 3, hiddenSize: 4, outputSize: 2, init: { seed: -1 } }), {
    instanceOf: RangeError,
    message: /config.init.seed/,
  });
});

test('predict / evaluate reject malformed data', (t) => {
  const m = model();
  t.throws(() => m.predict(null as never), { instanceOf: TypeError, message: /data must be an object/ });
  t.throws(() => m.predict({ inputs: [1, 2, 3] as never, sequenceLength: 1 }), {
    instanceOf: TypeError,
    message: /data.inputs/,
  });
  t.throws(() => m.predict({ inputs: new Float64Array(12) as never, sequenceLength: 4 }), {
    instanceOf: TypeError,
    message: /data.inputs/,
  });
  t.throws(() => m.predict({ inputs: new Float32Array(13), sequenceLength: 4 }), {
    instanceOf: RangeError,
    message: /data.inputs/,
  });
  t.throws(() => m.predict({ inputs: new Float32Array(0), sequenceLength: 4 }), {
    instanceOf: RangeError,
    message: /data.inputs/,
  });
  t.throws(() => m.predict({ inputs: new Float32Array(12), sequenceLength: 0 }), {
    instanceOf: RangeError,
    message: /data.sequenceLength/,
  });
  t.throws(() => m.predict({ inputs: new Float32Array(12).fill(NaN), sequenceLength: 4 }), {
    instanceOf: RangeError,
    message: /data.inputs must be finite/,
  });
  t.throws(() => m.predict({ inputs: Int32Array.of(0, 1, 3, 2), sequenceLength: 4 }), {
    instanceOf: RangeError,
    message: /token ids in \[0, 3\)/,
  });
  t.throws(() => m.predict({ inputs: new Float32Array(12), sequenceLength: 4 }, { outputs: 'all' as never }), {
    instanceOf: RangeError,
    message: /options.outputs/,
  });
  t.throws(() => m.evaluate({ ...good(), targets: Int32Array.of(0, 1, 2, 0, 1) }), {
    instanceOf: RangeError,
    message: /data.targets.*class ids in \[0, 2\)/,
  });
  t.throws(() => m.evaluate({ ...good(), targets: new Int32Array(4) }), {
    instanceOf: RangeError,
    message: /data.targets/,
  });
  t.throws(() => m.evaluate({ ...good(), targets: new Float32Array(5) }), {
    instanceOf: RangeError,
    message: /data.targets must be 2 values per target/,
  });
  t.throws(() => m.evaluate({ ...good(), targets: new Float32Array(10).fill(Infinity) }), {
    instanceOf: RangeError,
    message: /data.targets must be finite/,
  });
  t.throws(() => m.evaluate(good(), { loss: 'squared-error' }), { instanceOf: TypeError, message: /data.targets/ });
});

test('setWeights and fromJSON reject wrong sizes and non-finite values', (t) => {
  const m = model();
  t.throws(() => m.setWeights({ W: new Float32Array(15) }), { instanceOf: RangeError, message: /weights.W/ });
  t.throws(() => m.setWeights({ V: new Float32Array(8).fill(NaN) }), {
    instanceOf: RangeError,
    message: /weights.V must be finite/,
  });
  t.throws(() => m.setWeights({ b: [0, 0, 0, 0] as never }), { instanceOf: TypeError, message: /weights.b/ });
  const json = m.toJSON();
  t.throws(() => RNN.fromJSON({ ...json, version: 2 }), { instanceOf: RangeError, message: /data.version/ });
  t.throws(() => RNN.fromJSON({ ...json, weights: { ...json.weights, c: [1] } }), {
    instanceOf: RangeError,
    message: /data.weights.c/,
  });
  t.throws(() => RNN.fromJSON({ ...json, weights: { ...json.weights, c: [1, null] } }), {
    instanceOf: RangeError,
    message: /data.weights.c/,
  });
  t.throws(() => RNN.fromJSON('{}'), { instanceOf: TypeError, message: /data must be an object/ });
});

test('AdmmTrainer rejects bad options', (t) => {
  t.throws(() => new AdmmTrainer({} as never), { instanceOf: TypeError, message: /model must be an RNN/ });
  t.throws(() => new AdmmTrainer(model(), { ...PERSISTENT, rho: [1, 2] as never }), {
    instanceOf: TypeError,
    message: /options.rho/,
  });
  t.throws(() => new AdmmTrainer(model(), { ...PERSISTENT, rho: [1, 0, 1] }), {
    instanceOf: RangeError,
    message: /options.rho\[1\]/,
  });
  t.throws(() => new AdmmTrainer(model(), { ...PERSISTENT, rho: -1 }), {
    instanceOf: RangeError,
    message: /options.rho/,
  });
  t.throws(() => new AdmmTrainer(model(), { ...PERSISTENT, beta: NaN }), {
    instanceOf: RangeError,
    message: /options.beta/,
  });
  t.throws(() => new AdmmTrainer(model(), { ...PERSISTENT, update: 'newton' as never }), {
    instanceOf: RangeError,
    message: /options.update/,
  });
  t.throws(() => new AdmmTrainer(model(), { ...PERSISTENT, lossSteps: 'first' as never }), {
    instanceOf: RangeError,
    message: /options.lossSteps/,
  });
  t.throws(() => new AdmmTrainer(model(), { ...PERSISTENT, rhoPolicy: { kind: 'cosine' } as never }), {
    instanceOf: RangeError,
    message: /options.rhoPolicy.kind/,
  });
  t.throws(() => new AdmmTrainer(model(), { ...PERSISTENT, rhoPolicy: { kind: 'geometric', factor: 0 } }), {
    instanceOf: RangeError,
    message: /options.rhoPolicy.factor/,
  });
});

test('fit rejects bad data and fit options, and the trainer stays usable', async (t) => {
  const trainer = new AdmmTrainer(model(), PERSISTENT);
  await t.throwsAsync(() => trainer.fit({ ...good(), targets: Int32Array.of(0, 1, 5, 0, 1) }), {
    instanceOf: RangeError,
    message: /data.targets/,
  });
  await t.throwsAsync(() => trainer.fit({ ...good(), targets: new Int32Array(20) }), {
    instanceOf: RangeError,
    message: /last step/,
  });
  await t.throwsAsync(() => trainer.fit({ ...good(), targets: [0, 1] as never }), {
    instanceOf: TypeError,
    message: /data.targets/,
  });
  await t.throwsAsync(() => trainer.fit(good(), { maxIterations: -1 }), {
    instanceOf: RangeError,
    message: /options.maxIterations/,
  });
  await t.throwsAsync(() => trainer.fit(good(), { signal: {} as never }), {
    instanceOf: TypeError,
    message: /options.signal/,
  });
  await t.throwsAsync(() => trainer.fit(good(), { onIteration: 1 as never }), {
    instanceOf: TypeError,
    message: /options.onIteration/,
  });
  await t.throwsAsync(() => trainer.fit(good(), { tolerance: { primal: 1 } as never }), {
    instanceOf: TypeError,
    message: /options.tolerance.dual/,
  });
  await t.throwsAsync(() => trainer.fit(good(), { plateau: { patience: 0 } }), {
    instanceOf: RangeError,
    message: /options.plateau.patience/,
  });
  await t.throwsAsync(() => trainer.fit(good(), { resume: 'yes' as never }), {
    instanceOf: TypeError,
    message: /options.resume/,
  });
  const every = new AdmmTrainer(model(), { ...PERSISTENT, lossSteps: 'every' });
  await t.throwsAsync(() => every.fit(good()), { instanceOf: RangeError, message: /every step/ });
  const ok = await trainer.fit(good(), { maxIterations: 1 });
  t.is(ok.status, 'max-iterations');
});

test('the native layer re-checks sizes and types when called directly', (t) => {
  const shape = { N: 2, T: 3, d: 2, h: 4, K: 2, everyStep: false };
  const args = {
    shape,
    x: new Float32Array(12),
    U: new Float32Array(8),
    W: new Float32Array(16),
    b: new Float32Array(4),
    V: new Float32Array(8),
    c: new Float32Array(2),
    O: new Float32Array(4),
  };
  t.notThrows(() => native.forward(args));
  t.throws(() => native.forward({ ...args, U: new Float32Array(7) }), {
    instanceOf: RangeError,
    message: /forward: U must be of length 8, got 7/,
  });
  t.throws(() => native.forward({ ...args, W: new Float64Array(16) as never }), {
    instanceOf: TypeError,
    message: /forward: W must be a Float32Array/,
  });
  t.throws(() => native.forward({ ...args, shape: { ...shape, N: 1.5 } }), {
    instanceOf: RangeError,
    message: /shape.N must be an integer/,
  });
  t.throws(() => native.forward({ ...args, shape: { ...shape, N: 2 ** 40 } }), {
    instanceOf: RangeError,
    message: /shape.N/,
  });
  t.throws(() => native.forward(undefined as never), { instanceOf: TypeError, message: /options must be an object/ });
  t.throws(() => native.forward({ ...args, x: undefined, ids: Int32Array.of(0, 1, 2, 0, 1, 0) } as never), {
    instanceOf: RangeError,
    message: /ids must be token ids in \[0, 2\)/,
  });
});
