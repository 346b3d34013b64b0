/**
 * One process of the memory-per-worker measurement (scripts/bench/shard-memory.ts), alone in its
 * process so that its peak RSS (VmHWM) is its own:
 *   node shard-memory-child.js single N H ITERATIONS
 *   node shard-memory-child.js coordinator N H ITERATIONS SHARDS URL RUN
 *   node shard-memory-child.js worker N H SHARD SHARDS URL RUN
 * 'single' trains the persistent loop (chunked as the library chooses) on the N synthetic rows;
 * 'coordinator' drives a Redis run of SHARDS shards and holds no data; 'worker' generates only its
 * shard's rows and serves them. Each prints one JSON line.
 */
import { AdmmTrainer, RNN } from '../../lib';
import { resolveTrainerOptions } from '../../lib/admm/options';
import { ParallelCoordinator, coordinatorOptions } from '../../lib/parallel/coordinator';
import { RedisCoordinatorTransport } from '../../lib/parallel/redis';
import { runRedisWorker } from '../../lib/parallel/redis/worker-main';
import { PersistentShard, runShard } from '../../lib/parallel/shard';
import { splitRows } from '../../lib/parallel/split';
import { trainingLayout } from '../../lib/training/layout';
import { statusBytes } from './memory';
import { D, K, T, syntheticRows } from './synthetic';

// No warm start: the sharded run starts from the engine, which the trainer's warm start precedes.
const OPTIONS = { mode: 'persistent', warmStart: 'none' } as const;
/** A loaded 2-core machine can stall a worker's event loop for seconds: no shard declared lost for that. */
const HEARTBEAT_MS = 120_000;

function model(h: number): RNN {
  return new RNN({ inputSize: D, hiddenSize: h, outputSize: K, init: { scheme: 'normal', scale: 0.1, seed: 1 } });
}

async function single(N: number, h: number, iterations: number) {
  const data = syntheticRows(0, N);
  const trainer = new AdmmTrainer(model(h), OPTIONS);
  const result = await trainer.fit(data, { maxIterations: iterations });
  const chunkRows = trainer.state?.chunked ? trainer.state.chunkRows : N;
  return { loss: result.history.at(-1)!.loss, chunkRows, dataBytes: data.inputs.byteLength };
}

async function coordinator(N: number, h: number, iterations: number, shards: number, url: string, run: string) {
  const o = resolveTrainerOptions(OPTIONS);
  const shape = { N, T, d: D, h, K, everyStep: o.lossSteps === 'every' };
  const transport = await RedisCoordinatorTransport.connect({ url, run, shards, configHash: run });
  let loss = NaN;
  try {
    const settings = coordinatorOptions(o, { shape, loss: 'softmax-cross-entropy' }, shards, 0);
    const c = new ParallelCoordinator(model(h), shape, transport, settings);
    for (let k = 0; k < iterations; k++) loss = (await c.iteration(undefined, () => new Error('aborted'))).loss;
    await transport.complete(60_000);
  } finally {
    await transport.close();
  }
  return { loss, dataBytes: 0 };
}

async function worker(N: number, h: number, shard: number, shards: number, url: string, run: string) {
  const [begin, end] = splitRows(N, shards)[shard];
  const o = resolveTrainerOptions(OPTIONS);
  const sizes = { inputSize: D, hiddenSize: h, outputSize: K };
  const { shape, inputs, targets } = trainingLayout(syntheticRows(begin, end), sizes, o);
  const core = new PersistentShard(shard, { shape, inputs, targets, lossSteps: o.lossSteps });
  const options = { url, run, shard, heartbeatMs: HEARTBEAT_MS };
  await runRedisWorker(options, (transport, signal) => runShard(core, transport, signal));
  return { rows: end - begin, chunkRows: PersistentShard.chunkRows(shape), dataBytes: inputs.x!.byteLength };
}

async function main(): Promise<void> {
  const [role, ...args] = process.argv.slice(2);
  const n = (i: number) => Number(args[i]);
  const baseline = statusBytes('VmRSS'); // node, V8, the addon and OpenBLAS, before any data
  const started = performance.now();
  const result =
    role === 'single'
      ? await single(n(0), n(1), n(2))
      : role === 'coordinator'
        ? await coordinator(n(0), n(1), n(2), n(3), args[4], args[5])
        : role === 'worker'
          ? await worker(n(0), n(1), n(2), n(3), args[4], args[5])
          : undefined;
  if (!result) throw new RangeError(`role must be 'single', 'coordinator' or 'worker', not '${role}'`);
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ role, ...result, seconds, baseline, peak: statusBytes('VmHWM') }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
