/**
 * BPTT + Adam epochs on mnist10k (h = 128, batch 128, Keras-style orthogonal init): ours, then
 * PyTorch CPU (scripts/bench_bptt_peer.py) on the same data and initial weights, in one
 * invocation. Both sides time the training loop alone (shuffle, mini-batch gradients, Adam
 * steps), not the training-set loss pass each record also reports. PyTorch runs in every
 * configuration of PEER_CONFIGS and the fastest (by median epoch) is the one compared.
 * Shared by scripts/bench-bptt.ts and npm run bench.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BpttTrainer, RNN, getThreads, loadMnist10k } from '../../lib/index';

export const H = 128,
  BATCH = 128,
  SEED = 0;

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function writeRaw(dir: string, name: string, data: Float32Array | Int32Array): void {
  fs.writeFileSync(path.join(dir, name), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

/** PyTorch's settings tried: intra-op threads (OPENBLAS_NUM_THREADS=1 always) and Adam's foreach path. */
const PEER_CONFIGS = [
  { threads: 2, foreach: false },
  { threads: 2, foreach: true },
  { threads: 1, foreach: false },
  { threads: 1, foreach: true },
];

export interface PeerRun {
  /** Seconds of each epoch's training loop. */
  seconds: number[];
  losses: number[];
  testAccuracy: number;
  torch: string;
  threads: number;
  foreach: boolean;
}

export interface BpttPair {
  nTrain: number;
  threads: ReturnType<typeof getThreads>;
  /** `seconds`: each epoch's training loop; `epochSeconds`: the whole epoch, with the loss pass. */
  ours: { seconds: number[]; epochSeconds: number[]; losses: number[]; testAccuracy: number };
  /** The fastest of `peers`. */
  torch: PeerRun;
  peers: PeerRun[];
}

function runPeer(dir: string, epochs: number, config: (typeof PEER_CONFIGS)[number]): PeerRun {
  // dist/scripts/bench/ → the package root is three levels up.
  const script = path.join(__dirname, '..', '..', '..', 'scripts', 'bench_bptt_peer.py');
  const args = [
    script,
    dir,
    String(epochs),
    String(BATCH),
    String(SEED),
    String(config.threads),
    config.foreach ? '1' : '0',
  ];
  const peer = spawnSync('/usr/bin/python3', args, {
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
    encoding: 'utf8',
  });
  if (peer.status !== 0) throw new Error(`PyTorch peer failed (is python3-torch installed?):\n${peer.stderr}`);
  return JSON.parse(peer.stdout.trim().split('\n').pop() as string) as PeerRun;
}

export async function runBpttPair(epochs: number): Promise<BpttPair> {
  const { train, test } = loadMnist10k();
  const T = train.sequenceLength,
    d = 28,
    K = 10;
  const model = new RNN({ inputSize: d, hiddenSize: H, outputSize: K, init: { scheme: 'orthogonal', seed: SEED } });

  // The peer reads the same data and initial weights as raw float32 / int32 files.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-bptt-'));
  writeRaw(dir, 'train_x.f32', train.inputs as Float32Array);
  writeRaw(dir, 'train_y.i32', train.targets as Int32Array);
  writeRaw(dir, 'test_x.f32', test.inputs as Float32Array);
  writeRaw(dir, 'test_y.i32', test.targets as Int32Array);
  for (const [name, w] of Object.entries(model.weights())) writeRaw(dir, `${name}.f32`, w);
  const nTrain = (train.targets as Int32Array).length,
    nTest = (test.targets as Int32Array).length;
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ nTrain, nTest, T, d, h: H, K }));

  const trainer = new BpttTrainer(model, { batchSize: BATCH, seed: SEED, optimizer: { kind: 'adam' } });
  const result = await trainer.fit(train, { maxIterations: epochs });
  if (result.status !== 'max-iterations') throw new Error(`our fit ended early: ${result.status}: ${result.message}`);
  const ours = {
    seconds: result.history.map((r) => r.trainSeconds),
    epochSeconds: result.history.map((r) => r.seconds),
    losses: result.history.map((r) => r.loss),
    testAccuracy: model.evaluate(test).accuracy,
  };
  try {
    const peers = PEER_CONFIGS.map((config) => runPeer(dir, epochs, config));
    const torch = peers.reduce((best, p) => (median(p.seconds) < median(best.seconds) ? p : best));
    return { nTrain, threads: getThreads(), ours, torch, peers };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
