/**
 * The sharded persistent loop over Redis ≡ over worker threads, bit for bit (synchronous, fixed
 * shard order): with the shards in this process, and with each shard in its own worker process
 * (runRedisWorker + runShard, the shard index from JOB_COMPLETION_INDEX), as a deployment runs.
 * Bounded staleness over Redis: a slow shard's stale answers are used and the run still fits.
 * The mini-batch modes ('adjoint', 'local-duals', 'sweeps') likewise: over Redis ≡ over threads,
 * without and with the step safeguard (its rejections and retries cross the transport).
 */
import path from 'node:path';
import test from 'ava';
import { AdmmTrainer, type RNN } from '../lib';
import type { AdmmTrainerOptions } from '../lib/admm/options';
import type { MiniBatchIterationRecord, PersistentIterationRecord } from '../lib/admm/record';
import { ParallelCoordinator } from '../lib/parallel/coordinator';
import { MiniBatchCoordinator } from '../lib/parallel/mini-batch-coordinator';
import { RedisCoordinatorTransport, RedisShardTransport, RedisTransportError } from '../lib/parallel/redis';
import { type ShardCore, runShard } from '../lib/parallel/shard';
import { Child } from './helpers/redis-child-process';
import { sharedRedisServer } from './helpers/redis-server';
import { shardedProblem } from './helpers/sharded-problem';
import { type ProblemSpec, randomProblem, withoutTimes } from './problems';

const classify: ProblemSpec = {
  N: 24,
  T: 5,
  d: 3,
  h: 6,
  K: 3,
  lossSteps: 'last',
  loss: 'softmax-cross-entropy',
  seed: 3,
};
const regress: ProblemSpec = { N: 24, T: 4, d: 2, h: 5, K: 2, lossSteps: 'every', loss: 'squared-error', seed: 5 };
const ITERATIONS = 4;
const WORKER = path.join(__dirname, 'helpers', 'redis-shard-worker.js');

const server = sharedRedisServer(test);
const runName = server.runName;

const coordinatorSide = (url: string, run: string, shards: number) =>
  RedisCoordinatorTransport.connect({ url, run, shards, configHash: 'spec', leaseMs: 5_000 });

// The transports are compared here, from the same start: no warm start (test/parallel.test.ts covers it).
const optionsFor = (spec: ProblemSpec): AdmmTrainerOptions => ({
  mode: 'persistent',
  lossSteps: spec.lossSteps,
  warmStart: 'none',
});

interface Outcome {
  history: PersistentIterationRecord[];
  weights: ReturnType<RNN['weights']>;
}

/** ρ so small that the true-loss safeguard (on by default) rejects iterations: its 'safeguard' round crosses Redis. */
const rejecting = (spec: ProblemSpec): AdmmTrainerOptions => ({ ...optionsFor(spec), rho: [0.01, 0.01, 0.01] });

/** A fit of `iterations` on `spec`'s problem with `shards` worker threads: its history and weights. */
async function fitOverThreads<R>(spec: ProblemSpec, options: AdmmTrainerOptions, shards: number, iterations: number) {
  const { model, data } = randomProblem(spec);
  const trainer = new AdmmTrainer(model, { ...options, parallel: { workers: shards } });
  try {
    const result = await trainer.fit(data, { maxIterations: iterations });
    return { history: result.history as R[], weights: model.weights() };
  } finally {
    await trainer.close();
  }
}

const overThreads = (spec: ProblemSpec, shards: number, options = optionsFor(spec)): Promise<Outcome> =>
  fitOverThreads<PersistentIterationRecord>(spec, options, shards, ITERATIONS);

/** The coordinator's iterations over Redis, with `startShards` providing the shards' side. */
async function overRedis(
  spec: ProblemSpec,
  shards: number,
  startShards: (run: string) => Promise<() => Promise<void>>,
  trainerOptions = optionsFor(spec)
): Promise<Outcome & { bytes: number }> {
  const { model, data } = randomProblem(spec);
  const { shape, coordinator: options } = shardedProblem(model, data, trainerOptions, shards);
  const run = runName('equivalence');
  const url = server.url;
  const transport = await coordinatorSide(url, run, shards);
  const stopShards = await startShards(run);
  const history: PersistentIterationRecord[] = [];
  try {
    const coordinator = new ParallelCoordinator(model, shape, transport, options);
    const aborted = () => new Error('aborted');
    for (let k = 0; k < ITERATIONS; k++) history.push(await coordinator.iteration(undefined, aborted));
    const bytes = transport.stats().bytesIn;
    await transport.complete(60_000); // publishes 'stop': the shards' loops return
    return { history, weights: model.weights(), bytes };
  } finally {
    await transport.close();
    await stopShards();
  }
}

function inProcessShards(spec: ProblemSpec, shards: number) {
  return async (run: string) => {
    const { model, data } = randomProblem(spec);
    const { parts } = shardedProblem(model, data, optionsFor(spec), shards);
    const sides = await Promise.all(
      parts.map((_, i) => RedisShardTransport.connect({ url: server.url, run, shard: i, heartbeatMs: 5_000 }))
    );
    const loops = parts.map((part, i) => runShard(part, sides[i]));
    return async () => {
      await Promise.all(loops);
      await Promise.all(sides.map((s) => s.close()));
    };
  };
}

/** Worker processes for every shard of `run`, each once registered. */
async function startWorkers(run: string, spec: ProblemSpec, shards: number, heartbeatMs = 5_000): Promise<Child[]> {
  const problem = [JSON.stringify(spec), JSON.stringify(optionsFor(spec))];
  const args = [server.url, run, ...problem, String(shards), String(heartbeatMs)];
  const workers = Array.from(
    { length: shards },
    (_, i) => new Child(args, { ...process.env, JOB_COMPLETION_INDEX: String(i) }, WORKER)
  );
  for (const w of workers) {
    const line = await w.next(60_000);
    if (!('ready' in line)) throw new Error(`worker: ${JSON.stringify(line)}`);
  }
  return workers;
}

function workerProcesses(spec: ProblemSpec, shards: number) {
  return async (run: string) => {
    const workers = await startWorkers(run, spec, shards);
    return async () => {
      const ends = await Promise.all(workers.map((w) => w.next(60_000)));
      const codes = await Promise.all(workers.map((w) => w.exit()));
      await Promise.all(workers.map((w) => w.end()));
      if (ends.some((e) => !e.done) || codes.some((c) => c !== 0))
        throw new Error(`workers ended with ${JSON.stringify(ends)}, exit codes ${codes}`);
    };
  };
}

// 3 shards: a sum of 2 is the same in either order; of 3 it is not, so shard order is checked too.
for (const [label, spec, S] of [
  ['classification', classify, 2],
  ['regression', regress, 3],
] as const) {
  test(`${label}: ${S} shards over Redis (in this process) ≡ over worker threads, bit for bit`, async (t) => {
    const threads = await overThreads(spec, S);
    const redis = await overRedis(spec, S, inProcessShards(spec, S));
    t.deepEqual(redis.weights, threads.weights);
    t.deepEqual(withoutTimes(redis.history), withoutTimes(threads.history));
    t.true(redis.bytes > 0);
  });
}

test('3 worker processes over Redis (Indexed Job style) ≡ 3 worker threads, bit for bit', async (t) => {
  const threads = await overThreads(classify, 3);
  const redis = await overRedis(classify, 3, workerProcesses(classify, 3));
  t.deepEqual(redis.weights, threads.weights);
  t.deepEqual(withoutTimes(redis.history), withoutTimes(threads.history));
});

test('safeguard rejections: 3 worker processes over Redis ≡ 3 worker threads, bit for bit', async (t) => {
  const threads = await overThreads(classify, 3, rejecting(classify));
  t.true(
    threads.history.some((r) => r.safeguard!.rejections > 0),
    'no iteration was rejected'
  );
  const redis = await overRedis(classify, 3, workerProcesses(classify, 3), rejecting(classify));
  t.deepEqual(redis.weights, threads.weights);
  t.deepEqual(withoutTimes(redis.history), withoutTimes(threads.history));
});

test('bounded staleness (τ = 2) over Redis with a slow shard uses stale answers and still fits the problem', async (t) => {
  const spec = { ...classify, N: 40, seed: 7 };
  const { model, data } = randomProblem(spec);
  const { shape, parts, coordinator: sync } = shardedProblem(model, data, optionsFor(spec), 2);
  const slow: ShardCore = {
    answer: async (p) => {
      await new Promise((resolve) => setTimeout(resolve, 15));
      return parts[1].answer(p);
    },
  };
  const run = runName('stale');
  const url = server.url;
  const transport = await coordinatorSide(url, run, 2);
  const connect = (shard: number) => RedisShardTransport.connect({ url, run, shard, heartbeatMs: 5_000 });
  const sides = await Promise.all([connect(0), connect(1)]);
  const loops = [runShard(parts[0], sides[0]), runShard(slow, sides[1])];
  const coordinator = new ParallelCoordinator(model, shape, transport, { ...sync, staleness: 2, safeguard: false });
  const history: PersistentIterationRecord[] = [];
  try {
    const aborted = () => new Error('aborted');
    for (let k = 0; k < 30; k++) history.push(await coordinator.iteration(undefined, aborted));
    await transport.complete(60_000);
    await Promise.all(loops);
  } finally {
    await transport.close();
    await Promise.all(sides.map((s) => s.close()));
  }
  const [first, last] = [history[0].loss, history.at(-1)!.loss];
  t.log(`stale answers used: ${coordinator.staleAnswers}; loss ${first.toFixed(4)} → ${last.toFixed(4)}`);
  t.true(coordinator.staleAnswers > 0, 'the slow shard never lagged: nothing asynchronous was tested');
  for (const r of history) t.true(Number.isFinite(r.loss) && Number.isFinite(r.lagrangian));
  t.true(history.at(-1)!.loss < history[0].loss);
});

// The loss is noticed while the next round waits (collect) or, once the heartbeat has expired,
// before it publishes (lostShards): both must raise the transport's own error.
for (const noticed of ['during the round', 'before the round'] as const)
  test(`a worker process killed with SIGKILL, noticed ${noticed}: the next iteration rejects with ERR_SHARD_LOST`, async (t) => {
    const { model, data } = randomProblem(classify);
    const { shape, coordinator: options } = shardedProblem(model, data, optionsFor(classify), 2);
    const run = runName(`killed-${noticed.split(' ')[0]}`);
    const transport = await coordinatorSide(server.url, run, 2);
    const workers = await startWorkers(run, classify, 2, 500);
    t.teardown(async () => {
      await transport.close();
      await Promise.all(workers.map((w) => w.end()));
    });
    const coordinator = new ParallelCoordinator(model, shape, transport, options);
    const aborted = () => new Error('aborted');
    await coordinator.iteration(undefined, aborted);
    const before = model.weights();
    workers[1].signal('SIGKILL');
    if (noticed === 'before the round') {
      await workers[1].exit();
      await new Promise((resolve) => setTimeout(resolve, 3 * 500));
    }
    await t.throwsAsync(() => coordinator.iteration(undefined, aborted), {
      instanceOf: RedisTransportError,
      code: 'ERR_SHARD_LOST',
      message: /shard 1 lost \(heartbeat expired\)/,
    } as never);
    t.deepEqual(model.weights(), before, 'no half-done iteration reached the weights');
  });

// ---- the mini-batch modes: every shard takes a slice of each batch ------------------------------

const EPOCHS = 3;
// N = 25 in batches of 8: the last batch holds 1 sequence, so with 3 shards two slices are empty.
const miniBatchSpec: ProblemSpec = { ...classify, N: 25 };
const miniBatchOptions = (mode: 'adjoint' | 'local-duals' | 'sweeps'): AdmmTrainerOptions => ({
  mode,
  batchSize: 8,
  trustRegion: 0.5,
  // Forward regressors: with the auxiliary ones and the dual walk, 'sweeps' without a safeguard
  // diverges on the staleness test's problem (it does unsharded too).
  safeguard: false,
});

interface MiniBatchOutcome {
  history: MiniBatchIterationRecord[];
  weights: ReturnType<RNN['weights']>;
  staleAnswers: number;
}

async function miniBatchOverThreads(options: AdmmTrainerOptions, shards: number): Promise<MiniBatchOutcome> {
  const fit = await fitOverThreads<MiniBatchIterationRecord>(miniBatchSpec, options, shards, EPOCHS);
  return { ...fit, staleAnswers: 0 };
}

/** The mini-batch coordinator's epochs over Redis; `shardSide` runs the shards' side of `run`. */
async function miniBatchOverRedis(
  options: AdmmTrainerOptions,
  shards: number,
  shardSide: (run: string) => Promise<() => Promise<void>>,
  staleness = 0,
  epochs = EPOCHS
): Promise<MiniBatchOutcome> {
  const { model, data } = randomProblem(miniBatchSpec);
  const { shape, miniBatch } = shardedProblem(model, data, options, shards);
  const run = runName('mini-batch');
  const transport = await coordinatorSide(server.url, run, shards);
  const stopShards = await shardSide(run);
  const history: MiniBatchIterationRecord[] = [];
  try {
    const coordinator = new MiniBatchCoordinator(model, shape, transport, { ...miniBatch, staleness });
    const aborted = () => new Error('aborted');
    for (let k = 0; k < epochs; k++) history.push(await coordinator.epoch(undefined, aborted));
    await transport.complete(60_000);
    return { history, weights: model.weights(), staleAnswers: coordinator.staleAnswers };
  } finally {
    await transport.close();
    await stopShards();
  }
}

/** Every shard of `run` in this process over the Redis transport (shard `slow` answers `delay` ms late). */
function miniBatchShardsHere(options: AdmmTrainerOptions, shards: number, slow?: { shard: number; delay: number }) {
  return async (run: string) => {
    const { model, data } = randomProblem(miniBatchSpec);
    const { parts } = shardedProblem(model, data, options, shards);
    const cores: ShardCore[] = parts.map((part, i) =>
      i === slow?.shard
        ? { answer: (p) => new Promise((resolve) => setTimeout(resolve, slow.delay)).then(() => part.answer(p)) }
        : part
    );
    const sides = await Promise.all(
      cores.map((_, i) => RedisShardTransport.connect({ url: server.url, run, shard: i, heartbeatMs: 5_000 }))
    );
    const loops = cores.map((core, i) => runShard(core, sides[i]));
    return async () => {
      await Promise.all(loops);
      await Promise.all(sides.map((s) => s.close()));
    };
  };
}

/** A worker process per shard of `run`, each rebuilding the problem and its mini-batch shard. */
function miniBatchWorkerProcesses(options: AdmmTrainerOptions, shards: number) {
  return async (run: string) => {
    const problem = [JSON.stringify(miniBatchSpec), JSON.stringify(options)];
    const args = [server.url, run, ...problem, String(shards), '5000'];
    const env = (i: number) => ({ ...process.env, JOB_COMPLETION_INDEX: String(i) });
    const workers = Array.from({ length: shards }, (_, i) => new Child(args, env(i), WORKER));
    for (const w of workers) {
      const line = await w.next(60_000);
      if (!('ready' in line)) throw new Error(`worker: ${JSON.stringify(line)}`);
    }
    return async () => {
      const ends = await Promise.all(workers.map((w) => w.next(60_000)));
      const codes = await Promise.all(workers.map((w) => w.exit()));
      await Promise.all(workers.map((w) => w.end()));
      if (ends.some((e) => !e.done) || codes.some((c) => c !== 0))
        throw new Error(`workers ended with ${JSON.stringify(ends)}, exit codes ${codes}`);
    };
  };
}

for (const mode of ['adjoint', 'local-duals', 'sweeps'] as const) {
  test(`'${mode}': 3 shards over Redis (in this process) ≡ over worker threads, bit for bit`, async (t) => {
    const options = miniBatchOptions(mode);
    const threads = await miniBatchOverThreads(options, 3);
    const redis = await miniBatchOverRedis(options, 3, miniBatchShardsHere(options, 3));
    t.deepEqual(redis.weights, threads.weights);
    t.deepEqual(withoutTimes(redis.history), withoutTimes(threads.history));
  });
}

test("'local-duals': 2 worker processes over Redis ≡ 2 worker threads, bit for bit", async (t) => {
  const options = miniBatchOptions('local-duals');
  const threads = await miniBatchOverThreads(options, 2);
  const redis = await miniBatchOverRedis(options, 2, miniBatchWorkerProcesses(options, 2));
  t.deepEqual(redis.weights, threads.weights);
  t.deepEqual(withoutTimes(redis.history), withoutTimes(threads.history));
});

test("'sweeps' under bounded staleness (τ = 1) over Redis with a slow shard uses stale slices and learns", async (t) => {
  const options = miniBatchOptions('sweeps');
  const slow = { shard: 1, delay: 15 };
  const run = await miniBatchOverRedis(options, 2, miniBatchShardsHere(options, 2, slow), 1, 6);
  const [first, last] = [run.history[0].loss, run.history.at(-1)!.loss];
  t.log(`stale slices used: ${run.staleAnswers}; loss ${first.toFixed(4)} → ${last.toFixed(4)}`);
  t.true(run.staleAnswers > 0, 'the slow shard never lagged: nothing asynchronous was tested');
  for (const r of run.history) t.true(Number.isFinite(r.loss));
  t.true(last < first);
});

// The step safeguard (on by default): ρ and η so small that batch updates are rejected (and, in
// 'sweeps', whole passes undone), so every verdict and retry crosses the transport.
const guardedOptions = (mode: 'adjoint' | 'local-duals' | 'sweeps'): AdmmTrainerOptions =>
  mode === 'sweeps'
    ? { mode, batchSize: 8, rho: 1e-3, eta: 1e-4, regressors: 'auxiliary' }
    : { mode, batchSize: 8, rho: 0.05, eta: 0.01 };

const undone = (history: MiniBatchIterationRecord[]) =>
  history.reduce((n, r) => n + r.safeguard!.rejections + r.safeguard!.epochRejections, 0);

for (const [mode, shards] of [
  ['adjoint', 3],
  ['local-duals', 2],
  ['sweeps', 3],
] as const) {
  test(`'${mode}', step safeguard: ${shards} shards over Redis ≡ over worker threads, bit for bit`, async (t) => {
    const options = guardedOptions(mode);
    const threads = await miniBatchOverThreads(options, shards);
    const redis = await miniBatchOverRedis(options, shards, miniBatchShardsHere(options, shards));
    t.true(undone(threads.history) > 0, 'the safeguard rejected nothing: the test would not see its rounds');
    t.deepEqual(redis.weights, threads.weights);
    t.deepEqual(withoutTimes(redis.history), withoutTimes(threads.history));
  });
}

test("'adjoint', step safeguard: 2 worker processes over Redis ≡ 2 worker threads, bit for bit", async (t) => {
  const options = guardedOptions('adjoint');
  const threads = await miniBatchOverThreads(options, 2);
  const redis = await miniBatchOverRedis(options, 2, miniBatchWorkerProcesses(options, 2));
  t.true(undone(threads.history) > 0);
  t.deepEqual(redis.weights, threads.weights);
  t.deepEqual(withoutTimes(redis.history), withoutTimes(threads.history));
});
