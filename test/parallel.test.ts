/**
 * Sharded training (lib/parallel): the synchronous sharded loop over worker threads ≡ the same
 * shards in one process ≡ the chunked single-process sweep with one chunk per shard, bit for bit;
 * ≈ the unchunked loop (summation order); bounded staleness converges; bad options, abort, a
 * killed shard thread.
 */
import test from 'ava';
import { AdmmTrainer, RNN, type TrainingData } from '../lib';
import { inputLayout, lossForTargets, nativeShape, targetLayout } from '../lib/data';
import { sharedInputs, sharedTargets } from '../lib/in-shared-memory';
import type { AdmmIterationRecord } from '../lib/admm/record';
import { resolveTrainerOptions, type AdmmTrainerOptions } from '../lib/admm/options';
import { ParallelCoordinator } from '../lib/parallel/coordinator';
import { LoopbackTransport } from '../lib/parallel/loopback';
import { PersistentShard } from '../lib/parallel/shard';
import { shardData, splitRows } from '../lib/parallel/split';
import { randomProblem, type ProblemSpec } from './problems';

const classify: ProblemSpec = { N: 24, T: 5, d: 3, h: 6, K: 3, lossSteps: 'last', loss: 'softmax-cross-entropy', seed: 3 };
const regress: ProblemSpec = { N: 24, T: 4, d: 2, h: 5, K: 2, lossSteps: 'every', loss: 'squared-error', seed: 5 };
const ITERATIONS = 4;

/** The sharded loop with every shard on this thread (the transport-free reference). */
async function inProcess(model: RNN, data: TrainingData, options: AdmmTrainerOptions, shards: number, iterations: number) {
  const o = resolveTrainerOptions(options);
  const layout = inputLayout('data', data, model);
  const loss = o.loss ?? lossForTargets(data.targets)!;
  const shape = nativeShape(model, layout.N, layout.T, o.lossSteps);
  const inputs = sharedInputs(layout.native), targets = sharedTargets(targetLayout('data.targets', data.targets, shape, loss, o.lossSteps));
  const parts = splitRows(shape.N, shards).map(([b, e], i) => new PersistentShard(i, shardData(shape, inputs, targets, o.lossSteps, b, e)));
  const transport = new LoopbackTransport(parts);
  const coordinator = new ParallelCoordinator(model, shape, transport, {
    shards, staleness: 0, rho: o.rho, rhoPolicy: o.rhoPolicy, beta: o.beta * shape.N, classification: loss === 'softmax-cross-entropy',
  });
  const history: AdmmIterationRecord[] = [];
  try {
    for (let k = 0; k < iterations; k++) history.push(await coordinator.iteration(undefined, () => new Error('aborted')));
  } finally {
    await transport.close();
  }
  return { history, weights: model.weights(), stats: transport.stats() };
}

async function fitted(spec: ProblemSpec, options: AdmmTrainerOptions) {
  const { model, data } = randomProblem(spec);
  const trainer = new AdmmTrainer(model, { mode: 'persistent', lossSteps: spec.lossSteps, ...options });
  try {
    const result = await trainer.fit(data, { maxIterations: ITERATIONS });
    return { history: result.history, status: result.status, weights: model.weights() };
  } finally {
    await trainer.close();
  }
}

const bits = (w: Record<string, Float32Array>) => Object.fromEntries(Object.entries(w).map(([k, v]) => [k, Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')]));
const residuals = (h: AdmmIterationRecord[]) => h.map((r) => ({ p: r.primalResiduals, d: r.dualResidual, rho: r.rho, step: r.stepSignal }));

for (const [name, spec, policy] of [
  ['classification, geometric ρ', classify, undefined],
  ['regression at every step, residual balancing', regress, { kind: 'residual-balancing', tau: 1.5 } as const],
] as const) {
  for (const shards of [2, 3]) {
    test(`synchronous ${shards} shards ≡ threads ≡ in one process ≡ chunked sweep, bit for bit (${name})`, async (t) => {
      const options: AdmmTrainerOptions = { mode: 'persistent', lossSteps: spec.lossSteps, ...(policy ? { rhoPolicy: policy } : {}) };
      const threads = await fitted(spec, { ...options, parallel: { workers: shards } });
      const { model, data } = randomProblem(spec);
      const loop = await inProcess(model, data, options, shards, ITERATIONS);
      const chunked = await fitted(spec, { ...options, chunkSize: spec.N / shards });
      t.is(threads.status, 'max-iterations');
      t.is(threads.history.length, ITERATIONS);
      t.deepEqual(bits(threads.weights), bits(loop.weights));
      t.deepEqual(bits(threads.weights), bits(chunked.weights));
      // Residuals and ρ come from norms summed in chunk (shard) order: identical too.
      t.deepEqual(residuals(threads.history), residuals(loop.history));
      t.deepEqual(residuals(threads.history), residuals(chunked.history));
      // Losses are sums over samples in another association (per shard, then over shards).
      threads.history.forEach((r, i) => {
        t.true(Math.abs(r.loss - chunked.history[i].loss) <= 1e-12 * Math.abs(chunked.history[i].loss));
        t.true(Math.abs(r.lagrangian - chunked.history[i].lagrangian) <= 1e-9 * Math.abs(chunked.history[i].lagrangian));
      });
      t.true(loop.stats.bytesIn > 0 && loop.stats.bytesOut > 0);
    });
  }
}

test('the sharded iterate ≈ the unchunked single-process iterate (equal up to summation order)', async (t) => {
  const sharded = await fitted(classify, { parallel: { workers: 3 } });
  const whole = await fitted(classify, {});
  for (const [k, w] of Object.entries(whole.weights)) {
    const s = sharded.weights[k as keyof typeof whole.weights];
    let diff = 0, norm = 0;
    for (let i = 0; i < w.length; i++) (diff = Math.max(diff, Math.abs(w[i] - s[i]))), (norm = Math.max(norm, Math.abs(w[i])));
    t.true(diff <= 1e-3 * norm, `${k}: max |Δ| ${diff} against max |w| ${norm}`);
  }
  sharded.history.forEach((r, i) => t.true(Math.abs(r.loss - whole.history[i].loss) <= 1e-3 * whole.history[i].loss));
});
