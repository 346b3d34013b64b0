/**
 * Crafted TensorFlow.js models (model.json + weights.bin, ≤ 1 MB) for `loadTfjsModel` and
 * `import-tfjs` (issue 15: D4, D5, D9, D12, D14, D15 and the review's T cases). All are refused
 * with a FileFormatError naming the file, except those marked `valid`.
 */
import { RNN } from '../../lib/rnn';
import { toTfjsArtifacts } from '../../lib/interop/tfjs';
import type { FileCase } from './file-case';

const d = 3,
  h = 4,
  K = 2;

/** model.json (as an object, to edit) and weights.bin of a small exported model. */
function base(): { json: any; bin: Buffer } {
  const a = toTfjsArtifacts(new RNN({ inputSize: d, hiddenSize: h, outputSize: K, init: { seed: 1 } }));
  const weightsManifest = [{ paths: ['weights.bin'], weights: a.weightSpecs }];
  const json = { format: 'layers-model', modelTopology: a.modelTopology, weightsManifest };
  return { json: structuredClone(json), bin: Buffer.from(a.weightData) };
}

/** A case from an edit of the exported files (the edit may replace weights.bin). */
function edited(edit: (json: any, files: Record<string, Buffer>) => void) {
  return () => {
    const { json, bin } = base();
    const files: Record<string, Buffer> = { 'model.json': Buffer.alloc(0), 'weights.bin': bin };
    edit(json, files);
    if (files['model.json'].length === 0) files['model.json'] = Buffer.from(JSON.stringify(json));
    return files;
  };
}

const layers = (json: any) => json.modelTopology.config.layers;
const specs = (json: any) => json.weightsManifest[0].weights;
/** Moves the SimpleRNN's input shape to an InputLayer placed first (what tfjs and Keras write). */
function withInputLayer(json: any, key: string): void {
  const shape = layers(json)[0].config.batch_input_shape;
  delete layers(json)[0].config.batch_input_shape;
  layers(json).unshift({ class_name: 'InputLayer', config: { [key]: shape, dtype: 'float32', name: 'input1' } });
}

export const TFJS_CASES: FileCase[] = [
  {
    name: 'tfjs D5: InputLayer with batch_input_shape first',
    kind: 'tfjs',
    valid: true,
    files: edited((json) => withInputLayer(json, 'batch_input_shape')),
  },
  {
    name: 'tfjs D5: Keras 3 InputLayer with batch_shape',
    kind: 'tfjs',
    valid: true,
    files: edited((json) => withInputLayer(json, 'batch_shape')),
  },
  {
    name: 'tfjs D5: no input shape anywhere (d from the kernel spec)',
    kind: 'tfjs',
    valid: true,
    files: edited((json) => delete layers(json)[0].config.batch_input_shape),
  },
  {
    name: 'tfjs D5: InputLayer and SimpleRNN disagree on d',
    kind: 'tfjs',
    expect: /InputLayer's 3 features/,
    files: edited((json) => {
      withInputLayer(json, 'batch_input_shape');
      layers(json)[1].config.batch_input_shape = [null, null, 5];
    }),
  },
  {
    name: 'tfjs: InputLayer after the SimpleRNN',
    kind: 'tfjs',
    expect: /InputLayer only as the first layer/,
    files: edited((json) => {
      layers(json).splice(1, 0, { class_name: 'InputLayer', config: { batch_shape: [null, 2, d] } });
    }),
  },
  {
    name: 'tfjs D15: kernel declared [h, d] instead of [d, h]',
    kind: 'tfjs',
    expect: /weights\[0\]\.shape must be \[3,4\]/,
    files: edited((json) => specs(json)[0].shape.reverse()),
  },
  {
    name: 'tfjs D15: kernel [h, d] and no input shape',
    kind: 'tfjs',
    expect: /weights\[0\]\.shape must be \[4,4\]/,
    files: edited((json) => {
      delete layers(json)[0].config.batch_input_shape;
      specs(json)[0].shape.reverse();
    }),
  },
  {
    name: 'tfjs D15: a negative dimension (T16)',
    kind: 'tfjs',
    expect: /weights\[2\]\.shape\[0\] must be an integer/,
    files: edited((json) => (specs(json)[2].shape = [-4])),
  },
  {
    name: 'tfjs D15: a fractional dimension',
    kind: 'tfjs',
    expect: /weights\[1\]\.shape\[1\] must be an integer/,
    files: edited((json) => (specs(json)[1].shape = [4, 4.5])),
  },
  {
    name: 'tfjs D15: quantized weights (T18)',
    kind: 'tfjs',
    expect: /weights\[3\]\.quantization must be absent/,
    files: edited((json) => (specs(json)[3].quantization = { dtype: 'uint8', min: -1, scale: 0.01 })),
  },
  {
    name: 'tfjs D15: int32 dtype',
    kind: 'tfjs',
    expect: /weights\[4\]\.dtype must be 'float32'/,
    files: edited((json) => (specs(json)[4].dtype = 'int32')),
  },
  {
    name: 'tfjs D15: no dtype',
    kind: 'tfjs',
    expect: /weights\[4\]\.dtype must be 'float32'/,
    files: edited((json) => delete specs(json)[4].dtype),
  },
  {
    name: 'tfjs D15: recurrent kernel [h, h] swapped with the bias shape',
    kind: 'tfjs',
    expect: /shape must be \[4,4\]/,
    files: edited((json) => ([specs(json)[1].shape, specs(json)[2].shape] = [[16], [4, 1]])),
  },
  {
    name: 'tfjs D4: units 16384 with the small specs (T22)',
    kind: 'tfjs',
    expect: /weights\[0\]\.shape must be \[3,16384\]/,
    files: edited((json) => (layers(json)[0].config.units = 16384)),
  },
  {
    name: 'tfjs D4: units 16384 and specs to match, 3 KB of weights',
    kind: 'tfjs',
    expect: /weights\.bin must hold \d+ bytes.*truncated/,
    files: edited((json) => {
      const H = 16384;
      layers(json)[0].config.units = H;
      [[d, H], [H, H], [H], [H, K], [K]].forEach((s, i) => (specs(json)[i].shape = s));
    }),
  },
  {
    name: 'tfjs D4: Dense units 2^20 + 1',
    kind: 'tfjs',
    expect: /Dense units .* must be an integer in \[1, 1048576\]/,
    files: edited((json) => (layers(json)[1].config.units = 2 ** 20 + 1)),
  },
  {
    name: 'tfjs D12: weights.bin is a symlink to /dev/zero (T7)',
    kind: 'tfjs',
    expect: /weights\.bin must be a regular file, it is a character device/,
    files: edited((_, files) => delete files['weights.bin']),
    special: { 'weights.bin': 'dev-zero' },
  },
  {
    name: 'tfjs D12: weights.bin is a FIFO (T8)',
    kind: 'tfjs',
    expect: /weights\.bin must be a regular file, it is a FIFO/,
    files: edited((_, files) => delete files['weights.bin']),
    special: { 'weights.bin': 'fifo' },
  },
  {
    name: 'tfjs D12: weights.bin longer than the specs',
    kind: 'tfjs',
    expect: /weights\.bin must hold 168 bytes.*trailing bytes/,
    files: edited((_, files) => (files['weights.bin'] = Buffer.concat([files['weights.bin'], Buffer.alloc(4)]))),
  },
  {
    name: 'tfjs D12: weights.bin shorter than the specs',
    kind: 'tfjs',
    expect: /weights\.bin must hold 168 bytes.*truncated/,
    files: edited((_, files) => (files['weights.bin'] = files['weights.bin'].subarray(0, 20))),
  },
  {
    name: 'tfjs: a weight file that does not exist',
    kind: 'tfjs',
    expect: /paths\[0\].*missing\.bin/,
    files: edited((json) => (json.weightsManifest[0].paths = ['missing.bin'])),
  },
  {
    name: 'tfjs: a path out of the model directory',
    kind: 'tfjs',
    expect: /a relative path inside the model directory/,
    files: edited((json) => (json.weightsManifest[0].paths = ['../weights.bin'])),
  },
  {
    name: 'tfjs: 5,000 weight files listed',
    kind: 'tfjs',
    expect: /at most 4096 weight files/,
    files: edited((json) => (json.weightsManifest[0].paths = Array(5000).fill('weights.bin'))),
  },
  {
    name: 'tfjs D14: weightsManifest null',
    kind: 'tfjs',
    expect: /weightsManifest must be an array/,
    files: edited((json) => (json.weightsManifest = null)),
  },
  {
    name: "tfjs D14: a null weight group (T10: reading 'paths')",
    kind: 'tfjs',
    expect: /weightsManifest\[0\] must be an object/,
    files: edited((json) => (json.weightsManifest = [null])),
  },
  {
    name: 'tfjs D14: paths that are not strings',
    kind: 'tfjs',
    expect: /paths\[0\] must be a file name/,
    files: edited((json) => (json.weightsManifest[0].paths = [42])),
  },
  {
    name: 'tfjs D14: a spec shape that is a string (T16)',
    kind: 'tfjs',
    expect: /weights\[0\]\.shape must be an array/,
    files: edited((json) => (specs(json)[0].shape = '3,4')),
  },
  {
    name: 'tfjs D14: a null spec',
    kind: 'tfjs',
    expect: /weights\[2\] must be an object/,
    files: edited((json) => (specs(json)[2] = null)),
  },
  {
    name: 'tfjs D9: 300,000 weight specs (the spread overflowed the stack)',
    kind: 'tfjs',
    expect: /weights\[5\]\.name must be a string/,
    files: edited((json, files) => {
      files['model.json'] = Buffer.from(
        JSON.stringify(json).replace(
          /("weights":\[.*?\])(\}\])/,
          (_, w, end) => `${w.slice(0, -1)}${',{}'.repeat(300_000)}]${end}`
        )
      );
    }),
  },
  {
    name: 'tfjs: an extra weight spec',
    kind: 'tfjs',
    expect: /weights\[5\] must be one of the 5 weights/,
    files: edited((json, files) => {
      specs(json).push({ name: 'extra/w', shape: [1], dtype: 'float32' });
      files['weights.bin'] = Buffer.concat([files['weights.bin'], Buffer.alloc(4)]);
    }),
  },
  {
    name: 'tfjs: the Dense bias missing',
    kind: 'tfjs',
    expect: /one weight dense\/bias, found 0/,
    files: edited((json, files) => {
      specs(json).pop();
      files['weights.bin'] = files['weights.bin'].subarray(0, 120);
    }),
  },
  {
    name: 'tfjs: two specs of one name',
    kind: 'tfjs',
    expect: /unique/,
    files: edited((json) => (specs(json)[1].name = specs(json)[0].name)),
  },
  {
    name: 'tfjs: NaN in the recurrent kernel',
    kind: 'tfjs',
    expect: /simple_rnn\/recurrent_kernel must be finite/,
    files: edited((_, files) => files['weights.bin'].writeFloatLE(NaN, 4 * (d * h + 5))),
  },
  {
    name: 'tfjs: model.json is not JSON',
    kind: 'tfjs',
    expect: /must be JSON/,
    files: edited((_, files) => (files['model.json'] = Buffer.from('{"modelTopology": '))),
  },
  {
    name: 'tfjs: model.json is JSON null',
    kind: 'tfjs',
    expect: /document must be an object/,
    files: edited((_, files) => (files['model.json'] = Buffer.from('null'))),
  },
  {
    name: 'tfjs: layers is not an array',
    kind: 'tfjs',
    expect: /config\.layers must be an array/,
    files: edited((json) => (json.modelTopology.config.layers = { 0: 'SimpleRNN' })),
  },
  {
    name: 'tfjs: a null layer',
    kind: 'tfjs',
    expect: /layers\[1\] must be an object/,
    files: edited((json) => (layers(json)[1] = null)),
  },
  {
    name: 'tfjs: an LSTM',
    kind: 'tfjs',
    expect: /layers \[SimpleRNN, Dense\]/,
    files: edited((json) => (layers(json)[0].class_name = 'LSTM')),
  },
  {
    name: 'tfjs: a functional Model',
    kind: 'tfjs',
    expect: /class_name must be 'Sequential'/,
    files: edited((json) => (json.modelTopology.class_name = 'Model')),
  },
];
