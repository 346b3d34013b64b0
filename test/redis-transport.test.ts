/**
 * The Redis transport against a redis-server of the test's own (loopback, free port): the round
 * trip of publications and contributions, the readiness rules, and the fault model — config
 * mismatch, the leader lease and its epoch fencing, zombie shards, killed shards, a Redis restart.
 * Children play the processes that are paused (SIGSTOP) or killed (SIGKILL) for real.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import Redis from 'ioredis';
import { RedisCoordinatorTransport, RedisShardTransport, RedisTransportError } from '../lib/parallel/redis';
import type { Contribution } from '../lib/parallel/transport';
import { Child } from './helpers/redis-child-process';
import { EventLoopMonitor } from './helpers/event-loop';
import { sharedRedisServer, startRedisServer } from './helpers/redis-server';

const execFileAsync = promisify(execFile);
/** Short TTLs keep the fault tests fast (the defaults are 10 s): for the processes that fail. */
const TTL = 500;
/** The live ones get more: a loaded machine may delay a heartbeat past 300 ms. */
const LIVE_TTL = 5_000;

const server = sharedRedisServer(test);
const runName = server.runName;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function coordinator(run: string, shards: number, extra: Record<string, unknown> = {}) {
  const options = { url: server.url, run, shards, configHash: 'cfg-1', leaseMs: LIVE_TTL, ...extra };
  return RedisCoordinatorTransport.connect(options);
}

function shard(run: string, index: number, extra: Record<string, unknown> = {}, url = server.url) {
  return RedisShardTransport.connect({ url, run, shard: index, heartbeatMs: LIVE_TTL, ...extra });
}

function contribution(s: RedisShardTransport, iteration: number, version = iteration, phase = 'uwb'): Contribution {
  const body = Float64Array.from({ length: 5 }, (_, i) => Math.sin(1 + s.shard * 7 + iteration * 3 + i) / 3);
  return { shard: s.shard, token: s.token, iteration, phase, version, scalars: { samples: 10 + s.shard }, body };
}

const allAt = (S: number, iteration: number) => (arrived: ReadonlyMap<number, Contribution>) =>
  arrived.size === S && [...arrived.values()].every((c) => c.iteration === iteration);

/** The bounded-staleness rule: every shard computed against a version ≥ k − τ. */
const withinStaleness = (S: number, k: number, tau: number) => (arrived: ReadonlyMap<number, Contribution>) =>
  arrived.size === S && [...arrived.values()].every((c) => c.version >= k - tau);

test('options are checked at the boundary, naming the parameter', async (t) => {
  const base = { url: server.url, run: 'x', shards: 2, configHash: 'h' };
  const bad: [Record<string, unknown>, new (...a: never[]) => Error, RegExp][] = [
    [{ url: 42 }, TypeError, /options\.url must be a redis:\/\/ or rediss:\/\/ URL string/],
    [{ url: 'http://127.0.0.1:6379' }, RangeError, /options\.url must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ url: 'not a url' }, RangeError, /options\.url/],
    [{ run: '' }, RangeError, /options\.run must be 1 to 64 characters/],
    [{ run: 'a{b}' }, RangeError, /options\.run/],
    [{ run: 7 }, TypeError, /options\.run must be a run name/],
    [{ shards: 0 }, RangeError, /options\.shards must be an integer in \[1, 4096\]/],
    [{ shards: '2' }, TypeError, /options\.shards must be an integer/],
    [{ configHash: 'has space' }, RangeError, /options\.configHash/],
    [{ leaseMs: 5 }, RangeError, /options\.leaseMs/],
    [{ signal: 'no' }, TypeError, /options\.signal must be an AbortSignal/],
  ];
  for (const [change, type, message] of bad) {
    const connect = () => RedisCoordinatorTransport.connect({ ...base, ...change } as never);
    await t.throwsAsync(connect, { instanceOf: type, message });
  }
  const shardBase = { url: server.url, run: 'x', shard: 0 };
  await t.throwsAsync(() => RedisShardTransport.connect({ ...shardBase, shard: -1 }), {
    instanceOf: RangeError,
    message: /options\.shard must be an integer in \[0, 4095\]/,
  });
  await t.throwsAsync(() => RedisShardTransport.connect({ ...shardBase, shard: 1.5 }), {
    instanceOf: RangeError,
    message: /options\.shard/,
  });
  await t.throwsAsync(() => RedisShardTransport.connect({ ...shardBase, heartbeatMs: 'x' } as never), {
    instanceOf: TypeError,
    message: /options\.heartbeatMs/,
  });
  await t.throwsAsync(() => RedisShardTransport.connect(null as never), {
    instanceOf: TypeError,
    message: /options must be an object/,
  });
});

test('an unreachable server is an error naming its address, without the password', async (t) => {
  const url = 'redis://worker:s3cret@127.0.0.1:1';
  const error = await t.throwsAsync(() => RedisShardTransport.connect({ url, run: 'r', shard: 0 }), {
    message: /^cannot connect to Redis at redis:\/\/worker:\*\*\*@127\.0\.0\.1:1: .*ECONNREFUSED/,
  });
  t.false(error!.message.includes('s3cret'));
});

test('publications reach every shard in version order; contributions come back in shard order, bit for bit', async (t) => {
  const run = runName('round-trip');
  const S = 3;
  const c = await coordinator(run, S);
  const shards = await Promise.all(Array.from({ length: S }, (_, s) => shard(run, s)));
  t.teardown(async () => {
    await Promise.all([c.close(), ...shards.map((s) => s.close())]);
  });
  const published = [0, 1, 2].map((v) => ({
    version: v,
    iteration: v,
    phase: v === 0 ? 'start' : 'uwb',
    scalars: { rho: 1.5 * v, nan: NaN, inf: -Infinity },
    body: Float64Array.from({ length: 1000 }, (_, i) => Math.cos(i * (v + 1)) * 1e-300 * (i % 3 === 0 ? -0 : 1)),
  }));
  for (const p of published) {
    await c.publish(p);
    for (const s of shards) {
      const got = await s.nextPublication(p.version - 1);
      t.is(got.version, p.version);
      t.is(got.phase, p.phase);
      t.deepEqual(got.scalars, p.scalars);
      t.deepEqual(new Uint8Array(got.body.buffer), new Uint8Array(p.body.buffer), 'the body, byte for byte');
    }
  }
  // A shard that fell behind skips to the newest publication (bounded staleness).
  t.is((await shards[0].nextPublication(-1)).version, 2);
  t.is((await c.lastPublication())?.version, 2);
  await t.throwsAsync(() => c.publish(published[1]), { instanceOf: RedisTransportError, message: /ERR_VERSION_ORDER/ });

  // Arrival order 2, 0, 1; the result is in shard order either way.
  const pending = c.collect(1, 'uwb', allAt(S, 1));
  const sent = new Map<number, Contribution>();
  for (const s of [shards[2], shards[0], shards[1]]) {
    const mine = contribution(s, 1);
    sent.set(s.shard, mine);
    await s.contribute(mine);
  }
  const got = await pending;
  t.deepEqual(
    got.map((x) => x.shard),
    [0, 1, 2]
  );
  for (const x of got) {
    const want = sent.get(x.shard)!;
    t.is(x.token, want.token);
    t.deepEqual(x.scalars, want.scalars);
    t.deepEqual(new Uint8Array(x.body.buffer), new Uint8Array(want.body.buffer));
  }
  await t.throwsAsync(() => shards[0].contribute({ ...contribution(shards[0], 2), token: 'forged' }), {
    instanceOf: RangeError,
    message: /contribution\.token/,
  });
});

test('the synchronous rule waits for the last shard; the bounded-staleness rule accepts versions ≥ k − τ', async (t) => {
  const run = runName('readiness');
  const S = 3;
  const c = await coordinator(run, S);
  const shards = await Promise.all(Array.from({ length: S }, (_, s) => shard(run, s)));
  t.teardown(async () => {
    await Promise.all([c.close(), ...shards.map((s) => s.close())]);
  });
  for (const s of shards) await s.contribute(contribution(s, 0));
  await shards[0].contribute(contribution(shards[0], 1));
  await shards[1].contribute(contribution(shards[1], 1));
  let settled = false;
  const sync = c.collect(1, 'uwb', allAt(S, 1)).finally(() => (settled = true));
  await sleep(200);
  t.false(settled, 'shard 2 is still at iteration 0');
  await shards[2].contribute(contribution(shards[2], 1));
  t.deepEqual(
    (await sync).map((x) => x.iteration),
    [1, 1, 1]
  );

  // Versions 3, 3, 2 at iteration 3: τ = 1 is ready at once, τ = 0 waits for shard 2.
  await shards[0].contribute(contribution(shards[0], 3, 3));
  await shards[1].contribute(contribution(shards[1], 3, 3));
  await shards[2].contribute(contribution(shards[2], 2, 2));
  const stale = await c.collect(3, 'uwb', withinStaleness(S, 3, 1));
  t.deepEqual(
    stale.map((x) => x.version),
    [3, 3, 2]
  );
  settled = false;
  const strict = c.collect(3, 'uwb', withinStaleness(S, 3, 0)).finally(() => (settled = true));
  await sleep(200);
  t.false(settled);
  await shards[2].contribute(contribution(shards[2], 3, 3));
  t.deepEqual(
    (await strict).map((x) => x.version),
    [3, 3, 3]
  );

  // The latest stays: a contribution of an older version than the one stored is dropped.
  await shards[1].contribute(contribution(shards[1], 2, 2));
  const latest = await c.collect(3, 'uwb', withinStaleness(S, 3, 0));
  t.deepEqual(
    latest.map((x) => x.version),
    [3, 3, 3]
  );
  t.deepEqual(latest[1].body, contribution(shards[1], 3, 3).body);

  // Phases are separate: a contribution to 'vc' does not answer 'uwb'.
  await shards[0].contribute(contribution(shards[0], 4, 4, 'vc'));
  const vc = await c.collect(4, 'vc', (m) => m.size === 1);
  t.deepEqual(
    vc.map((x) => [x.shard, x.phase]),
    [[0, 'vc']]
  );
});

test('a worker expecting another configuration is refused, and so is a shard index outside the run', async (t) => {
  const run = runName('config');
  const c = await coordinator(run, 2);
  t.teardown(() => c.close());
  await t.throwsAsync(() => shard(run, 0, { configHash: 'cfg-2' }), {
    instanceOf: RedisTransportError,
    message: /ERR_CONFIG_MISMATCH the run has configuration cfg-1, the shard expects cfg-2/,
  });
  await t.throwsAsync(() => shard(run, 2), {
    instanceOf: RedisTransportError,
    message: /shard 2 is out of range: the run has 2 shards/,
  });
  const ok = await shard(run, 1, { configHash: 'cfg-1' });
  t.is(ok.configHash, 'cfg-1');
  t.is(ok.shards, 2);
  await ok.close();
  await t.throwsAsync(() => coordinator(run, 2, { configHash: 'cfg-2', id: 'other' }), {
    instanceOf: RedisTransportError,
    message: /ERR_CONFIG_MISMATCH/,
  });
  await t.throwsAsync(() => shard(runName('nobody'), 0, { waitMs: 100 }), {
    instanceOf: RedisTransportError,
    message: /no coordinator created it within 100 ms/,
  });
});

test('a worker that starts before the coordinator waits for the run, and reads the configuration', async (t) => {
  const run = runName('early');
  const early = shard(run, 0);
  await sleep(100);
  const c = await coordinator(run, 1, { config: '{"hiddenSize":8}' });
  const s = await early;
  t.teardown(async () => {
    await Promise.all([c.close(), s.close()]);
  });
  t.is(s.config, '{"hiddenSize":8}');
});

test('the leader lease: a live one is refused, a paused leader is deposed, and its late publish is refused', async (t) => {
  const run = runName('lease');
  const leader = new Child(['coordinator', server.url, run, '2', 'cfg-1', String(TTL)]);
  t.teardown(() => leader.end());
  const { epoch: first } = (await leader.next()) as { epoch: number };
  t.is(first, 1);
  await t.throwsAsync(() => coordinator(run, 2), { instanceOf: RedisTransportError, message: /ERR_LEASE_HELD/ });

  leader.signal('SIGSTOP');
  let successor: RedisCoordinatorTransport | undefined;
  for (let tries = 0; !successor && tries < 100; tries++) {
    try {
      successor = await coordinator(run, 2);
    } catch (e) {
      if ((e as RedisTransportError).code !== 'ERR_LEASE_HELD') throw e;
      await sleep(50);
    }
  }
  t.truthy(successor, 'the lease expired while the leader was paused');
  t.teardown(() => successor!.close());
  t.true(successor!.epoch > first, `epoch ${successor!.epoch} > ${first}`);
  await successor!.publish({ version: 0, iteration: 0, phase: 'start', scalars: {}, body: new Float64Array(1) });

  leader.signal('SIGCONT');
  leader.send('publish 1');
  const late = await leader.next();
  t.false(late.ok);
  t.is(late.code, 'ERR_STALE_WRITER');
  t.regex(String(late.message), /coordinator epoch 1 was superseded by 2/);
  t.is((await successor!.lastPublication())?.version, 0, 'the deposed leader wrote nothing');
});

test('a leader that closes releases the lease: its successor takes over at once, with a higher epoch', async (t) => {
  const run = runName('handover');
  const a = await coordinator(run, 1, { leaseMs: 60_000 });
  await a.close();
  const b = await coordinator(run, 1, { leaseMs: 60_000 });
  t.teardown(() => b.close());
  t.is(b.epoch, a.epoch + 1);
});

test('a zombie shard (paused while its replacement registered) has its late contribution refused', async (t) => {
  const run = runName('zombie');
  const c = await coordinator(run, 2);
  t.teardown(() => c.close());
  const zombie = new Child(['shard', server.url, run, '0', String(TTL)]);
  t.teardown(() => zombie.end());
  const { token: old } = (await zombie.next()) as { token: string };
  zombie.signal('SIGSTOP');
  zombie.send('contribute 7'); // read only once it runs again
  let stale: Error | undefined;
  const replacement = await shard(run, 0, { onStale: (e: Error) => (stale = e) });
  t.teardown(() => replacement.close());
  t.not(replacement.token, old);
  await replacement.contribute(contribution(replacement, 7));

  zombie.signal('SIGCONT');
  const late = await zombie.next();
  t.false(late.ok);
  t.is(late.code, 'ERR_STALE_WRITER');
  t.regex(String(late.message), new RegExp(`token ${old.replace('.', '\\.')} was superseded`));
  const [kept] = await c.collect(7, 'uwb', (m) => m.has(0));
  t.is(kept.token, replacement.token, "the replacement's contribution stands");
  t.deepEqual(kept.body, contribution(replacement, 7).body);
  t.is(stale, undefined, 'the replacement itself is current');

  // In one process too: the superseded transport learns it from its own next write.
  const second = await shard(run, 1);
  const third = await shard(run, 1);
  t.teardown(async () => {
    await Promise.all([second.close(), third.close()]);
  });
  await t.throwsAsync(() => second.contribute(contribution(second, 8)), {
    instanceOf: RedisTransportError,
    message: /ERR_STALE_WRITER/,
  });
  await t.throwsAsync(() => second.nextPublication(-1), { message: /ERR_STALE_WRITER/ });
});

test('a shard killed with SIGKILL is reported by lostShards() once its heartbeat expires, once', async (t) => {
  const run = runName('kill');
  const c = await coordinator(run, 2);
  t.teardown(() => c.close());
  const alive = await shard(run, 0);
  t.teardown(() => alive.close());
  const victim = new Child(['shard', server.url, run, '1', String(TTL)]);
  t.teardown(() => victim.end());
  await victim.next();
  await sleep(2 * TTL); // longer than the TTL: heartbeats keep both alive
  t.deepEqual(await c.lostShards(), []);

  victim.signal('SIGKILL');
  let lost: number[] = [];
  for (let tries = 0; lost.length === 0 && tries < 100; tries++) {
    await sleep(50);
    lost = await c.lostShards();
  }
  t.deepEqual(lost, [1]);
  t.deepEqual(await c.lostShards(), [], 'reported once');

  // Its replacement is live again, and reported again if it lapses in turn.
  const replacement = await shard(run, 1);
  t.deepEqual(await c.lostShards(), []);
  await replacement.close(); // it leaves: its heartbeat key goes with it, no TTL to wait out
  t.deepEqual(await c.lostShards(), [1]);
});

test('redis-server killed and restarted with AOF loses no acknowledged publication or contribution', async (t) => {
  const aof = await startRedisServer({ appendOnly: true });
  t.teardown(() => aof.stop());
  const run = runName('aof');
  const url = aof.url;
  const c = await RedisCoordinatorTransport.connect({ url, run, shards: 2, configHash: 'cfg-1', leaseMs: 5_000 });
  const shards = await Promise.all([0, 1].map((s) => shard(run, s, { heartbeatMs: 5_000 }, url)));
  t.teardown(async () => {
    await Promise.all([c.close(), ...shards.map((s) => s.close())]);
  });
  for (let v = 0; v < 3; v++) {
    await c.publish({ version: v, iteration: v, phase: 'uwb', scalars: { v }, body: Float64Array.of(v, -v) });
  }
  for (const s of shards) await s.contribute(contribution(s, 2));

  await aof.restart(); // SIGKILL: no shutdown save, only what was fsynced

  // The same clients reconnect; the scripts are loaded again (the restart forgot them).
  t.deepEqual((await c.lastPublication())?.body, Float64Array.of(2, -2));
  await c.publish({ version: 3, iteration: 3, phase: 'uwb', scalars: {}, body: Float64Array.of(3) });
  t.is((await shards[0].nextPublication(2)).version, 3);
  const raw = new Redis(url);
  t.teardown(() => raw.disconnect());
  const ids = (await raw.xrange(`admmirnn:{${run}}:versions`, '-', '+')).map(([id]) => id);
  t.deepEqual(ids, ['0-1', '1-1', '2-1', '3-1'], 'every acknowledged version survived');
  const got = await c.collect(2, 'uwb', allAt(2, 2));
  t.deepEqual(
    got.map((x) => x.token),
    shards.map((s) => s.token)
  );
  t.deepEqual(got[1].body, contribution(shards[1], 2).body);
  await shards[1].contribute(contribution(shards[1], 3));
});

// Serial: the tick count measures this test's blocking reads, not the other tests' work.
test.serial('blocking reads leave the event loop free and end at once on abort and on close()', async (t) => {
  const run = runName('abort');
  const c = await coordinator(run, 1, { blockMs: 5_000 });
  const s = await shard(run, 0, { blockMs: 5_000 });
  t.teardown(async () => {
    await Promise.all([c.close(), s.close()]);
  });
  const monitor = new EventLoopMonitor();
  const controller = new AbortController();
  const reading = s.nextPublication(-1, controller.signal);
  const collecting = c.collect(0, 'uwb', (m) => m.size === 1, controller.signal);
  for (const p of [reading, collecting]) p.catch(() => {}); // asserted below; handled if an assertion fails first
  await sleep(300);
  const { ticks } = monitor.stop();
  t.true(ticks >= 10, `${ticks} ticks of a 2 ms timer in 300 ms while both reads block`);
  controller.abort();
  // The signal's reason, a DOMException (not an Error subclass ava's throwsAsync accepts).
  for (const p of [reading, collecting])
    await p.then(
      () => t.fail('resolved after the abort'),
      (e: unknown) => t.is((e as DOMException).name, 'AbortError')
    );

  // The sockets are free again: a publication now arrives without waiting out the 5 s block.
  await c.publish({ version: 0, iteration: 0, phase: 'start', scalars: {}, body: new Float64Array(1) });
  t.is((await s.nextPublication(-1)).version, 0);

  const pending = s.nextPublication(0);
  pending.catch(() => {});
  await sleep(50);
  await s.close();
  await t.throwsAsync(pending, { instanceOf: RedisTransportError, message: /closed/ });
  await t.throwsAsync(() => s.contribute(contribution(s, 0)), { message: /closed/ });
});

test("a collect rejects with ERR_SHARD_LOST when a registered shard dies while it waits, and with a failed shard's error", async (t) => {
  const run = runName('lost-mid-collect');
  const c = await coordinator(run, 2, { blockMs: 100 });
  t.teardown(() => c.close());
  const alive = await shard(run, 0);
  t.teardown(() => alive.close());
  const victim = new Child(['shard', server.url, run, '1', String(TTL)]);
  t.teardown(() => victim.end());
  await victim.next();
  await alive.contribute(contribution(alive, 1));
  const waiting = c.collect(1, 'uwb', allAt(2, 1));
  waiting.catch(() => {});
  victim.signal('SIGKILL');
  await t.throwsAsync(waiting, { instanceOf: RedisTransportError, message: /shard 1 lost \(heartbeat expired\)/ });

  // A replacement registers; then it fails and says why: the collect rejects with its error at once.
  const replacement = await shard(run, 1);
  t.teardown(() => replacement.close());
  const again = c.collect(1, 'uwb', allAt(2, 1));
  again.catch(() => {});
  await replacement.fail(Object.assign(new Error('out of memory in block 3'), { code: 'ERR_OUT_OF_MEMORY' }));
  await t.throwsAsync(again, { message: 'shard 1: out of memory in block 3', code: 'ERR_OUT_OF_MEMORY' } as never);
});

test('stats() counts publication bytes per shard and contribution bytes; complete() publishes stop', async (t) => {
  const run = runName('stats');
  const c = await coordinator(run, 2);
  const shards = await Promise.all([0, 1].map((s) => shard(run, s)));
  t.teardown(async () => {
    await Promise.all([c.close(), ...shards.map((s) => s.close())]);
  });
  await c.publish({ version: 1, iteration: 1, phase: 'uwb', scalars: {}, body: new Float64Array(10) });
  for (const s of shards) await s.contribute(contribution(s, 1));
  await c.collect(1, 'uwb', allAt(2, 1));
  t.deepEqual(c.stats(), { bytesOut: 2 * 80, bytesIn: 2 * 40, messages: 4 });
  const stopping = shards[0].nextPublication(1);
  await c.complete(60_000);
  t.like(await stopping, { version: 2, phase: 'stop' });
});

test('memory is bounded: the versions stream is capped, and a completed run expires', async (t) => {
  const run = runName('bounded');
  const c = await coordinator(run, 2, { keepVersions: 4 });
  const shards = await Promise.all([0, 1].map((s) => shard(run, s)));
  const raw = new Redis(server.url);
  t.teardown(async () => {
    await Promise.all(shards.map((s) => s.close()));
    raw.disconnect();
  });
  for (let v = 0; v < 20; v++) {
    await c.publish({ version: v, iteration: v, phase: 'uwb', scalars: {}, body: new Float64Array(64) });
  }
  for (let i = 0; i < 200; i++) await shards[i % 2].contribute(contribution(shards[i % 2], i));
  const prefix = `admmirnn:{${run}}:`;
  t.is(await raw.xlen(prefix + 'versions'), 4);
  t.true((await raw.xlen(prefix + 'arrivals')) <= 64, 'arrival notices are capped');
  t.is(await raw.hlen(prefix + 'contributions'), 6, 'the latest (tag, body, version) per (shard, phase)');

  await c.complete(60_000);
  const keys = await raw.keys(`admmirnn:{${run}}:*`);
  t.true(keys.length >= 8, keys.join(' '));
  t.false(keys.includes(prefix + 'lease'), 'the lease is released');
  for (const key of keys) {
    const ttl = await raw.pttl(key);
    t.true(ttl > 0 && ttl <= 60_000, `${key} expires (pttl ${ttl})`);
  }
});

test('the library loads without ioredis; the Redis transport then names the missing package', async (t) => {
  const hide = `const Module = require('node:module');
    const resolve = Module._resolveFilename;
    Module._resolveFilename = function (request, ...rest) {
      if (request !== 'ioredis') return resolve.call(this, request, ...rest);
      throw Object.assign(new Error("Cannot find module 'ioredis'"), { code: 'MODULE_NOT_FOUND' });
    };`;
  const script = `${hide}
    const lib = require(${JSON.stringify(path.join(__dirname, '..', 'lib'))});
    if (typeof lib.AdmmTrainer !== 'function') throw new Error('no AdmmTrainer');
    const { RedisShardTransport } = require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'parallel', 'redis'))});
    RedisShardTransport.connect({ url: 'redis://127.0.0.1:1', run: 'r', shard: 0 }).then(
      () => { console.log('connected?'); process.exit(2); },
      (e) => { console.log(JSON.stringify({ code: e.code, message: e.message })); });`;
  const r = await execFileAsync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  const out = JSON.parse(r.stdout);
  t.is(out.code, 'ERR_MISSING_PEER');
  t.regex(
    out.message,
    /needs the package 'ioredis' \(an optional peer dependency of admmirnn\): npm install ioredis@6$/
  );
});
