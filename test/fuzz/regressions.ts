/**
 * Every crash and wrong error the fuzzer found, as a named case. Run in a child process
 * (`node regressions.js <case>`), since a regression may take the process down; prints
 * {"outcome": "ok" | "error", "name", "message", "code", "same"} on stdout.
 */
import { AdmmTrainer, RNN, Random, clipGradNorm, createOptimizer, globalNorm, setMemoryLimit } from '../../lib';
import { bpttNative, native } from '../../lib/native-entry';
import { busyKernel, writingWorker } from './disturb';

const N = 2,
  T = 3,
  d = 2,
  h = 3,
  K = 2;
const shape = { N, T, d, h, K, everyStep: false };
const fill = (n: number, seed: number) => {
  const r = new Random(seed);
  return Float32Array.from({ length: n }, () => r.normal());
};
const weights = () => ({ U: fill(h * d, 1), W: fill(h * h, 2), b: fill(h, 3), V: fill(K * h, 4), c: fill(K, 5) });
const ids = () => Int32Array.of(0, 1, 1, 0, 1, 0);
const forwardArgs = () => ({ shape, ids: ids(), ...weights(), O: new Float32Array(N * K) });
const lossArgs = () => ({
  shape,
  ids: ids(),
  ...weights(),
  loss: 'softmax-cross-entropy' as const,
  labels: Int32Array.of(1, 0),
  batch: Int32Array.of(1, 0),
  batchSize: 2,
});
const oStepArgs = () => ({
  shape,
  S: fill(N * T * h, 6),
  V: fill(K * h, 7),
  c: fill(K, 8),
  M3: fill(N * K, 9),
  O: fill(N * K, 10),
  rho3: 2,
  loss: 'softmax-cross-entropy' as const,
  labels: Int32Array.of(1, 0),
});
const aStepArgs = (bad: number) => ({
  n: 4,
  P: fill(4, 11),
  M1: fill(4, 12),
  S: Float32Array.of(0.1, bad, 0.2, 0.3),
  M2: fill(4, 13),
  A: fill(4, 14),
  TA: new Float32Array(4),
  rho1: 1,
  rho2: 5,
});

/** Sequences for a model with d = 8 (1 MB: freed with munmap, so a later read faults). */
const predictData = () => ({ inputs: fill(4096 * 8 * 8, 15), sequenceLength: 8 });
const predictModel = () => new RNN({ inputSize: 8, hiddenSize: 8, outputSize: 3 });

/** An options object whose getter for `trigger` first runs `sabotage`. */
function withGetter<T extends object>(args: T, trigger: string, sabotage: () => void): T {
  return new Proxy(args, {
    get: (o, k) => {
      if (k === trigger) sabotage();
      return (o as Record<string | symbol, unknown>)[k];
    },
  });
}

const clean = {
  forward: () => {
    const a = forwardArgs();
    native.forward(a);
    return Array.from(a.O);
  },
  loss: () => bpttNative.bpttLoss(lossArgs()).loss,
  oStep: () => {
    const a = oStepArgs();
    native.oStep(a);
    return Array.from(a.O);
  },
  predict: () => Array.from(predictModel().predict(predictData())),
};

/** Each case returns a value to compare with `clean[same]` when it succeeds. */
export const CASES: Record<string, { run: () => unknown; same?: keyof typeof clean }> = {
  'getter corrupts ids after their check (forward)': {
    run: () => {
      const a = forwardArgs();
      native.forward(withGetter(a, 'O', () => a.ids.fill(2 ** 31 - 1)));
      return Array.from(a.O);
    },
    same: 'forward',
  },
  'ids overwritten while forwardAsync runs': {
    run: async () => {
      const a = forwardArgs();
      const p = native.forwardAsync(a);
      a.ids.fill(2 ** 31 - 1);
      await p;
      return Array.from(a.O);
    },
    same: 'forward',
  },
  'batch overwritten while bpttLossAsync runs': {
    run: async () => {
      const a = lossArgs();
      const p = bpttNative.bpttLossAsync(a);
      a.batch.fill(-(2 ** 31));
      return (await p).loss;
    },
    same: 'loss',
  },
  'labels overwritten while oStepAsync runs': {
    run: async () => {
      const a = oStepArgs();
      const p = native.oStepAsync(a);
      a.labels.fill(2 ** 31 - 1);
      await p;
      return Array.from(a.O);
    },
    same: 'oStep',
  },
  'getter detaches c after its check (readout)': {
    run: () => {
      const a = { shape, S: fill(N * T * h, 1), V: fill(K * h, 2), c: fill(K, 3), out: new Float32Array(N * K) };
      native.readout(withGetter(a, 'out', () => structuredClone(a.c.buffer, { transfer: [a.c.buffer] })));
    },
  },
  // Issue 15, D1: the kernel read the transferred memory after the worker that owned it ended.
  'inputs transferred to a writing worker while predictAsync waits to run': {
    run: async () => {
      const data = predictData(),
        handOver = await writingWorker(1),
        busy = busyKernel(1024);
      const p = predictModel().predictAsync(data);
      await handOver(data.inputs);
      await busy;
      return Array.from(await p);
    },
    same: 'predict',
  },
  'output transferred while forwardAsync runs': {
    run: async () => {
      const a = forwardArgs(),
        p = native.forwardAsync(a);
      structuredClone(a.O.buffer, { transfer: [a.O.buffer] });
      await p;
    },
  },
  // Issue 15, D8: these allocated until the OOM killer came (the limit is set: machines differ).
  'RNN of 8 GiB under a 4 GiB memory limit': {
    run: () => {
      setMemoryLimit(2 ** 32);
      new RNN({ inputSize: 2 ** 24 - 200, hiddenSize: 127, outputSize: 2 });
    },
  },
  'persistent fit with N·T·h = 2^31 under a 16 GiB memory limit': {
    run: () => {
      setMemoryLimit(2 ** 34);
      const T = 64,
        N = 2 ** 22 / T;
      const inputs = new Int32Array(N * T).map((_, i) => i % 4),
        targets = new Int32Array(N).map((_, i) => i % 2);
      const trainer = new AdmmTrainer(new RNN({ inputSize: 4, hiddenSize: 512, outputSize: 2 }), {
        mode: 'persistent',
      });
      return trainer.fit({ inputs, targets, sequenceLength: T }, { maxIterations: 1 });
    },
  },
  'NaN state in aStep': { run: () => native.aStep(aStepArgs(NaN)) },
  'Infinity state in aStepAsync': { run: () => native.aStepAsync(aStepArgs(Infinity)) },
  'readout out aliases S': {
    run: () => {
      const S = fill(N * T * h, 1);
      native.readout({
        shape: { ...shape, h: 1, T: 1, K: 2, N: 1 },
        S: S.subarray(0, 1),
        V: fill(2, 2),
        c: fill(2, 3),
        out: S.subarray(0, 2),
      });
    },
  },
  'recurrentAffine out aliases XU': {
    run: () => {
      const XU = fill(N * T * h, 1);
      native.recurrentAffine({ shape, XU, S: fill(N * T * h, 2), W: fill(h * h, 3), out: XU });
    },
  },
  'oStep O aliases M3': {
    run: () => {
      const a = oStepArgs();
      native.oStep({ ...a, O: a.M3 });
    },
  },
  'sgemm C aliases A': {
    run: () => {
      const A = fill(4, 1);
      native.sgemm({ m: 2, n: 2, k: 2, A, B: fill(4, 2), C: A });
    },
  },
  'solveVc c overlaps V': {
    run: () => {
      const buf = fill(K * h + K, 1);
      native.solveVc({
        shape,
        S: fill(N * T * h, 2),
        O: fill(N * K, 3),
        M3: fill(N * K, 4),
        V: buf.subarray(0, K * h),
        c: buf.subarray(K * h - 1, K * h - 1 + K),
        rho3: 1,
      });
    },
  },
  'forward A overlaps x': {
    run: () => {
      const buf = fill(N * T * h + 1, 1);
      native.forward({
        shape: { ...shape, d: h },
        x: buf.subarray(0, N * T * h),
        ...weights(),
        U: fill(h * h, 2),
        A: buf.subarray(1),
        S: new Float32Array(N * T * h),
        O: new Float32Array(N * K),
      });
    },
  },
  'RNN.fromJSON with a fractional outputSize': {
    run: () => RNN.fromJSON({ ...new RNN({ inputSize: 1, hiddenSize: 1, outputSize: 1 }).toJSON(), outputSize: 1.5 }),
  },
  'RNN too large to allocate': { run: () => new RNN({ inputSize: 1 << 24, hiddenSize: 1 << 14, outputSize: 1 }) },
  'globalNorm of a number': { run: () => globalNorm(3 as never) },
  'clipGradNorm with maxNorm NaN': { run: () => clipGradNorm([Float32Array.of(1)], NaN) },
  'optimizer step without params': { run: () => createOptimizer({ kind: 'sgd', lr: 1 }).step(null as never, []) },
  'Random seeded with a symbol': { run: () => new Random(Symbol('s') as never) },
};

async function main(): Promise<void> {
  const name = process.argv[2];
  const c = CASES[name];
  if (!c) throw new Error(`no case ${name}`);
  try {
    const value = await c.run();
    const same = c.same ? JSON.stringify(value) === JSON.stringify(clean[c.same]()) : undefined;
    process.stdout.write(JSON.stringify({ outcome: 'ok', same }) + '\n');
  } catch (e) {
    const err = e as Error & { code?: string };
    process.stdout.write(
      JSON.stringify({ outcome: 'error', name: err.constructor.name, message: err.message, code: err.code }) + '\n'
    );
  }
}

if (require.main === module) void main();
