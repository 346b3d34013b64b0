/**
 * TensorFlow.js LayersModel interop: an RNN is a Sequential [SimpleRNN(h, tanh), Dense(K, linear)].
 * Keras/tfjs compute x·kernel (row vectors) where this library computes U·x, so
 * SimpleRNN kernel [d, h] = Uᵀ, recurrent_kernel [h, h] = Wᵀ, bias [h] = b; Dense kernel [h, K] = Vᵀ, bias [K] = c.
 * No dependency on tfjs: the files are written and read as plain JSON and float32 bytes.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { invalidRange, invalidType } from '../errors';
import { RNN } from '../rnn';
import { checkChoice, checkInteger, checkObject, checkOptionalObject } from '../validate';
import { writeFileAtomic } from '../checkpoint/atomic';

export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
}

/** The in-memory form of model.json + weights.bin (what tf.io.fromMemory takes). */
export interface TfjsArtifacts {
  modelTopology: Record<string, unknown>;
  weightSpecs: TfjsWeightSpec[];
  weightData: ArrayBuffer;
}

export interface TfjsExportOptions {
  /** Output of the last step ([N, K], default) or of every step ([N, T, K]: return_sequences). */
  outputs?: 'last' | 'every';
  /** Fixed T in the input shape; default null (any length). */
  sequenceLength?: number;
}

const RNN_LAYER = 'simple_rnn', DENSE_LAYER = 'dense';

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}

export function toTfjsArtifacts(model: RNN, options: TfjsExportOptions = {}): TfjsArtifacts {
  if (!(model instanceof RNN)) throw invalidType('model', 'an RNN', model);
  checkOptionalObject('options', options);
  const every = (options.outputs === undefined ? 'last' : checkChoice('options.outputs', options.outputs, ['last', 'every'] as const)) === 'every';
  const T = options.sequenceLength === undefined ? null : checkInteger('options.sequenceLength', options.sequenceLength, 1);
  const { inputSize: d, hiddenSize: h, outputSize: K } = model;
  const modelTopology = {
    class_name: 'Sequential',
    config: {
      name: 'admmirnn',
      layers: [
        { class_name: 'SimpleRNN', config: { name: RNN_LAYER, trainable: true, batch_input_shape: [null, T, d], dtype: 'float32', units: h, activation: 'tanh', use_bias: true, return_sequences: every, return_state: false, go_backwards: false, stateful: false, unroll: false } },
        { class_name: 'Dense', config: { name: DENSE_LAYER, trainable: true, units: K, activation: 'linear', use_bias: true } },
      ],
    },
    keras_version: 'tfjs-layers 4.22.0',
    backend: 'tensor_flow.js',
  };
  const weights: [string, number[], Float32Array][] = [
    [`${RNN_LAYER}/kernel`, [d, h], transpose(model.U, h, d)],
    [`${RNN_LAYER}/recurrent_kernel`, [h, h], transpose(model.W, h, h)],
    [`${RNN_LAYER}/bias`, [h], model.b],
    [`${DENSE_LAYER}/kernel`, [h, K], transpose(model.V, K, h)],
    [`${DENSE_LAYER}/bias`, [K], model.c],
  ];
  const bytes = new Uint8Array(weights.reduce((n, [, , a]) => n + a.byteLength, 0));
  let at = 0;
  for (const [, , a] of weights) {
    bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += a.byteLength;
  }
  return { modelTopology, weightSpecs: weights.map(([name, shape]) => ({ name, shape, dtype: 'float32' })), weightData: bytes.buffer };
}

/** Reads a Sequential [optional InputLayer, SimpleRNN(tanh, bias), Dense(linear, bias)] back into an RNN. */
export function fromTfjsArtifacts(artifacts: TfjsArtifacts): RNN {
  checkObject('artifacts', artifacts);
  checkObject('artifacts.modelTopology', artifacts.modelTopology);
  if (!Array.isArray(artifacts.weightSpecs)) throw invalidType('artifacts.weightSpecs', 'an array', artifacts.weightSpecs);
  if (!(artifacts.weightData instanceof ArrayBuffer)) throw invalidType('artifacts.weightData', 'an ArrayBuffer', artifacts.weightData);
  const top = artifacts.modelTopology as { class_name?: unknown; config?: { layers?: unknown } };
  // model.json files from Keras nest the topology under "model_config".
  const seq = (top.class_name === undefined && typeof (top as Record<string, unknown>).model_config === 'object' ? (top as Record<string, unknown>).model_config : top) as typeof top;
  if (seq.class_name !== 'Sequential' || !Array.isArray(seq.config?.layers)) throw invalidRange('artifacts.modelTopology', 'a Sequential model');
  const layers = (seq.config!.layers as { class_name: string; config: Record<string, unknown> }[]).filter((l) => l.class_name !== 'InputLayer');
  if (layers.length !== 2 || layers[0].class_name !== 'SimpleRNN' || layers[1].class_name !== 'Dense')
    throw invalidRange('artifacts.modelTopology', `layers [SimpleRNN, Dense], got [${layers.map((l) => l?.class_name)}]`);
  const [rnn, dense] = layers.map((l) => l.config);
  if (rnn.activation !== 'tanh' || rnn.use_bias === false || rnn.go_backwards === true || rnn.stateful === true)
    throw invalidRange('SimpleRNN config', 'activation tanh with bias, forward, not stateful');
  if ((dense.activation ?? 'linear') !== 'linear' || dense.use_bias === false) throw invalidRange('Dense config', 'activation linear with bias');

  const byName = new Map<string, Float32Array>();
  let at = 0;
  for (const [i, spec] of artifacts.weightSpecs.entries()) {
    if (spec?.dtype !== 'float32' && spec?.dtype !== undefined) throw invalidRange(`artifacts.weightSpecs[${i}].dtype`, "'float32'", spec?.dtype);
    const count = (spec.shape as number[]).reduce((a, b) => a * b, 1);
    if (at + count * 4 > artifacts.weightData.byteLength) throw invalidRange('artifacts.weightData', `at least ${at + count * 4} bytes (truncated?)`, artifacts.weightData.byteLength);
    byName.set(spec.name, new Float32Array(artifacts.weightData.slice(at, at + count * 4)));
    at += count * 4;
  }
  const get = (layer: Record<string, unknown>, weight: string, length: number): Float32Array => {
    const key = [...byName.keys()].find((k) => k === `${layer.name}/${weight}` || k.endsWith(`/${layer.name}/${weight}`) || (k.startsWith(`${layer.name}/`) && k.endsWith(`/${weight}`)));
    const w = key === undefined ? undefined : byName.get(key);
    if (!w) throw invalidRange('artifacts.weightSpecs', `a weight ${layer.name}/${weight}`);
    if (w.length !== length) throw invalidRange(`weight ${key}`, `${length} values`, w.length);
    return w;
  };
  const h = checkInteger('SimpleRNN units', rnn.units, 1);
  const K = checkInteger('Dense units', dense.units, 1);
  const shape = (rnn.batch_input_shape ?? rnn.batchInputShape) as unknown[] | undefined;
  const d = checkInteger('SimpleRNN input size (batch_input_shape[2])', shape?.[2], 1);
  const model = new RNN({ inputSize: d, hiddenSize: h, outputSize: K });
  model.setWeights({
    U: transpose(get(rnn, 'kernel', d * h), d, h),
    W: transpose(get(rnn, 'recurrent_kernel', h * h), h, h),
    b: get(rnn, 'bias', h),
    V: transpose(get(dense, 'kernel', h * K), h, K),
    c: get(dense, 'bias', K),
  });
  return model;
}

/** Writes `dir/model.json` and `dir/weights.bin` (each atomically). */
export async function saveTfjsModel(dir: string, model: RNN, options: TfjsExportOptions = {}): Promise<void> {
  if (typeof dir !== 'string' || dir === '') throw invalidType('dir', 'a non-empty string', dir);
  const a = toTfjsArtifacts(model, options);
  await fs.mkdir(dir, { recursive: true });
  await writeFileAtomic(path.join(dir, 'weights.bin'), [new Uint8Array(a.weightData)]);
  const json = {
    format: 'layers-model',
    generatedBy: 'admmirnn',
    convertedBy: null,
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
  };
  await writeFileAtomic(path.join(dir, 'model.json'), [Buffer.from(JSON.stringify(json, null, 1))]);
}

/** Reads a tfjs LayersModel from model.json and the weight files it lists (relative paths). */
export async function loadTfjsModel(modelJsonPath: string): Promise<RNN> {
  if (typeof modelJsonPath !== 'string' || modelJsonPath === '') throw invalidType('modelJsonPath', 'a non-empty string', modelJsonPath);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await fs.readFile(modelJsonPath, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code) throw e;
    throw invalidRange(modelJsonPath, `JSON (${(e as Error).message})`);
  }
  checkObject(modelJsonPath, json);
  const manifest = json.weightsManifest as { paths: string[]; weights: TfjsWeightSpec[] }[];
  if (!Array.isArray(manifest)) throw invalidRange(`${modelJsonPath}: weightsManifest`, 'an array');
  const dir = path.dirname(modelJsonPath);
  const buffers: Buffer[] = [];
  const specs: TfjsWeightSpec[] = [];
  for (const group of manifest) {
    for (const p of group.paths) {
      if (path.isAbsolute(p) || p.split(/[\\/]/).includes('..')) throw invalidRange(`${modelJsonPath}: weightsManifest path`, 'a relative path inside the model directory', p);
      buffers.push(await fs.readFile(path.join(dir, p)));
    }
    specs.push(...group.weights);
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return fromTfjsArtifacts({ modelTopology: json.modelTopology as Record<string, unknown>, weightSpecs: specs, weightData });
}
