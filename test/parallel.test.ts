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
import { AdjointCoordinator } from '../lib/parallel/adjoint-coordinator';
import { AdjointShard } from '../lib/parallel/adjoint-shard';
import { ParallelCoordinator } from '../lib/parallel/coordinator';
import { LoopbackTransport } from '../lib/parallel/loopback';
import type { ParallelRun } from '../lib/parallel/run';
import { PersistentShard, type ShardData } from '../lib/parallel/shard';
import type { ThreadTransport } from '../lib/parallel/threads';
import type { Publication } from '../lib/parallel/transport';
import { shardData, splitRows } from '../lib/parallel/split';
import { EventLoopMonitor } from './helpers/event-loop';
import { randomProblem, type ProblemSpec, withoutTimes } from './problems';

const classify: ProblemSpec = { N: 24, T: 5, d: 3, h: 6, K: 3, lossSteps: 'last', loss: 'softmax-cross-entropy', seed: 3 };
const regress: ProblemSpec = { N: 24, T: 4, d: 2, h: 5, K: 2, lossSteps: 'every', loss: 'squared-error', seed: 5 };
/** Large enough that the forward pass blocks the whole data's rows differently from a shard's. */
const blocked: ProblemSpec = { N: 210, T: 10, d: 16, h: 24, K: 5, lossSteps: 'last', loss: 'softmax-cross-entropy', seed: 9 };
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
  ['rows the forward pass blocks differently', blocked, undefined],
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
      // The true loss comes from a forward pass per shard (one process: over all rows, blocked
      // otherwise, so float32 rounding differs); the Lagrangian from the same o in another summation order.
      threads.history.forEach((r, i) => {
        t.true(Math.abs(r.loss - chunked.history[i].loss) <= 1e-5 * Math.abs(chunked.history[i].loss));
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

/** A shard that answers `delay` ms late, so the fast shard runs ahead under bounded staleness. */
class SlowShard extends PersistentShard {
  constructor(index: number, data: ShardData, private readonly delay: number) {
    super(index, data);
  }
  override async answer(p: Publication) {
    await new Promise((resolve) => setTimeout(resolve, this.delay));
    return super.answer(p);
  }
}

test('bounded staleness (τ = 2) with a slow shard uses stale answers and still fits the problem', async (t) => {
  const spec = { ...classify, N: 40, seed: 7 };
  const { model, data } = randomProblem(spec);
  const o = resolveTrainerOptions({ mode: 'persistent' });
  const layout = inputLayout('data', data, model);
  const shape = nativeShape(model, layout.N, layout.T, o.lossSteps);
  const inputs = sharedInputs(layout.native), targets = sharedTargets(targetLayout('data.targets', data.targets, shape, 'softmax-cross-entropy', o.lossSteps));
  const [fast, slow] = splitRows(shape.N, 2).map(([b, e]) => shardData(shape, inputs, targets, o.lossSteps, b, e));
  const transport = new LoopbackTransport([new PersistentShard(0, fast), new SlowShard(1, slow, 15)]);
  const staleness = 2;
  const coordinator = new ParallelCoordinator(model, shape, transport, {
    shards: 2, staleness, rho: o.rho, rhoPolicy: o.rhoPolicy, beta: o.beta * shape.N, classification: true,
  });
  const history: AdmmIterationRecord[] = [];
  try {
    for (let k = 0; k < 30; k++) history.push(await coordinator.iteration(undefined, () => new Error('aborted')));
  } finally {
    await transport.close();
  }
  t.log(`stale answers used: ${coordinator.staleAnswers}; loss ${history[0].loss.toFixed(4)} → ${history.at(-1)!.loss.toFixed(4)}`);
  t.true(coordinator.staleAnswers > 0, 'the slow shard never lagged: nothing asynchronous was tested');
  for (const r of history) t.true(Number.isFinite(r.loss) && Number.isFinite(r.lagrangian));
  t.true(history.at(-1)!.loss < history[0].loss);
  t.true(history.at(-1)!.primalResiduals.o < history[1].primalResiduals.o);
});

test('options.parallel is validated at the boundary, naming the parameter', async (t) => {
  const { model, data } = randomProblem(classify);
  const make = (options: unknown) => () => new AdmmTrainer(model, { mode: 'persistent', ...(options as object) });
  t.throws(make({ parallel: 4 }), { instanceOf: TypeError, message: /options\.parallel/ });
  t.throws(make({ parallel: {} }), { instanceOf: TypeError, message: /options\.parallel\.workers/ });
  t.throws(make({ parallel: { workers: 0 } }), { instanceOf: RangeError, message: /options\.parallel\.workers/ });
  t.throws(make({ parallel: { workers: 1.5 } }), { message: /options\.parallel\.workers/ });
  t.throws(make({ parallel: { workers: 2, staleness: -1 } }), { instanceOf: RangeError, message: /options\.parallel\.staleness/ });
  t.throws(make({ parallel: { workers: 2, staleness: 'x' } }), { instanceOf: TypeError, message: /options\.parallel\.staleness/ });
  t.throws(make({ parallel: { workers: 2, transport: 'carrier-pigeon' } }), { message: /options\.parallel\.transport/ });
  t.throws(make({ parallel: { workers: 2 }, chunkSize: 4 }), { instanceOf: RangeError, message: /options\.chunkSize/ });
  t.throws(make({ parallel: { workers: 2 }, update: 'linearized' }), { instanceOf: RangeError, message: /options\.parallel.*linearized/ });
  t.throws(() => new AdmmTrainer(model, { mode: 'sweeps', parallel: { workers: 2 } }), { instanceOf: RangeError, message: /options\.parallel.*'sweeps'/ });
  // More shards than sequences is known only with the data.
  const trainer = new AdmmTrainer(model, { mode: 'persistent', parallel: { workers: classify.N + 1 } });
  await t.throwsAsync(() => trainer.fit(data), { instanceOf: RangeError, message: /options\.parallel\.workers.*24 sequences/ });
  // A parallel run keeps its state in the shards.
  const parallel = new AdmmTrainer(model, { mode: 'persistent', parallel: { workers: 2 } });
  await parallel.fit(data, { maxIterations: 1 });
  t.throws(() => parallel.exportState(), { code: 'ERR_PARALLEL_STATE' });
  await t.throwsAsync(async () => parallel.updateStates(), { code: 'ERR_PARALLEL_STATE' });
  await parallel.close();
});

test('an AbortSignal stops a parallel fit mid-iteration, keeps the last completed weights, never blocks the event loop', async (t) => {
  const spec = { ...classify, N: 3000, T: 8, d: 8, h: 32, K: 4 };
  const { model, data } = randomProblem(spec);
  const controller = new AbortController();
  let afterFirst: number[] = [];
  const trainer = new AdmmTrainer(model, { mode: 'persistent', parallel: { workers: 2 } });
  const monitor = new EventLoopMonitor();
  const result = await trainer.fit(data, {
    maxIterations: 50,
    signal: controller.signal,
    onIteration: (r) => {
      if (r.iteration === 1) {
        afterFirst = Array.from(model.W);
        monitor.restart();
        setTimeout(() => controller.abort(), 5);  // lands mid-iteration 2
      }
    },
  });
  const { worst } = monitor.stop();
  t.is(result.status, 'aborted');
  t.regex(result.message, /iteration 2/);
  t.is(result.history.length, 1);
  t.deepEqual(Array.from(model.W), afterFirst);
  t.true(worst < 250, `event loop blocked for ${worst.toFixed(1)} ms`);
  // The run goes on from there when resumed.
  const resumed = await trainer.fit(data, { maxIterations: 1, resume: true });
  t.is(resumed.status, 'max-iterations');
  t.is(resumed.history[0].iteration, 2);
  await trainer.close();
});

test('a shard thread that dies is a lost shard: the fit fails with ERR_SHARD_LOST and keeps the last completed weights', async (t) => {
  const { model, data } = randomProblem(classify);
  const trainer = new AdmmTrainer(model, { mode: 'persistent', parallel: { workers: 3 } });
  let afterFirst: number[] = [];
  const run = trainer.fit(data, {
    maxIterations: 10,
    onIteration: async (r) => {
      if (r.iteration !== 1) return;
      afterFirst = Array.from(model.U);
      // The trainer's transport is internal; the test reaches it to kill shard 1's thread.
      const transport = (trainer as unknown as { par: ParallelRun }).par.transport as ThreadTransport;
      await transport.worker(1).terminate();
    },
  });
  await t.throwsAsync(run, { code: 'ERR_SHARD_LOST', message: /shard 1 lost/ });
  t.deepEqual(Array.from(model.U), afterFirst);
  // The broken run stays broken on resume; a fresh fit starts new shards.
  await t.throwsAsync(() => trainer.fit(data, { maxIterations: 1, resume: true }), { code: 'ERR_SHARD_LOST' });
  t.is((await trainer.fit(data, { maxIterations: 1 })).status, 'max-iterations');
  await trainer.close();
});

// ---- the default mini-batch mode 'adjoint', each batch split into slices -------------------------

/** The sharded 'adjoint' run with every shard on this thread. */
async function adjointInProcess(model: RNN, data: TrainingData, options: AdmmTrainerOptions, shards: number, epochs: number) {
  const o = resolveTrainerOptions(options);
  const layout = inputLayout('data', data, model);
  const loss = o.loss ?? lossForTargets(data.targets)!;
  const shape = nativeShape(model, layout.N, layout.T, o.lossSteps);
  const inputs = sharedInputs(layout.native), targets = sharedTargets(targetLayout('data.targets', data.targets, shape, loss, o.lossSteps));
  const all = { shape, inputs, targets, lossSteps: o.lossSteps, shards, batchSize: o.batchSize };
  const transport = new LoopbackTransport(Array.from({ length: shards }, (_, i) => new AdjointShard(i, all)));
  const coordinator = new AdjointCoordinator(model, shape, transport, { shards, staleness: 0, trainer: o, classification: loss === 'softmax-cross-entropy' });
  const history: AdmmIterationRecord[] = [];
  try {
    for (let k = 0; k < epochs; k++) history.push(await coordinator.epoch(undefined, () => new Error('aborted')));
  } finally {
    await transport.close();
  }
  return { history, weights: model.weights() };
}

const adjointSpec: ProblemSpec = { ...classify, N: 25 };
// Batches of 8: the last one holds 1 sequence, so with 3 shards two slices are empty.
const ADJOINT: AdmmTrainerOptions = { mode: 'adjoint', batchSize: 8, trustRegion: 0.5 };

for (const shards of [2, 3]) {
  test(`'adjoint', ${shards} shards: threads ≡ in one process bit for bit, ≈ the single-process mode`, async (t) => {
    const threaded = randomProblem(adjointSpec);
    const trainer = new AdmmTrainer(threaded.model, { ...ADJOINT, parallel: { workers: shards } });
    const result = await trainer.fit(threaded.data, { maxIterations: 3 });
    await trainer.close();
    const { model, data } = randomProblem(adjointSpec);
    const loop = await adjointInProcess(model, data, ADJOINT, shards, 3);
    t.is(result.status, 'max-iterations');
    t.deepEqual(bits(threaded.model.weights()), bits(loop.weights));
    t.deepEqual(withoutTimes(result.history), withoutTimes(loop.history));
    // One process solves from the whole batch's Gram at once: the same up to float32 summation order.
    const single = randomProblem(adjointSpec);
    const reference = await new AdmmTrainer(single.model, ADJOINT).fit(single.data, { maxIterations: 3 });
    reference.history.forEach((r, i) => t.true(Math.abs(r.loss - result.history[i].loss) <= 1e-3 * r.loss, `epoch ${i + 1}: ${r.loss} vs ${result.history[i].loss}`));
    for (const [k, w] of Object.entries(single.model.weights())) {
      const s = threaded.model.weights()[k as 'U'];
      const scale = Math.max(...Array.from(w, Math.abs));
      t.true(w.every((v, i) => Math.abs(v - s[i]) <= 1e-3 * scale), `${k} differs beyond summation order`);
    }
  });
}
