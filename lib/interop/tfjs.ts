/**
 * TensorFlow.js LayersModel interop: an RNN is a Sequential [SimpleRNN(h, tanh), Dense(K, linear)].
 * Keras/tfjs compute x·kernel (row vectors) where this library computes U·x, so
 * SimpleRNN kernel [d, h] = Uᵀ, recurrent_kernel [h, h] = Wᵀ, bias [h] = b; Dense kernel [h, K] = Vᵀ, bias [K] = c.
 * No dependency on tfjs: the files are written and read as plain JSON and float32 bytes.
 * Importing checks the layers' sizes against every weight spec's full shape, and the specs
 * against the weight files' sizes, before it allocates anything for the weights.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { invalidRange, invalidType } from '../errors';
import { FileFormatError } from '../file-error';
import { RNN, type RNNWeights } from '../rnn';
import { type UntrustedFile, openUntrustedFile, readUntrustedFile } from '../untrusted-file';
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

const RNN_LAYER = 'simple_rnn',
  DENSE_LAYER = 'dense';

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}

export function toTfjsArtifacts(model: RNN, options: TfjsExportOptions = {}): TfjsArtifacts {
  if (!(model instanceof RNN)) throw invalidType('model', 'an RNN', model);
  checkOptionalObject('options', options);
  const every =
    (options.outputs === undefined
      ? 'last'
      : checkChoice('options.outputs', options.outputs, ['last', 'every'] as const)) === 'every';
  const T =
    options.sequenceLength === undefined ? null : checkInteger('options.sequenceLength', options.sequenceLength, 1);
  const { inputSize: d, hiddenSize: h, outputSize: K } = model;
  const modelTopology = {
    class_name: 'Sequential',
    config: {
      name: 'admmirnn',
      layers: [
        {
          class_name: 'SimpleRNN',
          config: {
            name: RNN_LAYER,
            trainable: true,
            batch_input_shape: [null, T, d],
            dtype: 'float32',
            units: h,
            activation: 'tanh',
            use_bias: true,
            return_sequences: every,
            return_state: false,
            go_backwards: false,
            stateful: false,
            unroll: false,
          },
        },
        {
          class_name: 'Dense',
          config: { name: DENSE_LAYER, trainable: true, units: K, activation: 'linear', use_bias: true },
        },
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
  return {
    modelTopology,
    weightSpecs: weights.map(([name, shape]) => ({ name, shape, dtype: 'float32' })),
    weightData: bytes.buffer,
  };
}

/** Largest model.json read (ours is about 1.5 KB; the bound keeps JSON.parse's cost in proportion). */
export const MAX_TFJS_MODEL_JSON_BYTES = 16 << 20;
/** Most weight files a manifest may list (tfjs shards at 4 MB: 4096 shards hold 16 GB). */
export const MAX_TFJS_WEIGHT_FILES = 4096;

type LayerConfig = Record<string, unknown>;
/** Our weight ← its tfjs layer, weight name and shape (rows, columns of the tfjs layout). */
interface WeightPlace {
  layer: LayerConfig;
  weight: string;
  shape: number[];
}
/** Where each of our weights is in the weight data, once the specs have been checked. */
interface ImportPlan {
  sizes: { inputSize: number; hiddenSize: number; outputSize: number };
  /** Byte offset of every spec in the concatenated weight data, and the total at the end. */
  offsets: number[];
  weights: Record<keyof RNNWeights, { spec: number; name: string; shape: number[] }>;
}

/** The d a layer declares through its input shape ([batch, T, d]), if it declares one. */
function declaredInputSize(where: string, config: LayerConfig): number | undefined {
  const key = ['batch_input_shape', 'batchInputShape', 'batch_shape'].find((k) => config[k] != null);
  if (key === undefined) return undefined;
  const shape = config[key];
  if (!Array.isArray(shape) || shape.length !== 3)
    throw invalidRange(`${where}.${key}`, 'an input shape [batch, steps, features]', shape);
  return checkInteger(`${where}.${key}[2]`, shape[2], 1, 1 << 24);
}

/**
 * Checks the topology (Sequential [optional InputLayer, SimpleRNN(tanh, bias), Dense(linear, bias)])
 * and every weight spec (name, full shape, float32, not quantised), the sizes against one another,
 * before anything is allocated for the weights. `specAt(i)` names spec i in messages.
 */
function planImport(
  topologyName: string,
  topology: unknown,
  specs: readonly unknown[],
  specAt: (i: number) => string
): ImportPlan {
  checkObject(topologyName, topology);
  // model.json files from Keras nest the topology under "model_config".
  const nested = topology.class_name === undefined && topology.model_config !== undefined;
  const seqName = nested ? `${topologyName}.model_config` : topologyName;
  const seq = nested ? topology.model_config : topology;
  checkObject(seqName, seq);
  if (seq.class_name !== 'Sequential') throw invalidRange(`${seqName}.class_name`, "'Sequential'", seq.class_name);
  checkObject(`${seqName}.config`, seq.config);
  const layersName = `${seqName}.config.layers`,
    layers = seq.config.layers;
  if (!Array.isArray(layers)) throw invalidType(layersName, 'an array', layers);
  let inputSize: number | undefined;
  const kept: { where: string; config: LayerConfig; kind: unknown }[] = [];
  for (let i = 0; i < layers.length; i++) {
    const where = `${layersName}[${i}]`;
    checkObject(where, layers[i]);
    checkObject(`${where}.config`, layers[i].config);
    const config = layers[i].config as LayerConfig;
    if (layers[i].class_name === 'InputLayer') {
      if (i !== 0) throw invalidRange(`${where}.class_name`, 'InputLayer only as the first layer');
      inputSize = declaredInputSize(`${where}.config`, config);
    } else kept.push({ where, config, kind: layers[i].class_name });
  }
  if (kept.length !== 2 || kept[0].kind !== 'SimpleRNN' || kept[1].kind !== 'Dense')
    throw invalidRange(
      layersName,
      `layers [SimpleRNN, Dense] (after an optional InputLayer), got [${kept.map((l) => l.kind)}]`
    );
  const [{ where: rnnAt, config: rnn }, { where: denseAt, config: dense }] = kept;
  for (const [at, config] of [
    [rnnAt, rnn],
    [denseAt, dense],
  ] as const)
    if (typeof config.name !== 'string')
      throw invalidType(`${at}.config.name`, 'a string (weight names start with it)', config.name);
  if (rnn.activation !== 'tanh' || rnn.use_bias === false || rnn.go_backwards === true || rnn.stateful === true)
    throw invalidRange(`SimpleRNN config (${rnnAt}.config)`, 'activation tanh with bias, forward, not stateful');
  if ((dense.activation ?? 'linear') !== 'linear' || dense.use_bias === false)
    throw invalidRange(`Dense config (${denseAt}.config)`, 'activation linear with bias');
  const h = checkInteger(`SimpleRNN units (${rnnAt}.config.units)`, rnn.units, 1, 1 << 14);
  const K = checkInteger(`Dense units (${denseAt}.config.units)`, dense.units, 1, 1 << 20);
  const ownInputSize = declaredInputSize(`${rnnAt}.config`, rnn);
  if (inputSize !== undefined && ownInputSize !== undefined && inputSize !== ownInputSize)
    throw invalidRange(`${rnnAt}.config input shape`, `the InputLayer's ${inputSize} features`, ownInputSize);
  inputSize ??= ownInputSize;

  // Every spec: an object with a name, a shape of integers, float32, not quantised.
  const offsets = new Array<number>(specs.length + 1);
  offsets[0] = 0;
  const byName = new Map<string, number>();
  for (let i = 0; i < specs.length; i++) {
    const at = specAt(i),
      spec = specs[i];
    checkObject(at, spec);
    if (typeof spec.name !== 'string') throw invalidType(`${at}.name`, 'a string', spec.name);
    if (byName.has(spec.name))
      throw invalidRange(`${at}.name`, `unique (it is also spec ${byName.get(spec.name)})`, spec.name);
    byName.set(spec.name, i);
    if (spec.dtype !== 'float32') throw invalidRange(`${at}.dtype`, "'float32' (the only dtype supported)", spec.dtype);
    if (spec.quantization !== undefined)
      throw invalidRange(
        `${at}.quantization`,
        'absent: quantised weights are not supported (convert without quantisation)'
      );
    if (!Array.isArray(spec.shape)) throw invalidType(`${at}.shape`, 'an array of integers', spec.shape);
    let count = 1;
    for (let j = 0; j < spec.shape.length; j++) count *= checkInteger(`${at}.shape[${j}]`, spec.shape[j], 0);
    offsets[i + 1] = offsets[i] + count * 4;
    if (!Number.isSafeInteger(offsets[i + 1]))
      throw invalidRange(`${at}.shape`, 'a size below 2^53 bytes in all', spec.shape);
  }
  const find = ({ layer, weight }: WeightPlace): number => {
    const full = `${layer.name}/${weight}`;
    const matches: number[] = [];
    for (const [k, i] of byName) {
      const nested = k.startsWith(`${layer.name}/`) && k.endsWith(`/${weight}`); // Keras: layer/cell/weight
      if (k === full || k.endsWith(`/${full}`) || nested) matches.push(i);
    }
    if (matches.length !== 1) {
      const which = matches.length ? ` (${matches.map((i) => specAt(i))})` : '';
      throw invalidRange(specAt(-1), `one weight ${full}, found ${matches.length}${which}`);
    }
    return matches[0];
  };
  const d = inputSize;
  const places: Record<keyof RNNWeights, WeightPlace> = {
    U: { layer: rnn, weight: 'kernel', shape: [d ?? NaN, h] },
    W: { layer: rnn, weight: 'recurrent_kernel', shape: [h, h] },
    b: { layer: rnn, weight: 'bias', shape: [h] },
    V: { layer: dense, weight: 'kernel', shape: [h, K] },
    c: { layer: dense, weight: 'bias', shape: [K] },
  };
  const weights = {} as ImportPlan['weights'];
  const used = new Set<number>();
  for (const key of Object.keys(places) as (keyof RNNWeights)[]) {
    const place = places[key],
      i = find(place);
    const shape = (specs[i] as { shape: number[] }).shape;
    // Without a declared input shape, d is the kernel's first dimension (checked like the rest).
    if (key === 'U' && d === undefined)
      place.shape[0] = checkInteger(`${specAt(i)}.shape[0] (the input size)`, shape[0], 1, 1 << 24);
    if (shape.length !== place.shape.length || shape.some((n, j) => n !== place.shape[j]))
      throw invalidRange(
        `${specAt(i)}.shape`,
        `[${place.shape}] for ${place.layer.name}/${place.weight} ` +
          `(d = ${places.U.shape[0]}, h = ${h}, K = ${K}), got [${shape}]`
      );
    weights[key] = { spec: i, name: (specs[i] as { name: string }).name, shape: place.shape };
    used.add(i);
  }
  if (used.size !== specs.length) {
    const extra = specs.findIndex((_, i) => !used.has(i));
    const name = (specs[extra] as { name: string }).name;
    throw invalidRange(specAt(extra), 'one of the 5 weights of [SimpleRNN, Dense]', name);
  }
  return { sizes: { inputSize: places.U.shape[0], hiddenSize: h, outputSize: K }, offsets, weights };
}

/** Our weight from its tfjs layout `shape` ([rows, cols]: the transpose of ours), checked finite. */
function fromTfjsLayout(name: string, tfjs: Float32Array, shape: number[]): Float32Array {
  for (let i = 0; i < tfjs.length; i++)
    if (!Number.isFinite(tfjs[i])) throw invalidRange(`weight ${name}`, `finite numbers — element ${i} is ${tfjs[i]}`);
  return shape.length === 2 ? transpose(tfjs, shape[0], shape[1]) : tfjs.slice();
}

/** Reads a Sequential [optional InputLayer, SimpleRNN(tanh, bias), Dense(linear, bias)] back into an RNN. */
export function fromTfjsArtifacts(artifacts: TfjsArtifacts): RNN {
  checkObject('artifacts', artifacts);
  if (!Array.isArray(artifacts.weightSpecs))
    throw invalidType('artifacts.weightSpecs', 'an array', artifacts.weightSpecs);
  if (!(artifacts.weightData instanceof ArrayBuffer))
    throw invalidType('artifacts.weightData', 'an ArrayBuffer', artifacts.weightData);
  const specs = artifacts.weightSpecs;
  const plan = planImport('artifacts.modelTopology', artifacts.modelTopology, specs, (i) =>
    i < 0 ? 'artifacts.weightSpecs' : `artifacts.weightSpecs[${i}]`
  );
  const total = plan.offsets[specs.length],
    actual = artifacts.weightData.byteLength;
  if (actual !== total)
    throw invalidRange(
      'artifacts.weightData',
      `${total} bytes, the sum of the weight specs (${actual < total ? 'truncated' : 'trailing bytes'})`,
      actual
    );
  const weights = {} as RNNWeights;
  for (const key of Object.keys(plan.weights) as (keyof RNNWeights)[]) {
    const { spec, name, shape } = plan.weights[key];
    const count = (plan.offsets[spec + 1] - plan.offsets[spec]) / 4;
    weights[key] = fromTfjsLayout(name, new Float32Array(artifacts.weightData, plan.offsets[spec], count), shape);
  }
  return RNN.withWeights(plan.sizes, weights);
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

interface WeightFile {
  path: string;
  /** Where its bytes start in the concatenated weight data. */
  start: number;
  size: number;
}

/** Fills `target` from the concatenated weight data at `offset`, across files if it spans several. */
async function readSpan(files: WeightFile[], offset: number, target: Uint8Array): Promise<void> {
  for (const f of files) {
    const from = Math.max(offset, f.start),
      to = Math.min(offset + target.byteLength, f.start + f.size);
    if (from >= to) continue;
    const opened: UntrustedFile = await openUntrustedFile(f.path, 'tfjs weights file');
    try {
      await opened.readInto(target.subarray(from - offset, to - offset), from - f.start);
    } finally {
      await opened.close();
    }
  }
}

/**
 * Reads a tfjs LayersModel from model.json and the weight files it lists (relative paths inside
 * its directory). Both are read as untrusted: regular files only, model.json at most
 * MAX_TFJS_MODEL_JSON_BYTES, the layer sizes checked against the specs and each manifest group's
 * files against its specs' bytes before the weights are read. Problems are FileFormatErrors
 * naming the file and the field.
 */
export async function loadTfjsModel(modelJsonPath: string): Promise<RNN> {
  if (typeof modelJsonPath !== 'string' || modelJsonPath === '')
    throw invalidType('modelJsonPath', 'a non-empty string', modelJsonPath);
  const file = modelJsonPath;
  try {
    return await loadTfjsFiles(file);
  } catch (e) {
    if ((e instanceof TypeError || e instanceof RangeError) && !(e instanceof FileFormatError))
      throw new FileFormatError(file, e.message);
    throw e;
  }
}

async function loadTfjsFiles(file: string): Promise<RNN> {
  const bytes = await readUntrustedFile(file, 'tfjs model.json', { maxBytes: MAX_TFJS_MODEL_JSON_BYTES });
  const text = bytes.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw invalidRange(file, `JSON (${(e as Error).message})`);
  }
  checkObject(`${file}: the document`, json);
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) throw invalidType(`${file}: weightsManifest`, 'an array of weight groups', manifest);
  const specs: unknown[] = [],
    groupOf: number[] = [],
    firstOfGroup: number[] = [];
  const paths: string[][] = [];
  let fileCount = 0;
  for (let g = 0; g < manifest.length; g++) {
    const at = `${file}: weightsManifest[${g}]`,
      group = manifest[g];
    checkObject(at, group);
    if (!Array.isArray(group.paths)) throw invalidType(`${at}.paths`, 'an array of file names', group.paths);
    if (!Array.isArray(group.weights)) throw invalidType(`${at}.weights`, 'an array of weight specs', group.weights);
    if ((fileCount += group.paths.length) > MAX_TFJS_WEIGHT_FILES)
      throw invalidRange(`${file}: weightsManifest`, `at most ${MAX_TFJS_WEIGHT_FILES} weight files in all`);
    for (let j = 0; j < group.paths.length; j++) {
      const p = group.paths[j];
      if (typeof p !== 'string' || p === '') throw invalidType(`${at}.paths[${j}]`, 'a file name', p);
      if (path.isAbsolute(p) || p.split(/[\\/]/).includes('..'))
        throw invalidRange(`${at}.paths[${j}]`, 'a relative path inside the model directory', p);
    }
    paths.push(group.paths as string[]);
    firstOfGroup.push(specs.length);
    for (let j = 0; j < group.weights.length; j++) {
      specs.push(group.weights[j]);
      groupOf.push(g);
    }
  }
  firstOfGroup.push(specs.length);
  const specAt = (i: number) =>
    i < 0
      ? `${file}: weightsManifest`
      : `${file}: weightsManifest[${groupOf[i]}].weights[${i - firstOfGroup[groupOf[i]]}]`;
  const plan = planImport(`${file}: modelTopology`, json.modelTopology, specs, specAt);

  // Each group's files hold exactly its specs' bytes: sizes from fstat, nothing read yet.
  const dir = path.dirname(file);
  const files: WeightFile[] = [];
  for (let g = 0; g < paths.length; g++) {
    const expected = plan.offsets[firstOfGroup[g + 1]] - plan.offsets[firstOfGroup[g]];
    let start = plan.offsets[firstOfGroup[g]],
      held = 0;
    for (const [j, p] of paths[g].entries()) {
      const weightsFile = path.join(dir, p);
      const opened = await openUntrustedFile(weightsFile, 'tfjs weights file').catch((e: NodeJS.ErrnoException) => {
        // A manifest naming a file that is not there (or cannot be opened) is a bad model.
        if (typeof e?.code !== 'string') throw e;
        throw new FileFormatError(
          file,
          `${file}: weightsManifest[${g}].paths[${j}] names ${weightsFile}, which cannot be opened (${e.code})`
        );
      });
      await opened.close();
      files.push({ path: opened.path, start, size: opened.size });
      start += opened.size;
      held += opened.size;
    }
    if (held !== expected) {
      const one = paths[g].length === 1 ? files[files.length - 1].path : undefined;
      const what = one ?? `the files of ${file}: weightsManifest[${g}].paths`;
      throw new FileFormatError(
        one ?? file,
        `${what} must hold ${expected} bytes, the sum of the weight specs of ` +
          `weightsManifest[${g}] (${held < expected ? 'truncated' : 'trailing bytes'}), got ${held}`
      );
    }
  }
  const weights = {} as RNNWeights;
  for (const key of Object.keys(plan.weights) as (keyof RNNWeights)[]) {
    const { spec, name, shape } = plan.weights[key];
    const tfjs = new Float32Array((plan.offsets[spec + 1] - plan.offsets[spec]) / 4);
    await readSpan(files, plan.offsets[spec], new Uint8Array(tfjs.buffer));
    weights[key] = fromTfjsLayout(name, tfjs, shape);
  }
  return RNN.withWeights(plan.sizes, weights);
}
