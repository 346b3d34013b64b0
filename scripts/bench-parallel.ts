/**
 * npm run bench:parallel — the sharded persistent loop (lib/parallel) on this machine: one
 * process (chunked, one chunk per shard: the bitwise reference) against 1 and 2 worker-thread
 * shards on mnist10k sequences. Per round: the slowest shard's compute, the transport and
 * waiting around it, the coordinator's solve; bytes moved per iteration; whether the synchronous
 * sharded weights equal the single-process ones bit for bit. Then the same over Redis: a
 * redis-server of its own on loopback, 1 and 2 `admmirnn worker` processes (2 must equal the 2
 * threads bit for bit). The last line: both speed-ups. Not a test: it prints figures.
 * The first iteration (thread start, the shards' first forward pass) is not timed. Last, memory
 * per worker (scripts/bench/shard-memory.ts): peak RSS of the loop on 240,000 synthetic sequences in
 * one process against 4 Redis worker processes and their coordinator.
 *
 *   npm run bench:parallel -- --limit 4000 --hidden 64 --iterations 4
 *   npm run bench:parallel -- --staleness   (also: τ = 0, 1, 2, 4 with one shard answering 15 ms late)
 *   npm run bench:parallel -- --memory-sequences 240000 --memory-hidden 96 --memory-iterations 2
 *   npm run bench:parallel -- --quick       (memory per worker on 12,000 sequences at h = 32)
 *   npm run bench:parallel -- --skip-memory
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AdmmTrainer, RNN, type TrainingData, loadMnist10k } from '../lib';
import { sharedInputs, sharedTargets } from '../lib/in-shared-memory';
import { native } from '../lib/native-entry';
import { resolveTrainerOptions } from '../lib/admm/options';
import type { AdmmIterationRecord } from '../lib/admm/record';
import { ParallelCoordinator, type RoundTimes, coordinatorOptions } from '../lib/parallel/coordinator';
import { LoopbackTransport } from '../lib/parallel/loopback';
import { ParallelEngine } from '../lib/parallel/engine';
import { trainingLayout } from '../lib/training/layout';
import { PersistentShard } from '../lib/parallel/shard';
import { shardData, splitRows } from '../lib/parallel/split';
import type { Publication } from '../lib/parallel/transport';
import { startRedisServer } from '../test/helpers/redis-server';
import { TEN_GBE, formatProjection } from './bench/parallel-model';
import { type ShardMemory, formatShardMemory, measureShardMemory, tooLarge } from './bench/shard-memory';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'admmirnn.js');

const { values } = parseArgs({
  options: {
    limit: { type: 'string', default: '4000' },
    hidden: { type: 'string', default: '64' },
    iterations: { type: 'string', default: '4' },
    staleness: { type: 'boolean', default: false },
    'memory-sequences': { type: 'string', default: '240000' },
    'memory-hidden': { type: 'string', default: '96' },
    'memory-iterations': { type: 'string', default: '2' },
    quick: { type: 'boolean', default: false },
    'skip-memory': { type: 'boolean', default: false },
  },
});

// No warm start: the sharded runs here start from the engine, which the trainer's warm start precedes.
const OPTIONS = { mode: 'persistent', warmStart: 'none' } as const;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function model(h: number): RNN {
  return new RNN({ inputSize: 28, hiddenSize: h, outputSize: 10, init: { scheme: 'normal', scale: 0.1, seed: 1 } });
}

/** The single-process loop, swept in `chunks` chunks (one per shard of the sharded runs it is compared with). */
async function singleProcess(data: TrainingData, h: number, iterations: number, chunkSize: number) {
  const m = model(h);
  const result = await new AdmmTrainer(m, { ...OPTIONS, chunkSize }).fit(data, { maxIterations: iterations });
  return { seconds: median(result.history.slice(1).map((r) => r.seconds)), weights: m.weights() };
}

/** `admmirnn worker` processes for every shard of a Redis run; resolves when they have all exited 0. */
function workerProcesses(url: string, run: string, shards: number): Promise<void> {
  const exits = Array.from({ length: shards }, (_, i) => {
    const child = spawn(process.execPath, [BIN, 'worker', '--redis', url, '--run', run, '--shard', String(i), '-q']);
    child.stderr.pipe(process.stderr);
    return new Promise<number | null>((resolve) => child.once('exit', resolve));
  });
  return Promise.all(exits).then((codes) => {
    if (codes.some((c) => c !== 0)) throw new Error(`admmirnn worker exit codes ${codes.join(', ')}`);
  });
}

/**
 * Iterations of a sharded run: over `workers` threads, or (`redis`) over as many `admmirnn worker`
 * processes, which load the same mnist10k sequences from the published data options.
 */
async function threads(data: TrainingData, h: number, iterations: number, workers: number, redis?: string) {
  const run = `bench-${process.pid}-${workers}`,
    limit = data.targets.length;
  const parallel = redis
    ? ({ transport: 'redis', url: redis, run, shards: workers, data: { mnist: true, limit, split: 'train' } } as const)
    : { workers };
  const m = model(h),
    o = resolveTrainerOptions({ ...OPTIONS, parallel });
  const layout = trainingLayout(data, m, { loss: o.loss, lossSteps: o.lossSteps });
  const processes = redis ? workerProcesses(redis, run, workers) : undefined;
  const engine = await ParallelEngine.start(m, layout, o, o.parallel!);
  const seconds: number[] = [],
    rounds: RoundTimes[] = [];
  let bytes = 0,
    messages = 0;
  try {
    for (let k = 0; k < iterations; k++) {
      const before = engine.transport.stats!();
      const record = await engine.next(undefined, () => new Error('aborted'));
      const after = engine.transport.stats!();
      if (k === 0) continue;
      seconds.push(record.seconds);
      rounds.push(structuredClone((engine.coordinator as ParallelCoordinator).times));
      bytes = after.bytesIn + after.bytesOut - before.bytesIn - before.bytesOut;
      messages = after.messages - before.messages;
    }
  } finally {
    await engine.close();
  }
  await processes;
  const round = (phase: keyof RoundTimes) => ({
    shard: median(rounds.map((r) => r[phase].shard)),
    other: median(rounds.map((r) => r[phase].wait - r[phase].shard)),
    solve: median(rounds.map((r) => r[phase].solve)),
  });
  // 'safeguard': the verdict's round, which also carries the default dual walk after every iteration.
  const perRound = { uwb: round('uwb'), vc: round('vc'), duals: round('duals'), safeguard: round('safeguard') };
  return { seconds: median(seconds), rounds: perRound, bytes, messages, weights: m.weights() };
}

const ms = (s: number) => `${(1000 * s).toFixed(1)} ms`;

/** A shard that answers 15 ms late: bounded staleness lets the other run ahead. */
class LateShard extends PersistentShard {
  override async answer(p: Publication) {
    await new Promise((resolve) => setTimeout(resolve, 15));
    return super.answer(p);
  }
}

/**
 * What staleness does: 40 iterations on 600 mnist10k sequences (h = 24), 2 in-process shards, one
 * late; the loss and accuracy along the way, and how far W ends from the synchronous run's. τ = 0
 * runs with the default true-loss safeguard (its rejected iterations counted); τ > 0 has none.
 */
async function stalenessCurve(): Promise<void> {
  const data = loadMnist10k({ limit: 600 }).train;
  let synchronous: Float32Array | undefined;
  for (const staleness of [0, 1, 2, 4]) {
    const init = { scheme: 'normal', scale: 0.1, seed: 2 } as const;
    const m = new RNN({ inputSize: 28, hiddenSize: 24, outputSize: 10, init });
    const o = resolveTrainerOptions(OPTIONS);
    const layout = trainingLayout(data, m, { loss: o.loss, lossSteps: o.lossSteps });
    const { shape } = layout;
    const inputs = sharedInputs(layout.inputs),
      targets = sharedTargets(layout.targets);
    const [a, b] = splitRows(shape.N, 2).map(([x, y]) => shardData(shape, inputs, targets, o.lossSteps, x, y));
    const transport = new LoopbackTransport([new PersistentShard(0, a), new LateShard(1, b)]);
    const settings = coordinatorOptions(o, layout, 2, staleness);
    const coordinator = new ParallelCoordinator(m, shape, transport, settings);
    const history: AdmmIterationRecord[] = [];
    try {
      for (let k = 0; k < 40; k++) history.push(await coordinator.iteration(undefined, () => new Error('aborted')));
    } finally {
      await transport.close();
    }
    synchronous ??= m.W.slice();
    let d = 0,
      n = 0;
    for (let i = 0; i < m.W.length; i++) {
      d += (m.W[i] - synchronous[i]) ** 2;
      n += synchronous[i] ** 2;
    }
    const at = (k: number) => `${history[k - 1].loss.toFixed(3)} / ${history[k - 1].accuracy.toFixed(3)}`;
    const seconds = history.reduce((s, r) => s + r.seconds, 0) / history.length;
    const drift = Math.sqrt(d / n).toExponential(2);
    const guard = settings.safeguard
      ? `${history.filter((r) => r.kind === 'persistent' && r.safeguard!.rejections > 0).length} rejected`
      : 'no safeguard';
    console.log(
      `staleness ${staleness}: ${coordinator.staleAnswers} stale answers; ${guard}; loss / accuracy at 10, 20, 40: ` +
        `${at(10)}, ${at(20)}, ${at(40)}; ‖W − W(τ=0)‖/‖W(τ=0)‖ ${drift}; ${ms(seconds)} per iteration`
    );
  }
}

/** The mini-batch modes: seconds per epoch in one process and over 1 and 2 thread shards (a round per batch). */
async function miniBatchEpochs(data: TrainingData, h: number): Promise<void> {
  for (const mode of ['adjoint', 'local-duals', 'sweeps'] as const) {
    const line: string[] = [];
    for (const workers of [0, 1, 2]) {
      const m = model(h);
      // Sharded mini-batch runs have no step safeguard: one process runs without it too.
      const options = { mode, safeguard: false, ...(workers ? { parallel: { workers } } : {}) };
      const trainer = new AdmmTrainer(m, options);
      const r = await trainer.fit(data, { maxIterations: 2 });
      await trainer.close();
      const label = workers ? `${workers} thread shard${workers > 1 ? 's' : ''}` : 'one process';
      line.push(`${label} ${ms(r.history[1].seconds)}`);
    }
    console.log(`mode '${mode}' (batches of 128, one round each), second epoch: ${line.join(', ')}`);
  }
}

async function main(): Promise<void> {
  if (values.staleness) await stalenessCurve();
  const limit = Number(values.limit),
    h = Number(values.hidden),
    iterations = Math.max(2, Number(values.iterations));
  const data = loadMnist10k({ limit }).train;
  const N = data.targets.length;
  const t = native.getThreads();
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  console.log(
    `machine: ${os.cpus()[0].model}, ${os.cpus().length} CPUs, load average ${load}; ` +
      `BLAS threads ${t.blas}, elementwise ${t.elementwise}`
  );
  console.log(
    `problem: mnist10k N = ${N}, T = 28, d = 28, h = ${h}, K = 10; mode 'persistent'; ` +
      `median of ${iterations - 1} iterations after the first`
  );
  const one = await singleProcess(data, h, iterations, Math.ceil(N / 2));
  console.log(`one process (chunked, 2 chunks): ${ms(one.seconds)} per iteration`);
  const results = [];
  for (const workers of [1, 2]) {
    const r = await threads(data, h, iterations, workers);
    results.push(r);
    const traffic = `${(r.bytes / 1024).toFixed(0)} KiB and ${r.messages} messages per iteration`;
    console.log(`threads, ${workers} worker${workers > 1 ? 's' : ''}: ${ms(r.seconds)} per iteration; ${traffic}`);
    for (const [phase, x] of Object.entries(r.rounds))
      if (x.shard > 0)
        console.log(
          `  round ${phase.padEnd(5)}: slowest shard ${ms(x.shard)}, ` +
            `transport and waiting ${ms(x.other)}, coordinator ${ms(x.solve)}`
        );
  }
  const [w1, w2] = results;
  const equal = Object.keys(one.weights).every((k) => {
    const a = one.weights[k as keyof typeof one.weights],
      b = w2.weights[k as keyof typeof one.weights];
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  });
  // With the default (scheduled) ρ the block-1 Grams ride on the last round ('duals', or 'safeguard' with the
  // default dual walk): no 'uwb' round after the first.
  for (const phase of ['uwb', 'vc', 'duals', 'safeguard'] as const) {
    if (!(w2.rounds[phase].shard > 0)) continue;
    const s = w1.rounds[phase].shard / w2.rounds[phase].shard;
    console.log(`per-shard compute, round ${phase}: speed-up ${s.toFixed(2)}, efficiency ${(s / 2).toFixed(2)}`);
  }
  const speedup = w1.seconds / w2.seconds;
  await miniBatchEpochs(data, h);
  const server = await startRedisServer();
  const overRedis = [];
  let memory: ShardMemory | undefined;
  try {
    for (const workers of [1, 2]) {
      const r = await threads(data, h, iterations, workers, server.url);
      overRedis.push(r);
      const traffic = `${(r.bytes / 1024).toFixed(0)} KiB and ${r.messages} messages per iteration`;
      const label = `redis (loopback), ${workers} admmirnn worker process${workers > 1 ? 'es' : ''}`;
      console.log(`${label}: ${ms(r.seconds)} per iteration; ${traffic}`);
    }
    if (!values['skip-memory']) {
      const run = values.quick
        ? { N: 12_000, h: 32, iterations: 1, shards: 4 }
        : {
            N: Number(values['memory-sequences']),
            h: Number(values['memory-hidden']),
            iterations: Number(values['memory-iterations']),
            shards: 4,
          };
      const refused = tooLarge(run);
      if (refused) console.log(`memory per worker: not measured: ${refused}`);
      else memory = await measureShardMemory(server.url, run);
    }
  } finally {
    await server.stop();
  }
  const [r1, r2] = overRedis;
  const redisEqual = Object.keys(w2.weights).every((k) => {
    const a = w2.weights[k as keyof typeof w2.weights],
      b = r2.weights[k as keyof typeof w2.weights];
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  });
  // The many-machine model, fed by the one-worker Redis run (a real process, transport included).
  const phases = Object.values(r1.rounds).filter((x) => x.shard > 0);
  const measured = {
    computePerSequence: phases.reduce((sum, x) => sum + x.shard, 0) / N,
    coordinatorSeconds: phases.reduce((sum, x) => sum + x.solve, 0),
    bytesPerShard: r1.bytes,
    rounds: phases.length,
  };
  const latencyPerRound = Math.max(TEN_GBE.latencyPerRound, median(phases.map((x) => x.other)));
  console.log('');
  for (const line of formatProjection(measured, { ...TEN_GBE, latencyPerRound })) console.log(line);
  console.log('');
  if (memory) {
    for (const line of formatShardMemory(memory)) console.log(line);
    if (values.quick) console.log('(--quick: at this size the fixed start-up costs of every process dominate)');
    console.log('');
  }
  const bitwise = equal && redisEqual ? 'yes' : 'no';
  const redisSpeedup = r1.seconds / r2.seconds;
  console.log(
    `parallel: sp bitwise equal ${bitwise}; speedup 2 workers ${speedup.toFixed(2)} (threads), ` +
      `${redisSpeedup.toFixed(2)} (redis)`
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
