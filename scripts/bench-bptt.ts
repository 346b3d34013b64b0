/**
 * Time per epoch of BPTT + Adam on mnist10k (h = 128, batch 128, Keras-style orthogonal init),
 * ours next to PyTorch CPU (scripts/bench_bptt_peer.py, torch.set_num_threads(2)) on the same
 * data and initial weights, in one invocation. Epoch times include the training-set forward
 * pass that fills each record's loss (the peer does the same). The ratio uses median epoch
 * times, which a shared machine's load disturbs less than means.
 *
 *   node dist/scripts/bench-bptt.js [epochs = 10]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BpttTrainer, RNN, getThreads, loadMnist10k } from '../lib/index';

const H = 128, BATCH = 128, SEED = 0;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const fmt = (values: number[]) => values.map((v) => v.toFixed(2)).join(' ');

function writeRaw(dir: string, name: string, data: Float32Array | Int32Array): void {
  fs.writeFileSync(path.join(dir, name), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

async function main(): Promise<void> {
  const epochs = Number(process.argv[2] ?? 10);
  if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError(`epochs must be a positive integer, got ${process.argv[2]}`);
  const { train, test } = loadMnist10k();
  const T = train.sequenceLength, d = 28, K = 10;
  const model = new RNN({ inputSize: d, hiddenSize: H, outputSize: K, init: { scheme: 'orthogonal', seed: SEED } });

  // The peer reads the same data and initial weights as raw float32 / int32 files.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-bptt-'));
  writeRaw(dir, 'train_x.f32', train.inputs as Float32Array);
  writeRaw(dir, 'train_y.i32', train.targets as Int32Array);
  writeRaw(dir, 'test_x.f32', test.inputs as Float32Array);
  writeRaw(dir, 'test_y.i32', test.targets as Int32Array);
  for (const [name, w] of Object.entries(model.weights())) writeRaw(dir, `${name}.f32`, w);
  const nTrain = (train.targets as Int32Array).length, nTest = (test.targets as Int32Array).length;
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ nTrain, nTest, T, d, h: H, K }));

  console.log(`mnist10k: ${nTrain} train / ${nTest} test, T = ${T}, d = ${d}, h = ${H}, K = ${K}, batch ${BATCH}, Adam lr 1e-3, ${epochs} epochs`);
  console.log(`ours: threads ${JSON.stringify(getThreads())}`);
  const trainer = new BpttTrainer(model, { batchSize: BATCH, seed: SEED, optimizer: { kind: 'adam' } });
  const result = await trainer.fit(train, { maxIterations: epochs });
  if (result.status !== 'max-iterations') throw new Error(`our fit ended early: ${result.status}: ${result.message}`);
  const ours = result.history.map((r) => r.seconds);
  const ourTest = model.evaluate(test);
  console.log(`ours    epoch seconds: ${fmt(ours)}`);
  console.log(`ours    train loss:    ${fmt(result.history.map((r) => r.loss))}`);
  console.log(`ours    test accuracy after ${epochs} epochs: ${ourTest.accuracy.toFixed(4)}`);

  const peer = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', '..', 'scripts', 'bench_bptt_peer.py'), dir, String(epochs), String(BATCH), String(SEED)], {
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
    encoding: 'utf8',
  });
  fs.rmSync(dir, { recursive: true, force: true });
  if (peer.status !== 0) throw new Error(`PyTorch peer failed (is python3-torch installed?):\n${peer.stderr}`);
  const torch = JSON.parse(peer.stdout.trim().split('\n').pop() as string) as { seconds: number[]; losses: number[]; testAccuracy: number; torch: string; threads: number };
  console.log(`pytorch ${torch.torch} (${torch.threads} threads) epoch seconds: ${fmt(torch.seconds)}`);
  console.log(`pytorch train loss:    ${fmt(torch.losses)}`);
  console.log(`pytorch test accuracy after ${epochs} epochs: ${torch.testAccuracy.toFixed(4)}`);
  console.log(`epoch seconds median / mean: ours ${median(ours).toFixed(3)} / ${mean(ours).toFixed(3)}, pytorch ${median(torch.seconds).toFixed(3)} / ${mean(torch.seconds).toFixed(3)}`);
  console.log(`epoch seconds ratio (ours/pytorch): ${(median(ours) / median(torch.seconds)).toFixed(2)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
