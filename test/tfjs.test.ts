/** TensorFlow.js interop: exports load in @tensorflow/tfjs and predict the same; tfjs models import. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { RNN, Random } from '../lib';
import { FileFormatError } from '../lib/file-error';
import { fromTfjsArtifacts, loadTfjsModel, saveTfjsModel, toTfjsArtifacts } from '../lib/interop/tfjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'admmirnn-tfjs-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

const N = 5,
  T = 7,
  d = 3,
  h = 6,
  K = 4;
const x = Float32Array.from({ length: N * T * d }, (_, i) => Math.sin(i * 0.37));

function close(
  t: { true: (v: boolean, m?: string) => void },
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  tol = 1e-5
): void {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  t.true(a.length === b.length && worst <= tol, `max |Δ| = ${worst}`);
}

function trainedLike(): RNN {
  const model = new RNN({ inputSize: d, hiddenSize: h, outputSize: K, init: { scheme: 'glorot', seed: 4 } });
  const rng = new Random(2);
  model.b.forEach((_, i) => (model.b[i] = 0.1 * rng.normal()));
  model.c.forEach((_, i) => (model.c[i] = 0.1 * rng.normal()));
  return model;
}

test('an exported model loads in tfjs (from memory) and predicts the same, last step and every step', async (t) => {
  const model = trainedLike();
  for (const outputs of ['last', 'every'] as const) {
    const a = toTfjsArtifacts(model, { outputs });
    const loaded = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: a.modelTopology, weightSpecs: a.weightSpecs, weightData: a.weightData })
    );
    const y = loaded.predict(tf.tensor3d(x, [N, T, d])) as tf.Tensor;
    t.deepEqual(y.shape, outputs === 'last' ? [N, K] : [N, T, K]);
    close(t, y.dataSync(), model.predict({ inputs: x, sequenceLength: T }, { outputs }));
  }
});

test('the files on disk (model.json + weights.bin) load in tfjs and import back', async (t) => {
  const model = trainedLike();
  const dir = path.join(tmp, 'export');
  await saveTfjsModel(dir, model);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  t.is(json.format, 'layers-model');
  const bin = fs.readFileSync(path.join(dir, json.weightsManifest[0].paths[0]));
  const handler: tf.io.IOHandler = {
    load: async () => ({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length),
    }),
  };
  const loaded = await tf.loadLayersModel(handler);
  close(
    t,
    (loaded.predict(tf.tensor3d(x, [N, T, d])) as tf.Tensor).dataSync(),
    model.predict({ inputs: x, sequenceLength: T })
  );
  const back = await loadTfjsModel(path.join(dir, 'model.json'));
  for (const name of ['U', 'W', 'b', 'V', 'c'] as const) t.deepEqual(back[name], model[name]);
});

test('a model built and initialised in tfjs imports with the same predictions', async (t) => {
  const m = tf.sequential();
  m.add(tf.layers.simpleRNN({ units: h, inputShape: [null, d], name: 'rnn_from_tfjs' }));
  m.add(tf.layers.dense({ units: K, name: 'head', biasInitializer: 'randomNormal' }));
  let artifacts: tf.io.ModelArtifacts | undefined;
  await m.save(
    tf.io.withSaveHandler(
      async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })
    )
  );
  const model = fromTfjsArtifacts({
    modelTopology: artifacts!.modelTopology as Record<string, unknown>,
    weightSpecs: artifacts!.weightSpecs as never,
    weightData: artifacts!.weightData as ArrayBuffer,
  });
  t.deepEqual([model.inputSize, model.hiddenSize, model.outputSize], [d, h, K]);
  close(
    t,
    model.predict({ inputs: x, sequenceLength: T }),
    (m.predict(tf.tensor3d(x, [N, T, d])) as tf.Tensor).dataSync()
  );
});

test('unsupported architectures and broken artifacts are refused', (t) => {
  const a = toTfjsArtifacts(trainedLike());
  const layers = (a.modelTopology as any).config.layers;
  const relu = structuredClone(a.modelTopology) as any;
  relu.config.layers[0].config.activation = 'relu';
  t.throws(() => fromTfjsArtifacts({ ...a, modelTopology: relu }), { instanceOf: RangeError, message: /tanh/ });
  const lstm = structuredClone(a.modelTopology) as any;
  lstm.config.layers[0].class_name = 'LSTM';
  t.throws(() => fromTfjsArtifacts({ ...a, modelTopology: lstm }), {
    instanceOf: RangeError,
    message: /SimpleRNN, Dense/,
  });
  t.throws(() => fromTfjsArtifacts({ ...a, weightData: a.weightData.slice(0, 20) }), {
    instanceOf: RangeError,
    message: /truncated/,
  });
  t.throws(() => fromTfjsArtifacts({ ...a, weightSpecs: a.weightSpecs.slice(1) }), { instanceOf: RangeError });
  t.throws(() => toTfjsArtifacts(trainedLike(), { outputs: 'all' as never }), {
    instanceOf: RangeError,
    message: /options\.outputs/,
  });
  t.is(layers.length, 2);
});

test('issue 15 D5: an InputLayer (batch_input_shape, Keras 3 batch_shape) gives d, else the kernel does', (t) => {
  const model = trainedLike();
  const a = toTfjsArtifacts(model);
  for (const key of ['batch_input_shape', 'batch_shape', undefined]) {
    const top = structuredClone(a.modelTopology) as any;
    const shape = top.config.layers[0].config.batch_input_shape;
    delete top.config.layers[0].config.batch_input_shape;
    if (key) top.config.layers.unshift({ class_name: 'InputLayer', config: { [key]: shape, name: 'input1' } });
    const back = fromTfjsArtifacts({ ...a, modelTopology: top });
    for (const name of ['U', 'W', 'b', 'V', 'c'] as const) t.deepEqual(back[name], model[name], `${key} ${name}`);
  }
});

test('issue 15 D15: weight specs are checked by full shape, dtype and quantization before any allocation', (t) => {
  const a = toTfjsArtifacts(trainedLike());
  const edit = (f: (specs: any[]) => void) => {
    const weightSpecs = structuredClone(a.weightSpecs) as any[];
    f(weightSpecs);
    return () => fromTfjsArtifacts({ ...a, weightSpecs });
  };
  t.throws(
    edit((s) => s[0].shape.reverse()),
    { instanceOf: RangeError, message: /weightSpecs\[0\]\.shape must be \[3,6\] for simple_rnn\/kernel.*got \[6,3\]/ }
  );
  t.throws(
    edit((s) => (s[2].shape = [-6])),
    { instanceOf: RangeError, message: /weightSpecs\[2\]\.shape\[0\] must be an integer in \[0,/ }
  );
  t.throws(
    edit((s) => (s[3].quantization = { dtype: 'uint8' })),
    { instanceOf: RangeError, message: /weightSpecs\[3\]\.quantization must be absent/ }
  );
  t.throws(
    edit((s) => (s[4].dtype = 'float16')),
    { instanceOf: RangeError, message: /weightSpecs\[4\]\.dtype must be 'float32'/ }
  );
  const huge = structuredClone(a.modelTopology) as any;
  huge.config.layers[0].config.units = 16384;
  t.throws(() => fromTfjsArtifacts({ ...a, modelTopology: huge }), {
    instanceOf: RangeError,
    message: /shape must be \[3,16384\]/,
  });
  t.throws(() => fromTfjsArtifacts({ ...a, weightData: a.weightData.slice(0, a.weightData.byteLength - 4) }), {
    instanceOf: RangeError,
    message: /weightData must be \d+ bytes.*truncated/,
  });
});

test('issue 15 D12/D14: loadTfjsModel refuses a non-regular weights.bin, names a bad manifest field', async (t) => {
  const dir = path.join(tmp, 'bad');
  await saveTfjsModel(dir, trainedLike());
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  fs.rmSync(path.join(dir, 'weights.bin'));
  fs.symlinkSync('/dev/zero', path.join(dir, 'weights.bin'));
  await t.throwsAsync(loadTfjsModel(path.join(dir, 'model.json')), {
    instanceOf: FileFormatError,
    message: /weights\.bin must be a regular file, it is a character device/,
  });
  fs.writeFileSync(path.join(dir, 'null.json'), JSON.stringify({ ...json, weightsManifest: [null] }));
  await t.throwsAsync(loadTfjsModel(path.join(dir, 'null.json')), {
    instanceOf: FileFormatError,
    message: /null\.json: weightsManifest\[0\] must be an object/,
  });
});
