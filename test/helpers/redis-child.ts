/**
 * A process that plays one side of the Redis transport for the fault tests, so it can be
 * paused (SIGSTOP) or killed (SIGKILL) for real:
 *   node redis-child.js shard URL RUN SHARD HEARTBEAT_MS
 *   node redis-child.js coordinator URL RUN SHARDS CONFIG_HASH LEASE_MS
 *   node redis-child.js worker URL RUN SHARD|- HEARTBEAT_MS
 * The shard and the coordinator print one JSON line once connected ({ token } or { epoch }), then
 * run the commands they read on stdin, one JSON line of outcome each: `contribute ITERATION`
 * (shard) or `publish VERSION` (coordinator); they exit when stdin closes. The worker runs
 * runRedisWorker (shard '-': from JOB_COMPLETION_INDEX) with a loop that answers each publication
 * with [shard, Σ body] (and fails on phase 'fail'); it prints { shard, token } when its loop
 * starts and { done } or { error, code } at the end, and stops cleanly on SIGTERM.
 */
import readline from 'node:readline';
import { RedisCoordinatorTransport, RedisShardTransport } from '../../lib/parallel/redis';
import { type ShardLoop, resolveShardIndex, runRedisWorker } from '../../lib/parallel/redis/worker-main';

function print(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

async function outcome(work: () => Promise<void>): Promise<void> {
  try {
    await work();
    print({ ok: true });
  } catch (e) {
    print({ ok: false, code: (e as { code?: string }).code, message: (e as Error).message });
  }
}

async function main(): Promise<void> {
  const [role, url, run, a, b, c] = process.argv.slice(2);
  const lines = readline.createInterface({ input: process.stdin });
  if (role === 'shard') {
    const shard = await RedisShardTransport.connect({ url, run, shard: Number(a), heartbeatMs: Number(b) });
    print({ token: shard.token });
    for await (const line of lines) {
      const [command, arg] = line.split(' ');
      if (command !== 'contribute') throw new Error(`unknown command ${line}`);
      const body = Float64Array.of(shard.shard, Number(arg));
      const contribution = { shard: shard.shard, token: shard.token, phase: 'uwb', scalars: {}, body };
      await outcome(() => shard.contribute({ ...contribution, iteration: Number(arg), version: Number(arg) }));
    }
    await shard.close();
  } else if (role === 'coordinator') {
    const options = { url, run, shards: Number(a), configHash: b, leaseMs: Number(c) };
    const coordinator = await RedisCoordinatorTransport.connect(options);
    print({ epoch: coordinator.epoch });
    for await (const line of lines) {
      const [command, arg] = line.split(' ');
      if (command !== 'publish') throw new Error(`unknown command ${line}`);
      const publication = { version: Number(arg), iteration: Number(arg), phase: 'uwb', scalars: {} };
      await outcome(() => coordinator.publish({ ...publication, body: Float64Array.of(Number(arg)) }));
    }
    await coordinator.close();
  } else if (role === 'worker') {
    const terminate = new AbortController();
    process.once('SIGTERM', () => terminate.abort());
    const loop: ShardLoop = async (transport, signal) => {
      print({ shard: transport.shard, token: transport.token });
      for (let seen = 0; ;) {
        const p = await transport.nextPublication(seen, signal);
        seen = p.version;
        if (p.phase === 'stop') return;
        if (p.phase === 'fail') {
          throw Object.assign(new Error(`asked to fail at version ${p.version}`), { code: 'ERR_INTERNAL' });
        }
        const body = Float64Array.of(
          transport.shard,
          p.body.reduce((x, y) => x + y, 0)
        );
        const { iteration, phase, version } = p;
        const { shard, token } = transport;
        await transport.contribute({ shard, token, iteration, phase, version, scalars: {}, body });
      }
    };
    const shard = resolveShardIndex(a === '-' ? undefined : a);
    try {
      await runRedisWorker({ url, run, shard, heartbeatMs: Number(b) }, loop, terminate.signal);
      print({ done: true });
    } catch (e) {
      print({ error: (e as Error).message, code: (e as { code?: string }).code });
      process.exitCode = 1;
    }
    lines.close();
  } else {
    throw new Error(`unknown role ${role}`);
  }
}

main().catch((e) => {
  print({ fatal: (e as Error).message, code: (e as { code?: string }).code });
  process.exit(1);
});
