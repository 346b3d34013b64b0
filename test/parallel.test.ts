/**
 * Sharded training (lib/parallel): the synchronous sharded loop over worker threads ≡ the same
 * shards in one process ≡ the chunked single-process sweep with one chunk per shard, bit for bit
 * (default options: the true-loss safeguard on, rejected iterations included);
 * ≈ the unchunked loop (summation order); bounded staleness converges; the mini-batch modes
 * ('adjoint', 'local-duals', 'sweeps') sharded by batch slices; bad options, abort, a killed shard thread.
 */
import test, { type ExecutionContext } from 'ava';
import { AdmmTrainer, RNN, type RNNWeights, type TrainingData } from '../lib';
import { sharedFloats, sharedInputs, sharedTargets } from '../lib/in-shared-memory';
import { native } from '../lib/native';
import { BatchGatherer } from '../lib/admm/resync/gather';
import { BatchMultipliers } from '../lib/admm/resync/multipliers';
import type { MiniBatchIterationRecord, PersistentIterationRecord } from '../lib/admm/record';
import type { Triple } from '../lib/admm/rho';
import type { AdmmStateSnapshot } from '../lib/admm/snapshot';
import type { PersistentGuardState } from '../lib/admm/persistent/safeguard';
import { resolveTrainerOptions, type AdmmTrainerOptions } from '../lib/admm/options';
import { warmStartReadout } from '../lib/admm/persistent/warm-start';
import { trainingLayout } from '../lib/training/layout';
import { MiniBatchCoordinator } from '../lib/parallel/mini-batch-coordinator';
import { ParallelCoordinator, coordinatorOptions } from '../lib/parallel/coordinator';
import { writeWeights } from '../lib/parallel/layout';
import { LoopbackTransport } from '../lib/parallel/loopback';
import type { ParallelEngine } from '../lib/parallel/engine';
import { PersistentShard, type ShardData } from '../lib/parallel/shard';
import { shardData, splitRows } from '../lib/parallel/split';
import { shardCore, shardStarts } from '../lib/parallel/starts';
import type { ThreadTransport } from '../lib/parallel/threads';
import type { Publication } from '../lib/parallel/transport';
import { EventLoopMonitor } from './helpers/event-loop';
import { randomProblem, type ProblemSpec, withoutTimes } from './problems';

const CE = 'softmax-cross-entropy' as const;
const classify: ProblemSpec = { N: 24, T: 5, d: 3, h: 6, K: 3, lossSteps: 'last', loss: CE, seed: 3 };
const regress: ProblemSpec = { N: 24, T: 4, d: 2, h: 5, K: 2, lossSteps: 'every', loss: 'squared-error', seed: 5 };
/** Large enough that the forward pass blocks the whole data's rows differently from a shard's. */
const blocked: ProblemSpec = { N: 210, T: 10, d: 16, h: 24, K: 5, lossSteps: 'last', loss: CE, seed: 9 };
const ITERATIONS = 4;
const aborted = () => new Error('aborted');

/** What the trainer prepares from data and options: resolved options, shape, shared inputs and targets. */
function prepare(model: RNN, data: TrainingData, options: AdmmTrainerOptions) {
  const o = resolveTrainerOptions(options);
  const layout = trainingLayout(data, model, { loss: o.loss, lossSteps: o.lossSteps });
  const { shape } = layout;
  const classification = layout.loss === CE;
  return {
    o,
    layout,
    shape,
    inputs: sharedInputs(layout.inputs),
    targets: sharedTargets(layout.targets),
    classification,
  };
}

/** The sharded persistent loop with every shard on this thread (the transport-free reference). */
async function inProcess(model: RNN, data: TrainingData, options: AdmmTrainerOptions, shards: number) {
  const { o, layout, shape, inputs, targets } = prepare(model, data, options);
  // The trainer's persistent start: (V, c) refitted first (options.warmStart), then the shards start.
  if (o.warmStart === 'readout') await warmStartReadout(model, layout, o.beta);
  const rows = splitRows(shape.N, shards);
  const transport = new LoopbackTransport(
    rows.map(([b, e], i) => new PersistentShard(i, shardData(shape, inputs, targets, o.lossSteps, b, e)))
  );
  const coordinator = new ParallelCoordinator(model, shape, transport, coordinatorOptions(o, layout, shards, 0));
  const history: PersistentIterationRecord[] = [];
  try {
    for (let k = 0; k < ITERATIONS; k++) history.push(await coordinator.iteration(undefined, aborted));
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
    return { history: result.history as PersistentIterationRecord[], status: result.status, weights: model.weights() };
  } finally {
    await trainer.close();
  }
}

const hex = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
const bits = (w: Record<string, Float32Array>) => Object.fromEntries(Object.entries(w).map(([k, v]) => [k, hex(v)]));
const residuals = (h: PersistentIterationRecord[]) =>
  h.map((r) => ({ p: r.primalResiduals, d: r.dualResidual, rho: r.rho, step: r.stepSignal, guard: r.safeguard }));
const near = (a: number, b: number, relative: number) => Math.abs(a - b) <= relative * Math.abs(b);

/** ρ so small that the true loss rises: the safeguard rejects iterations (persistent-safeguard.test.ts). */
const rejecting = { rho: [0.01, 0.01, 0.01] as Triple, warmStart: 'none' as const };
const balancing = { kind: 'residual-balancing', tau: 1.5 } as const;

for (const [name, spec, extra] of [
  ['classification, geometric ρ', classify, {}],
  ['regression at every step, residual balancing', regress, { rhoPolicy: balancing }],
  ['rows the forward pass blocks differently', blocked, {}],
  ['safeguard rejections, geometric ρ', classify, rejecting],
  ['safeguard rejections, residual balancing', regress, { ...rejecting, rhoPolicy: balancing }],
  ['the dual walk after every iteration', classify, { dualWalk: { every: 1 } }],
  [
    'the dual walk every 2nd iteration, regression, residual balancing',
    regress,
    { dualWalk: { every: 2 }, rhoPolicy: balancing },
  ],
  ['the dual walk every 2nd iteration, safeguard rejections', classify, { ...rejecting, dualWalk: { every: 2 } }],
] as [string, ProblemSpec, AdmmTrainerOptions][]) {
  for (const shards of [2, 3]) {
    const title = `synchronous, ${shards} shards: threads ≡ in one process ≡ chunked sweep, bit for bit (${name})`;
    test(title, async (t) => {
      // Default options otherwise (the true-loss safeguard is on, as in one process), without the
      // dual walk unless the case names it.
      const options: AdmmTrainerOptions = { mode: 'persistent', lossSteps: spec.lossSteps, dualWalk: false, ...extra };
      const threads = await fitted(spec, { ...options, parallel: { workers: shards } });
      const { model, data } = randomProblem(spec);
      const loop = await inProcess(model, data, options, shards);
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
        t.true(near(r.loss, chunked.history[i].loss, 1e-5));
        t.true(near(r.lagrangian, chunked.history[i].lagrangian, 1e-9));
      });
      t.true(loop.stats.bytesIn > 0 && loop.stats.bytesOut > 0);
      if (extra.rho) {
        const rejected = chunked.history.filter((r) => r.safeguard!.rejections > 0).length;
        t.true(rejected >= 1 && rejected < ITERATIONS, `${rejected} of ${ITERATIONS} iterations rejected`);
      }
    });
  }
}

test('the sharded iterate ≈ the unchunked single-process iterate (equal up to summation order)', async (t) => {
  const sharded = await fitted(classify, { parallel: { workers: 3 } });
  const whole = await fitted(classify, {}); // defaults, as the sharded run: its shards walk their rows
  for (const [k, w] of Object.entries(whole.weights)) {
    const s = sharded.weights[k as keyof typeof whole.weights];
    let diff = 0,
      norm = 0;
    for (let i = 0; i < w.length; i++) {
      diff = Math.max(diff, Math.abs(w[i] - s[i]));
      norm = Math.max(norm, Math.abs(w[i]));
    }
    t.true(diff <= 1e-3 * norm, `${k}: max |Δ| ${diff} against max |w| ${norm}`);
  }
  sharded.history.forEach((r, i) => t.true(near(r.loss, whole.history[i].loss, 1e-3)));
});

/** A shard that answers `delay` ms late, so the fast shard runs ahead under bounded staleness. */
class SlowShard extends PersistentShard {
  constructor(
    index: number,
    data: ShardData,
    private readonly delay: number
  ) {
    super(index, data);
  }
  override async answer(p: Publication) {
    await new Promise((resolve) => setTimeout(resolve, this.delay));
    return super.answer(p);
  }
}

test('shards and coordinator rebuilt from a checkpoint continue the synchronous run bit for bit', async (t) => {
  const straight = randomProblem(classify);
  // Both runs start from the model's own readout (the coordinator alone has no warm start), at a ρ
  // where the safeguard rejects iteration 2: its state must cross the checkpoint too.
  const options = { mode: 'persistent', ...rejecting } as const;
  const reference = await inProcess(straight.model, straight.data, options, 3);
  t.true(reference.history[1].safeguard!.rejections > 0);
  const { model, data } = randomProblem(classify);
  const { o, layout, shape, inputs, targets } = prepare(model, data, options);
  const rows = splitRows(shape.N, 3).map(([b, e]) => shardData(shape, inputs, targets, o.lossSteps, b, e));
  const settings = coordinatorOptions(o, layout, 3, 0);
  // A checkpoint every 2 iterations (each shard's state, the coordinator's ρ, safeguard and count,
  // the weights); the run then dies during iteration 3's rounds, losing what it did after the checkpoint.
  const first = rows.map((r, i) => new PersistentShard(i, r));
  let transport = new LoopbackTransport(first);
  type Saved = { iteration: number; shards: AdmmStateSnapshot[]; rho: Triple; guard: PersistentGuardState };
  const checkpoints: (Saved & { weights: RNNWeights })[] = [];
  const save = async (iteration: number) => {
    const weights = Object.fromEntries(Object.entries(model.weights()).map(([k, w]) => [k, w.slice()])) as RNNWeights;
    const shards = first.map((s) => s.exportState()!);
    checkpoints.push({ iteration, shards, rho: [...coordinator.rho], guard: { ...coordinator.guard }, weights });
  };
  let coordinator = new ParallelCoordinator(model, shape, transport, { ...settings, checkpoint: { every: 2, save } });
  for (let k = 0; k < 3; k++) await coordinator.iteration(undefined, aborted);
  await transport.close();
  t.deepEqual(
    checkpoints.map((c) => c.iteration),
    [2]
  );
  const saved = checkpoints[0];
  t.true(saved.guard.scale > 1);
  model.setWeights(saved.weights);
  // Everything rebuilt: new shards restored from their states, a new coordinator told where the run was.
  const second = rows.map((r, i) => new PersistentShard(i, r));
  second.forEach((s, i) => s.restoreState(saved.shards[i]));
  transport = new LoopbackTransport(second);
  coordinator = new ParallelCoordinator(model, shape, transport, { ...settings, rho: saved.rho });
  coordinator.completed = saved.iteration;
  coordinator.guard = { ...saved.guard };
  const resumed: PersistentIterationRecord[] = [];
  for (let k = 2; k < ITERATIONS; k++) resumed.push(await coordinator.iteration(undefined, aborted));
  await transport.close();
  t.deepEqual(bits(model.weights()), bits(reference.weights));
  t.deepEqual(withoutTimes(resumed), withoutTimes(reference.history.slice(2)));
  const other = new PersistentShard(0, shardData(shape, inputs, targets, o.lossSteps, 0, 5)); // other rows
  t.throws(() => other.restoreState(saved.shards[0]), { instanceOf: RangeError, message: /snapshot\.A/ });
});

test("an abort during the 'safeguard' round waits for it: the iteration completes, the run goes on bit for bit", async (t) => {
  const options = { mode: 'persistent', ...rejecting } as const;
  const straight = randomProblem(classify);
  const reference = await inProcess(straight.model, straight.data, options, 2);
  const { model, data } = randomProblem(classify);
  const { o, layout, shape, inputs, targets } = prepare(model, data, options);
  const controller = new AbortController();
  /** Aborts the fit as the verdict reaches it: the 'safeguard' round must still complete. */
  class AbortingShard extends PersistentShard {
    override answer(p: Publication) {
      if (p.phase === 'safeguard') controller.abort();
      return super.answer(p);
    }
  }
  const rows = splitRows(shape.N, 2);
  const transport = new LoopbackTransport(
    rows.map(([b, e], i) => new AbortingShard(i, shardData(shape, inputs, targets, o.lossSteps, b, e)))
  );
  const coordinator = new ParallelCoordinator(model, shape, transport, coordinatorOptions(o, layout, 2, 0));
  const history: PersistentIterationRecord[] = [];
  try {
    while (!controller.signal.aborted) history.push(await coordinator.iteration(controller.signal, aborted));
    t.true(history.at(-1)!.safeguard!.rejections > 0, 'the aborted round was a rejection');
    // The next iteration is where the abort stops the run; without one, the run goes on exactly.
    await t.throwsAsync(() => coordinator.iteration(controller.signal, aborted), { message: 'aborted' });
    while (history.length < ITERATIONS) history.push(await coordinator.iteration(undefined, aborted));
  } finally {
    await transport.close();
  }
  t.deepEqual(withoutTimes(history), withoutTimes(reference.history));
  t.deepEqual(bits(model.weights()), bits(reference.weights));
});

test('bounded staleness (τ = 2) with a slow shard uses stale answers and still fits the problem', async (t) => {
  const { model, data } = randomProblem({ ...classify, N: 40, seed: 7 });
  const { o, layout, shape, inputs, targets } = prepare(model, data, { mode: 'persistent' });
  const [fast, slow] = splitRows(shape.N, 2).map(([b, e]) => shardData(shape, inputs, targets, o.lossSteps, b, e));
  const transport = new LoopbackTransport([new PersistentShard(0, fast), new SlowShard(1, slow, 15)]);
  const coordinator = new ParallelCoordinator(model, shape, transport, coordinatorOptions(o, layout, 2, 2));
  const history: PersistentIterationRecord[] = [];
  try {
    for (let k = 0; k < 30; k++) history.push(await coordinator.iteration(undefined, aborted));
  } finally {
    await transport.close();
  }
  const [first, last] = [history[0], history.at(-1)!];
  t.log(`stale answers used: ${coordinator.staleAnswers}; loss ${first.loss.toFixed(4)} → ${last.loss.toFixed(4)}`);
  t.true(coordinator.staleAnswers > 0, 'the slow shard never lagged: nothing asynchronous was tested');
  for (const r of history) t.true(Number.isFinite(r.loss) && Number.isFinite(r.lagrangian));
  t.true(last.loss < first.loss);
  t.true(last.primalResiduals.o < history[1].primalResiduals.o);
});

test("a shard refuses a 'safeguard' publication whose factor is not a positive number", async (t) => {
  const { model, data } = randomProblem(classify);
  const { o, shape, inputs, targets } = prepare(model, data, { mode: 'persistent' });
  const shard = new PersistentShard(0, shardData(shape, inputs, targets, o.lossSteps, 0, 12));
  const body = writeWeights(model.weights());
  const rho = { rho1: 1, rho2: 1, rho3: 1 };
  for (const factor of [0, -2, NaN, Infinity, undefined]) {
    const p = { version: 1, iteration: 1, phase: 'safeguard', scalars: { ...rho, factor } as never, body };
    await t.throwsAsync(() => shard.answer(p), { instanceOf: RangeError, message: /safeguard factor/ });
  }
  const ok = await shard.answer({ version: 2, iteration: 1, phase: 'safeguard', scalars: { ...rho, factor: 2 }, body });
  t.true(ok.body.length > 0, 'the next block-1 Gram');
});

test('options.parallel is validated at the boundary, naming the parameter', async (t) => {
  const { model, data } = randomProblem(classify);
  const make = (options: unknown) => () => new AdmmTrainer(model, { mode: 'persistent', ...(options as object) });
  const named = (name: string, instanceOf?: typeof TypeError) => ({
    message: new RegExp(name),
    ...(instanceOf && { instanceOf }),
  });
  t.throws(make({ parallel: 4 }), named('options\\.parallel', TypeError));
  t.throws(make({ parallel: {} }), named('options\\.parallel\\.workers', TypeError));
  t.throws(make({ parallel: { workers: 0 } }), named('options\\.parallel\\.workers', RangeError));
  t.throws(make({ parallel: { workers: 1.5 } }), named('options\\.parallel\\.workers'));
  t.throws(make({ parallel: { workers: 2, staleness: -1 } }), named('options\\.parallel\\.staleness', RangeError));
  t.throws(make({ parallel: { workers: 2, staleness: 'x' } }), named('options\\.parallel\\.staleness', TypeError));
  t.throws(make({ parallel: { workers: 2, transport: 'carrier-pigeon' } }), named('options\\.parallel\\.transport'));
  t.throws(make({ parallel: { workers: 2 }, chunkSize: 4 }), named('options\\.chunkSize', RangeError));
  t.throws(make({ parallel: { workers: 2 }, update: 'linearized' }), named('parallel.*linearized', RangeError));
  for (const mode of ['adjoint', 'local-duals', 'sweeps'])
    t.notThrows(make({ mode, parallel: { workers: 2, staleness: 1 } }), mode);
  t.throws(make({ mode: 'sweeps', parallel: { workers: 2 }, chunkSize: 4 }), named('options\\.chunkSize', RangeError));
  // More shards than sequences is known only with the data.
  const trainer = new AdmmTrainer(model, { mode: 'persistent', parallel: { workers: classify.N + 1 } });
  await t.throwsAsync(() => trainer.fit(data), named('options\\.parallel\\.workers.*24 sequences', RangeError));
  // A parallel run keeps its state in the shards.
  const parallel = new AdmmTrainer(model, { mode: 'persistent', parallel: { workers: 2 } });
  await parallel.fit(data, { maxIterations: 1 });
  t.throws(() => parallel.exportState(), { code: 'ERR_PARALLEL_STATE' });
  await t.throwsAsync(async () => parallel.updateStates(), { code: 'ERR_PARALLEL_STATE' });
  await parallel.close();
});

// Serial: this file's other tests run synchronous work (problem set-up, in-process fits) on the
// same event loop, which under CI load stalled the timer for 400 ms while this fit yielded.
test.serial(
  'an AbortSignal stops a parallel fit mid-iteration, keeps the last weights, never blocks the loop',
  async (t) => {
    const { model, data } = randomProblem({ ...classify, N: 3000, T: 8, d: 8, h: 32, K: 4 });
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
          setTimeout(() => controller.abort(), 5); // lands mid-iteration 2
        }
      },
    });
    const { worst, gap } = monitor.stop();
    t.log(`longest busy stretch ${worst.toFixed(1)} ms, longest gap ${gap.toFixed(1)} ms`);
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
  }
);

test('a shard thread that dies is a lost shard: the fit fails with ERR_SHARD_LOST, weights kept', async (t) => {
  const { model, data } = randomProblem(classify);
  const trainer = new AdmmTrainer(model, { mode: 'persistent', parallel: { workers: 3 } });
  let afterFirst: number[] = [];
  const run = trainer.fit(data, {
    maxIterations: 10,
    onIteration: async (r) => {
      if (r.iteration !== 1) return;
      afterFirst = Array.from(model.U);
      // The trainer's transport is internal; the test reaches it to kill shard 1's thread.
      const transport = (trainer as unknown as { engine: ParallelEngine }).engine.transport as ThreadTransport;
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

test('a shard thread killed in the middle of a round fails the fit with ERR_SHARD_LOST at once', async (t) => {
  const { model, data } = randomProblem({ ...classify, N: 3000, T: 8, d: 8, h: 32, K: 4 });
  const trainer = new AdmmTrainer(model, { mode: 'persistent', parallel: { workers: 2 } });
  let afterFirst: number[] = [];
  const run = trainer.fit(data, {
    maxIterations: 10,
    onIteration: (r) => {
      if (r.iteration !== 1) return;
      afterFirst = Array.from(model.W);
      const transport = (trainer as unknown as { engine: ParallelEngine }).engine.transport as ThreadTransport;
      setTimeout(() => void transport.worker(0).terminate(), 5); // lands while shard 0 computes
    },
  });
  const e = await t.throwsAsync(run, { code: 'ERR_SHARD_LOST', message: /shard 0 lost/ });
  t.log(e?.message);
  t.deepEqual(Array.from(model.W), afterFirst);
  await trainer.close();
});

// ---- the mini-batch modes ('adjoint', 'local-duals', 'sweeps'), each batch split into slices -----

/** The shards of a sharded mini-batch run, all on this thread, as the trainer starts them. */
function miniBatchShards(options: ReturnType<typeof prepare>, shards: number, slow?: { shard: number; delay: number }) {
  const { o, shape, inputs, targets } = options;
  return shardStarts({ shape, inputs, targets }, o, shards).map((start, i) => {
    const shard = shardCore(start, i);
    if (i !== slow?.shard) return shard;
    return { answer: (p: Publication) => sleep(slow.delay).then(() => shard.answer(p)) };
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A sharded mini-batch run with every shard on this thread (the transport-free reference). */
async function miniBatchInProcess(
  model: RNN,
  data: TrainingData,
  options: AdmmTrainerOptions,
  shards: number,
  run: { epochs: number; staleness?: number; slow?: { shard: number; delay: number } } = { epochs: 3 }
) {
  const prepared = prepare(model, data, options);
  const transport = new LoopbackTransport(miniBatchShards(prepared, shards, run.slow));
  const { o, shape, classification } = prepared;
  const settings = { shards, staleness: run.staleness ?? 0, trainer: o, classification };
  const coordinator = new MiniBatchCoordinator(model, shape, transport, settings);
  const history: MiniBatchIterationRecord[] = [];
  try {
    for (let k = 0; k < run.epochs; k++) history.push(await coordinator.epoch(undefined, aborted));
  } finally {
    await transport.close();
  }
  return { history, weights: model.weights(), staleAnswers: coordinator.staleAnswers };
}

const miniBatchSpec: ProblemSpec = { ...classify, N: 25 };
const EPOCHS = 3;
// Batches of 8: the last one holds 1 sequence, so with 3 shards two slices are empty. These run
// the updates without the step safeguard (tested with it below).
const MINI_BATCH: Record<string, AdmmTrainerOptions> = {
  adjoint: { mode: 'adjoint', batchSize: 8, trustRegion: 0.5, safeguard: false },
  'local-duals': { mode: 'local-duals', batchSize: 8, trustRegion: 0.5, safeguard: false },
  // Forward regressors: with the auxiliary ones and the dual walk, 'sweeps' without a safeguard
  // diverges on the staleness test's problem (it does unsharded too).
  sweeps: { mode: 'sweeps', batchSize: 8, trustRegion: 0.5, safeguard: false },
};

async function unsharded(options: AdmmTrainerOptions, epochs: number) {
  const { model, data } = randomProblem(miniBatchSpec);
  const result = await new AdmmTrainer(model, options).fit(data, { maxIterations: epochs });
  return { history: result.history as MiniBatchIterationRecord[], weights: model.weights() };
}

/** max |a − b| ≤ relative · max |b| over each weight. */
function closeWeights(t: ExecutionContext, a: RNNWeights, b: RNNWeights, relative: number) {
  for (const [k, w] of Object.entries(b)) {
    const s = a[k as keyof RNNWeights];
    const scale = Math.max(...Array.from(w, Math.abs));
    t.true(
      w.every((v, i) => Math.abs(v - s[i]) <= relative * scale),
      `${k} differs beyond summation order`
    );
  }
}

for (const [mode, options] of Object.entries(MINI_BATCH)) {
  test(`'${mode}', 1 shard over threads ≡ one process unsharded, bit for bit`, async (t) => {
    const { model, data } = randomProblem(miniBatchSpec);
    const trainer = new AdmmTrainer(model, { ...options, parallel: { workers: 1 } });
    const result = await trainer.fit(data, { maxIterations: EPOCHS });
    await trainer.close();
    const single = await unsharded(options, EPOCHS);
    t.deepEqual(bits(model.weights()), bits(single.weights));
    t.deepEqual(withoutTimes(result.history), withoutTimes(single.history));
  });

  for (const shards of [2, 3]) {
    const title = `'${mode}', ${shards} shards: threads ≡ in one process bit for bit, ≈ one process unsharded`;
    test(title, async (t) => {
      const threaded = randomProblem(miniBatchSpec);
      const trainer = new AdmmTrainer(threaded.model, { ...options, parallel: { workers: shards } });
      const result = await trainer.fit(threaded.data, { maxIterations: EPOCHS });
      await trainer.close();
      const { model, data } = randomProblem(miniBatchSpec);
      const loop = await miniBatchInProcess(model, data, options, shards);
      t.is(result.status, 'max-iterations');
      t.deepEqual(bits(threaded.model.weights()), bits(loop.weights));
      t.deepEqual(withoutTimes(result.history), withoutTimes(loop.history));
      // One process solves each batch whole: the same up to float32 summation order, compared after
      // one epoch (the local walk's over-relaxed sweeps amplify rounding from epoch to epoch).
      const first = randomProblem(miniBatchSpec);
      const sharded = await miniBatchInProcess(first.model, first.data, options, shards, { epochs: 1 });
      const single = await unsharded(options, 1);
      const [s, w] = [sharded.history[0], single.history[0]];
      t.true(near(s.loss, w.loss, 1e-4), `loss ${s.loss} ≉ ${w.loss}`);
      t.true(near(s.auxiliaryLoss, w.auxiliaryLoss, 1e-4), `auxiliary loss ${s.auxiliaryLoss} ≉ ${w.auxiliaryLoss}`);
      // Per-step signal: the slices' norms combine as one norm of the batch (squares summed).
      const top = Math.max(...w.stepSignal!);
      s.stepSignal!.forEach((v, i) => t.true(Math.abs(v - w.stepSignal![i]) <= 1e-4 * top, `step ${i}`));
      closeWeights(t, sharded.weights, single.weights, 1e-3);
    });
  }
}

test("a batch's slices get the rows of the batch's multipliers (every mode is per sample)", async (t) => {
  for (const [mode, tolerance] of [
    ['adjoint', 1e-5],
    ['sweeps', 1e-5],
    ['local-duals', 1e-4], // ten over-relaxed sweeps amplify the rounding of products over other row counts
  ] as const) {
    const { model, data } = randomProblem({ ...classify, N: 40 });
    const { o, shape, inputs, targets } = prepare(model, data, { mode, regressors: 'auxiliary' });
    const { T, d, h, K } = shape;
    const multipliers = async (indices: number[]) => {
      const B = indices.length,
        batchShape = { ...shape, N: B };
      const batch = new BatchGatherer(inputs, targets, T * d, 1, B).gather(Int32Array.from(indices));
      const [A, S, M1] = [0, 0, 0].map(() => sharedFloats(B * T * h));
      const [O, M3] = [0, 0].map(() => sharedFloats(B * K));
      await native.forwardAsync({ shape: batchShape, ...batch.inputs, ...model.weights(), A, S, O });
      const step = new BatchMultipliers({ ...o, mode }, shape, B);
      const regressors = await step.estimate({ shape: batchShape, ...batch, A, S, O, M1, M3 }, model, [1, 2, 3]);
      return { M1, M3, A, O, regressors: regressors.slice(), norms: step.stepNorms };
    };
    const order = Array.from({ length: 40 }, (_, i) => (i * 7) % 40);
    const whole = await multipliers(order);
    const [head, tail] = [await multipliers(order.slice(0, 17)), await multipliers(order.slice(17))];
    for (const k of ['M1', 'M3', 'A', 'O', 'regressors'] as const) {
      const joined = Float32Array.from([...head[k], ...tail[k]]);
      const scale = Math.max(...Array.from(whole[k], Math.abs));
      const worst = Math.max(...Array.from(joined, (v, i) => Math.abs(v - whole[k][i])));
      t.true(worst <= tolerance * scale, `${mode} ${k}: max |Δ| ${worst} against max ${scale}`);
    }
    whole.norms.forEach((v, i) => t.true(near(Math.hypot(head.norms[i], tail.norms[i]), v, tolerance)));
  }
});

for (const mode of Object.keys(MINI_BATCH))
  test(`'${mode}' under bounded staleness (τ = 1) with a slow shard uses stale slices and still learns`, async (t) => {
    const { model, data } = randomProblem({ ...classify, N: 64, seed: 11 });
    const options = { ...MINI_BATCH[mode], batchSize: 16 };
    // Far slower than a slice's compute, even on a loaded machine: the slow shard's answer is then
    // always one batch stale, the run deterministic (a timing-dependent mix makes 'local-duals' erratic).
    const run = { epochs: 8, staleness: 1, slow: { shard: 1, delay: 40 } };
    const { history, staleAnswers } = await miniBatchInProcess(model, data, options, 2, run);
    const [first, last] = [history[0], history.at(-1)!];
    t.log(`stale slices used: ${staleAnswers}; loss ${first.loss.toFixed(4)} → ${last.loss.toFixed(4)}`);
    t.true(staleAnswers > 0, 'the slow shard never lagged');
    for (const r of history) t.true(Number.isFinite(r.loss));
    t.true(last.loss < first.loss);
  });

test("'local-duals' over threads under bounded staleness (τ = 2) finishes and learns", async (t) => {
  const { model, data } = randomProblem({ ...classify, N: 64, seed: 11 });
  const options: AdmmTrainerOptions = { ...MINI_BATCH['local-duals'], batchSize: 16 };
  const trainer = new AdmmTrainer(model, { ...options, parallel: { workers: 2, staleness: 2 } });
  const result = await trainer.fit(data, { maxIterations: 8 });
  await trainer.close();
  t.is(result.status, 'max-iterations');
  // Which answers arrive stale depends on thread timing, so the curve does too: under load its last
  // epoch may sit above an earlier one. That it learns at all (and stays finite) is what τ = 2 must keep.
  const losses = result.history.map((r) => r.loss);
  t.true(losses.every(Number.isFinite));
  t.true(Math.min(...losses.slice(1)) < losses[0], `loss ${losses.join(' → ')}`);
});

// ---- the step safeguard in sharded mini-batch runs (on by default, as in one process) ------------

// ρ and η so small that batch updates overshoot: batch rejections in every mode, and passes undone
// ('sweeps' in each of its first two epochs).
const GUARDED: Record<string, AdmmTrainerOptions> = {
  adjoint: { mode: 'adjoint', batchSize: 8, rho: 0.05, eta: 0.01 },
  'local-duals': { mode: 'local-duals', batchSize: 8, rho: 0.05, eta: 0.01 },
  sweeps: { mode: 'sweeps', batchSize: 8, rho: 1e-3, eta: 1e-4, regressors: 'auxiliary' },
};

const rejections = (history: MiniBatchIterationRecord[]) => history.reduce((n, r) => n + r.safeguard!.rejections, 0);

for (const [mode, options] of Object.entries(GUARDED)) {
  test(`'${mode}' with the step safeguard: 1 shard over threads ≡ one process, bit for bit`, async (t) => {
    const { model, data } = randomProblem(miniBatchSpec);
    const trainer = new AdmmTrainer(model, { ...options, parallel: { workers: 1 } });
    const result = await trainer.fit(data, { maxIterations: EPOCHS });
    await trainer.close();
    const single = await unsharded(options, EPOCHS);
    const history = result.history as MiniBatchIterationRecord[];
    t.true(rejections(single.history) > 0, 'the problem has rejections');
    // Shortened steps and kept momentum steps: every move of GuardedBatches runs sharded too.
    t.true(
      single.history.some((r) => r.safeguard!.momentum! > 0),
      'a momentum step was kept'
    );
    t.deepEqual(bits(model.weights()), bits(single.weights));
    t.deepEqual(withoutTimes(history), withoutTimes(single.history));
  });

  for (const shards of [2, 3]) {
    const title = `'${mode}' with the step safeguard, ${shards} shards: threads ≡ in one process, ≈ one process`;
    test(title, async (t) => {
      const threaded = randomProblem(miniBatchSpec);
      const trainer = new AdmmTrainer(threaded.model, { ...options, parallel: { workers: shards } });
      const result = await trainer.fit(threaded.data, { maxIterations: EPOCHS });
      await trainer.close();
      const history = result.history as MiniBatchIterationRecord[];
      const { model, data } = randomProblem(miniBatchSpec);
      const loop = await miniBatchInProcess(model, data, options, shards);
      t.true(rejections(history) > 0, 'the problem has rejections');
      t.deepEqual(bits(threaded.model.weights()), bits(loop.weights));
      t.deepEqual(withoutTimes(history), withoutTimes(loop.history));
      // One process: the same verdicts (the objectives differ by summation order only), the same
      // ρ, losses up to summation order, after one epoch.
      const first = randomProblem(miniBatchSpec);
      const sharded = await miniBatchInProcess(first.model, first.data, options, shards, { epochs: 1 });
      const single = await unsharded(options, 1);
      const [s, w] = [sharded.history[0], single.history[0]];
      t.deepEqual(
        { ...s.safeguard!, rho: undefined, rhoMax: undefined },
        { ...w.safeguard!, rho: undefined, rhoMax: undefined }
      );
      s.safeguard!.rho.forEach((r, i) => t.true(near(r, w.safeguard!.rho[i], 1e-12)));
      t.true(near(s.loss, w.loss, 1e-4), `loss ${s.loss} ≉ ${w.loss}`);
      closeWeights(t, sharded.weights, single.weights, 1e-3);
    });
  }
}

test('the epoch rule holds sharded: a pass whose loss rose is undone, as in one process, bit for bit', async (t) => {
  // Strong weight decay on a trained model: each batch step lowers its objective (loss + decay) by
  // shrinking the weights, and so raises the training loss (step-safeguard.test.ts).
  const trained = async () => {
    const p = randomProblem(miniBatchSpec);
    await new AdmmTrainer(p.model, { mode: 'adjoint', batchSize: 10 }).fit(p.data, { maxIterations: 3 });
    return p;
  };
  const options: AdmmTrainerOptions = {
    mode: 'adjoint',
    batchSize: 10,
    beta: 5,
    safeguard: { epochTolerance: 0, maxEpochAttempts: 2 },
  };
  const single = await trained();
  const start = single.model.evaluate(single.data).loss;
  const reference = await new AdmmTrainer(single.model, options).fit(single.data, { maxIterations: 2 });
  const threaded = await trained();
  const trainer = new AdmmTrainer(threaded.model, { ...options, parallel: { workers: 1 } });
  const result = await trainer.fit(threaded.data, { maxIterations: 2 });
  await trainer.close();
  t.true(result.history[0].safeguard!.epochRejections > 0);
  t.is(result.history[0].loss, start, 'every pass undone: the start weights kept');
  t.deepEqual(withoutTimes(result.history), withoutTimes(reference.history));
  t.deepEqual(bits(threaded.model.weights()), bits(single.model.weights()));
  // Two shards: the same verdicts.
  const split = await trained();
  const loop = await miniBatchInProcess(split.model, split.data, options, 2, { epochs: 2 });
  t.deepEqual(
    loop.history.map((r) => r.safeguard!.epochRejections),
    reference.history.map((r) => r.safeguard!.epochRejections)
  );
});

test('bounded staleness has no step safeguard: unset is off, an explicit one is refused', async (t) => {
  const { model, data } = randomProblem({ ...classify, N: 32 });
  const trainer = new AdmmTrainer(model, { mode: 'adjoint', batchSize: 16, parallel: { workers: 2, staleness: 1 } });
  const result = await trainer.fit(data, { maxIterations: 1 });
  await trainer.close();
  t.is(result.history[0].safeguard, undefined);
  for (const safeguard of [true, { backoff: 3 }])
    t.throws(() => new AdmmTrainer(model, { mode: 'adjoint', safeguard, parallel: { workers: 2, staleness: 1 } }), {
      instanceOf: RangeError,
      message: /options\.safeguard/,
    });
  const { o, shape, classification } = prepare(model, data, { mode: 'adjoint', batchSize: 16 });
  const transport = new LoopbackTransport([]);
  const settings = { shards: 2, staleness: 1, trainer: o, classification };
  t.throws(() => new MiniBatchCoordinator(model, shape, transport, settings), { instanceOf: RangeError });
  await transport.close();
});
