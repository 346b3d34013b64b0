/**
 * npm run bench:redis — the sharded persistent loop over Redis on this machine: a redis-server of
 * its own on loopback, 1 and 2 shard worker processes, the coordinator in this process. Per
 * round: the slowest shard's compute, the transport and waiting around it, the coordinator's
 * solve; bytes and messages per iteration; whether the 2-process weights equal the 2-thread ones
 * bit for bit. Not a test: it prints figures. The first iteration (the workers' first forward
 * pass) is not timed.
 *
 *   npm run bench:redis -- --limit 4000 --hidden 64 --iterations 4
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AdmmTrainer } from '../lib';
import { ParallelCoordinator, type RoundTimes } from '../lib/parallel/coordinator';
import { RedisCoordinatorTransport } from '../lib/parallel/redis';
import { startRedisServer } from '../test/helpers/redis-server';
import { benchModel, benchProblem } from './bench-redis-problem';

const { values } = parseArgs({
  options: {
    limit: { type: 'string', default: '4000' },
    hidden: { type: 'string', default: '64' },
    iterations: { type: 'string', default: '4' },
  },
});

const WORKER = path.join(__dirname, 'bench-redis-worker.js');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (s: number) => `${(1000 * s).toFixed(1)} ms`;

async function overRedis(url: string, limit: number, h: number, iterations: number, shards: number) {
  const { model, shape, coordinator: options } = benchProblem(limit, h, shards);
  const run = `bench-${process.pid}-${shards}`;
  const transport = await RedisCoordinatorTransport.connect({ url, run, shards, configHash: 'bench' });
  const workers = Array.from({ length: shards }, (_, i) => {
    const env = { ...process.env, JOB_COMPLETION_INDEX: String(i) };
    const child = spawn(process.execPath, [WORKER, url, run, String(limit), String(h), String(shards)], { env });
    child.stderr.pipe(process.stderr);
    return new Promise<number | null>((resolve) => child.once('exit', resolve));
  });
  const seconds: number[] = [],
    rounds: RoundTimes[] = [];
  let bytes = 0,
    messages = 0;
  try {
    const coordinator = new ParallelCoordinator(model, shape, transport, options);
    for (let k = 0; k < iterations; k++) {
      const before = transport.stats();
      const record = await coordinator.iteration(undefined, () => new Error('aborted'));
      const after = transport.stats();
      if (k === 0) continue;
      seconds.push(record.seconds);
      rounds.push(structuredClone(coordinator.times));
      bytes = after.bytesIn + after.bytesOut - before.bytesIn - before.bytesOut;
      messages = after.messages - before.messages;
    }
    await transport.complete(60_000);
  } finally {
    await transport.close();
  }
  const codes = await Promise.all(workers);
  if (codes.some((c) => c !== 0)) throw new Error(`worker exit codes ${codes.join(', ')}`);
  const round = (phase: keyof RoundTimes) => ({
    shard: median(rounds.map((r) => r[phase].shard)),
    other: median(rounds.map((r) => r[phase].wait - r[phase].shard)),
    solve: median(rounds.map((r) => r[phase].solve)),
  });
  const phases = { uwb: round('uwb'), vc: round('vc'), duals: round('duals') };
  return { seconds: median(seconds), rounds: phases, bytes, messages, weights: model.weights() };
}

async function threads(limit: number, h: number, iterations: number) {
  const { data } = benchProblem(limit, h, 2);
  const m = benchModel(h);
  const trainer = new AdmmTrainer(m, { mode: 'persistent', warmStart: 'none', parallel: { workers: 2 } });
  try {
    await trainer.fit(data, { maxIterations: iterations });
  } finally {
    await trainer.close();
  }
  return m.weights();
}

async function main(): Promise<void> {
  const limit = Number(values.limit),
    h = Number(values.hidden),
    iterations = Math.max(2, Number(values.iterations));
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  console.log(`machine: ${os.cpus()[0].model}, ${os.cpus().length} CPUs, load average ${load}`);
  console.log(
    `problem: mnist10k N = ${limit}, T = 28, d = 28, h = ${h}, K = 10; mode 'persistent'; ` +
      `median of ${iterations - 1} iterations after the first; redis-server on loopback`
  );
  const server = await startRedisServer();
  try {
    const results = [];
    for (const shards of [1, 2]) {
      const r = await overRedis(server.url, limit, h, iterations, shards);
      results.push(r);
      const per = `${(r.bytes / 1024).toFixed(0)} KiB and ${r.messages} messages per iteration`;
      console.log(`redis, ${shards} worker process${shards > 1 ? 'es' : ''}: ${ms(r.seconds)} per iteration; ${per}`);
      for (const [phase, x] of Object.entries(r.rounds)) {
        const parts = `slowest shard ${ms(x.shard)}, transport and waiting ${ms(x.other)}, coordinator ${ms(x.solve)}`;
        console.log(`  round ${phase.padEnd(5)}: ${parts}`);
      }
    }
    const reference = await threads(limit, h, iterations);
    const two = results[1].weights;
    const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    const equal = Object.keys(reference).every((k) => {
      const key = k as keyof typeof reference;
      return bytes(reference[key]).equals(bytes(two[key]));
    });
    const speedup = results[0].seconds / results[1].seconds;
    console.log(`redis: sp bitwise equal to threads ${equal ? 'yes' : 'no'}; speedup 2 workers ${speedup.toFixed(2)}`);
  } finally {
    await server.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
