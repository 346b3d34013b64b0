/**
 * The TensorFlow.js peer of the BPTT benchmark: the same model (SimpleRNN tanh, h = 128, dense
 * readout), batch 128, Adam lr 1e-3, on @tensorflow/tfjs's pure-JS CPU backend (single-threaded:
 * there is no native binding in the devDependencies). A full epoch takes minutes there, so a few
 * batches are timed after a warm-up one and the epoch is extrapolated (batches per epoch × best
 * seconds per batch, plus nothing for the loss pass: this favours tfjs).
 */
import * as tf from '@tensorflow/tfjs';
import { loadMnist10k } from '../../lib';
import { BATCH, H } from './bptt-pytorch';

export interface TfjsEpoch {
  backend: string;
  version: string;
  batchesTimed: number;
  secondsPerBatch: number;
  epochSeconds: number;
}

export async function measureTfjsEpoch(batches: number): Promise<TfjsEpoch> {
  await tf.setBackend('cpu');
  await tf.ready();
  const { train } = loadMnist10k();
  const T = train.sequenceLength,
    d = 28,
    K = 10,
    N = (train.targets as Int32Array).length;
  const model = tf.sequential({
    layers: [tf.layers.simpleRNN({ units: H, activation: 'tanh', inputShape: [T, d] }), tf.layers.dense({ units: K })],
  });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: tf.losses.softmaxCrossEntropy });
  const x = tf.tensor3d(train.inputs as Float32Array, [N, T, d]);
  const y = tf.oneHot(tf.tensor1d(train.targets as Int32Array, 'int32'), K).toFloat();
  let best = Infinity;
  for (let i = 0; i <= batches; i++) {
    const xb = x.slice([i * BATCH, 0, 0], [BATCH, T, d]),
      yb = y.slice([i * BATCH, 0], [BATCH, K]);
    const t = performance.now();
    const loss = await model.trainOnBatch(xb, yb);
    if (i > 0) best = Math.min(best, (performance.now() - t) / 1000); // batch 0 warms up
    void loss;
    tf.dispose([xb, yb]);
  }
  tf.dispose([x, y]);
  model.dispose();
  return {
    backend: tf.getBackend(),
    version: tf.version.tfjs,
    batchesTimed: batches,
    secondsPerBatch: best,
    epochSeconds: best * Math.ceil(N / BATCH),
  };
}
