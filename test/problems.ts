/** Small seeded problems shared by the trainer tests. */
import {
  type AdmmIterationRecord,
  AdmmTrainer,
  type AdmmTrainerOptions,
  type PersistentIterationRecord,
  RNN,
  Random,
  type TrainingData,
} from '../lib';

export interface Problem {
  model: RNN;
  data: TrainingData;
}

export interface ProblemSpec {
  N: number;
  T: number;
  d: number;
  h: number;
  K: number;
  lossSteps: 'last' | 'every';
  loss: 'softmax-cross-entropy' | 'squared-error';
  tokens?: boolean;
  seed?: number;
}

/** Random inputs (or token ids) and targets, and a model with σ = 0.5 normal init. */
export function randomProblem(spec: ProblemSpec): Problem {
  const { N, T, d, h, K, seed = 1 } = spec;
  const rng = new Random(seed);
  const L = spec.lossSteps === 'every' ? T : 1;
  const inputs = spec.tokens
    ? Int32Array.from({ length: N * T }, () => rng.int(d))
    : Float32Array.from({ length: N * T * d }, () => rng.normal());
  const targets =
    spec.loss === 'softmax-cross-entropy'
      ? Int32Array.from({ length: N * L }, () => rng.int(K))
      : Float32Array.from({ length: N * L * K }, () => rng.normal());
  const model = new RNN({ inputSize: d, hiddenSize: h, outputSize: K, init: { scheme: 'normal', scale: 0.5, seed } });
  return { model, data: { inputs, targets, sequenceLength: T } };
}

/** Adds seeded noise to auxiliaries and duals so every block has real work to do. */
export function perturbState(
  st: {
    A: Float32Array;
    S: Float32Array;
    TA: Float32Array;
    O: Float32Array;
    M1: Float32Array;
    M2: Float32Array;
    M3: Float32Array;
    pFresh: boolean;
  },
  seed: number,
  scale = 0.3
): void {
  const rng = new Random(seed);
  for (const buf of [st.A, st.S, st.O, st.M1, st.M2, st.M3])
    for (let i = 0; i < buf.length; i++) buf[i] += scale * rng.normal();
  for (let i = 0; i < st.A.length; i++) st.TA[i] = Math.tanh(st.A[i]);
  st.pFresh = false;
}

/** Records without their wall-clock fields (`seconds`, `elapsed`, and BPTT's `trainSeconds`). */
export function withoutTimes<T extends { seconds: number; elapsed: number; trainSeconds?: number }>(
  records: T[]
): Omit<T, 'seconds' | 'elapsed' | 'trainSeconds'>[] {
  return records.map(({ seconds: _s, elapsed: _e, trainSeconds: _t, ...rest }) => rest);
}

/** A persistent fit's history with its record type (throws on a mini-batch record). */
export function persistentHistory(history: readonly AdmmIterationRecord[]): PersistentIterationRecord[] {
  return history.map((r) => {
    if (r.kind !== 'persistent') throw new Error(`iteration ${r.iteration} is a ${r.kind} record`);
    return r;
  });
}

/**
 * A fresh problem of `spec` fitted `iterations` iterations with `options` (sharded when they say
 * so; the trainer is closed after): its history without times and its weights, for comparisons.
 */
export async function fitFresh(spec: ProblemSpec, options: AdmmTrainerOptions, iterations = 3) {
  const { model, data } = randomProblem(spec);
  const trainer = new AdmmTrainer(model, options);
  const result = await trainer.fit(data, { maxIterations: iterations });
  await trainer.close();
  return { history: withoutTimes(result.history), weights: model.weights() };
}
