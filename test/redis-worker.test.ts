/**
 * The Redis shard worker's process life (lib/parallel/redis/worker-main.ts) with real processes:
 * the shard index from the argument or JOB_COMPLETION_INDEX, rounds with a coordinator, the
 * 'stop' at completion, SIGTERM, a failing loop, and a superseded worker.
 */
import test from 'ava';
import { RedisCoordinatorTransport, RedisShardTransport } from '../lib/parallel/redis';
import { resolveShardIndex } from '../lib/parallel/redis/worker-main';
import type { Contribution } from '../lib/parallel/transport';
import { Child } from './helpers/redis-child-process';
import { sharedRedisServer } from './helpers/redis-server';

/** Short for the worker that is superseded (it learns it at its next heartbeat, a third of this). */
const TTL = 300;
/** Long for the live ones: a loaded machine may delay a heartbeat past 300 ms. */
const LIVE_TTL = 5_000;
const server = sharedRedisServer(test);
const runName = server.runName;

const coordinator = (run: string, shards: number) =>
  RedisCoordinatorTransport.connect({ url: server.url, run, shards, configHash: 'cfg', leaseMs: 5_000, blockMs: 100 });

/** A worker process for shard `index` of `run`, its index given through JOB_COMPLETION_INDEX. */
function worker(run: string, index: number, heartbeatMs = LIVE_TTL): Child {
  const env = { ...process.env, JOB_COMPLETION_INDEX: String(index) };
  return new Child(['worker', server.url, run, '-', String(heartbeatMs)], env);
}

const allAt = (S: number, version: number) => (arrived: ReadonlyMap<number, Contribution>) =>
  arrived.size === S && [...arrived.values()].every((c) => c.version === version);

test('the shard index comes from the argument, else from JOB_COMPLETION_INDEX, checked either way', (t) => {
  t.is(resolveShardIndex(3, {}), 3);
  t.is(resolveShardIndex('7', { JOB_COMPLETION_INDEX: '2' }), 7);
  t.is(resolveShardIndex(undefined, { JOB_COMPLETION_INDEX: '2' }), 2);
  t.throws(() => resolveShardIndex(undefined, {}), {
    instanceOf: TypeError,
    message: /shard must be an integer \(or the environment variable JOB_COMPLETION_INDEX\)/,
  });
  t.throws(() => resolveShardIndex(undefined, { JOB_COMPLETION_INDEX: 'x' }), {
    instanceOf: RangeError,
    message: /JOB_COMPLETION_INDEX \(environment\) must be an integer in \[0, 4095\]/,
  });
  const tooLarge = { JOB_COMPLETION_INDEX: '5000' };
  t.throws(() => resolveShardIndex(undefined, tooLarge), { instanceOf: RangeError, message: /JOB_COMPLETION_INDEX/ });
  t.throws(() => resolveShardIndex('-1', {}), { instanceOf: RangeError, message: /^shard must be an integer/ });
  t.throws(() => resolveShardIndex(2.5, {}), { instanceOf: RangeError, message: /^shard must be an integer/ });
});

test('worker processes (Indexed Job style) answer every round and exit 0 at the stop that complete() publishes', async (t) => {
  const run = runName('rounds');
  const c = await coordinator(run, 2);
  const workers = [0, 1].map((s) => worker(run, s));
  t.teardown(async () => {
    await Promise.all([c.close(), ...workers.map((w) => w.end())]);
  });
  const started = await Promise.all(workers.map((w) => w.next()));
  t.deepEqual(
    started.map((x) => x.shard),
    [0, 1]
  );
  for (let v = 1; v <= 3; v++) {
    await c.publish({ version: v, iteration: v, phase: 'uwb', scalars: {}, body: Float64Array.of(v, 0.5) });
    const got = await c.collect(v, 'uwb', allAt(2, v));
    t.deepEqual(
      got.map((x) => Array.from(x.body)),
      [
        [0, v + 0.5],
        [1, v + 0.5],
      ]
    );
  }
  await c.complete(60_000);
  for (const w of workers) {
    t.deepEqual(await w.next(), { done: true });
    t.is(await w.exit(), 0);
  }
});

test('SIGTERM stops a worker cleanly, and the coordinator sees it gone at once (not after its TTL)', async (t) => {
  const run = runName('sigterm');
  const c = await coordinator(run, 1);
  const w = worker(run, 0, 60_000);
  t.teardown(async () => {
    await Promise.all([c.close(), w.end()]);
  });
  await w.next();
  t.deepEqual(await c.lostShards(), []);
  w.signal('SIGTERM');
  t.deepEqual(await w.next(), { done: true });
  t.is(await w.exit(), 0);
  t.deepEqual(await c.lostShards(), [0]);
});

test("a worker whose loop fails records why: the coordinator's collect rejects with it; the worker exits 1", async (t) => {
  const run = runName('fail');
  const c = await coordinator(run, 1);
  const w = worker(run, 0, 60_000);
  t.teardown(async () => {
    await Promise.all([c.close(), w.end()]);
  });
  await w.next();
  await c.publish({ version: 1, iteration: 1, phase: 'fail', scalars: {}, body: new Float64Array(1) });
  await t.throwsAsync(() => c.collect(1, 'fail', allAt(1, 1)), {
    message: 'shard 0: asked to fail at version 1',
    code: 'ERR_INTERNAL',
  } as never);
  t.like(await w.next(), { error: 'asked to fail at version 1', code: 'ERR_INTERNAL' });
  t.is(await w.exit(), 1);
});

test('a worker superseded by a new incarnation of its shard stops with ERR_STALE_WRITER', async (t) => {
  const run = runName('superseded');
  const c = await coordinator(run, 1);
  const w = worker(run, 0, TTL);
  t.teardown(async () => {
    await Promise.all([c.close(), w.end()]);
  });
  await w.next();
  const replacement = await RedisShardTransport.connect({ url: server.url, run, shard: 0, heartbeatMs: LIVE_TTL });
  t.teardown(() => replacement.close());
  const outcome = await w.next();
  t.is(outcome.code, 'ERR_STALE_WRITER');
  t.is(await w.exit(), 1);
});
