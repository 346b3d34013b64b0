/**
 * `admmirnn worker`: one shard of a parallel run over Redis (`admmirnn train … --redis URL --run
 * NAME --shards S`, or the API's `parallel: { transport: 'redis', … }`). It joins the run, reads the
 * configuration the coordinator published, loads the same data with the same data options,
 * checks it against the configuration's digest, keeps its shard, and answers until the run ends.
 * The shard index: --shard, else JOB_COMPLETION_INDEX (a Kubernetes Indexed Job). SIGTERM or
 * Ctrl-C leaves the run cleanly. When a 'persistent' run has recovery checkpoints, the worker writes its
 * shard's files to the run's shared directory and rolls back from them when the coordinator asks.
 */
import type { Command } from 'commander';
import { sharedInputs, sharedTargets } from '../in-shared-memory';
import { dataDigest, readRunConfig } from '../parallel/run-config';
import { RedisTransportError } from '../parallel/redis/errors';
import { resolveShardIndex, runRedisWorker } from '../parallel/redis/worker-main';
import type { RedisShardTransport } from '../parallel/redis/shard';
import { RecoverableShard } from '../parallel/recovery';
import { runShard } from '../parallel/shard';
import { ownRows } from '../parallel/split';
import { shardCore, shardStarts } from '../parallel/starts';
import type { ShardStart } from '../parallel/threads';
import { trainingLayout } from '../training/layout';
import { type DataFlags, loadData } from './data-options';
import { EXIT, integer } from './usage';

interface WorkerFlags {
  redis: string;
  run: string;
  shard?: string;
  configHash?: string;
  heartbeat: number;
  quiet?: boolean;
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('serve one shard of a parallel training run over Redis until the run ends')
    .requiredOption('--redis <url>', 'redis:// or rediss:// URL of the server')
    .requiredOption('--run <name>', "the run's name (as given to train --run)")
    .option('--shard <i>', "this worker's shard index (default: the environment variable JOB_COMPLETION_INDEX)")
    .option('--config-hash <hash>', "refuse to join unless the run's configuration has this hash")
    .option(
      '--heartbeat <ms>',
      'heartbeat TTL: the coordinator declares the shard lost this long after it stops',
      integer(100, 3_600_000),
      10_000
    )
    .option('-q, --quiet', 'no messages on stderr')
    .action(async (flags: WorkerFlags) => {
      process.exitCode = await worker(flags);
    });
}

/** The shard `index` of the run whose configuration `transport` read, rebuilt from its data options. */
function rebuildShard(transport: RedisShardTransport, index: number) {
  const config = readRunConfig(transport.config, transport.configHash);
  if (!config.data)
    throw new RedisTransportError(
      `run ${transport.run} published no data options: its workers bring their own data ` +
        '(runRedisWorker), not admmirnn worker',
      'ERR_CONFIG_MISMATCH'
    );
  const loaded = loadData(config.data as DataFlags);
  const { N, T, d, h, K } = config.sizes;
  const layout = trainingLayout(
    loaded.data,
    { inputSize: d, hiddenSize: h, outputSize: K },
    { loss: config.loss, lossSteps: config.lossSteps }
  );
  if (layout.shape.N !== N || layout.shape.T !== T || dataDigest(layout) !== config.dataDigest)
    throw new RedisTransportError(
      `run ${transport.run}: the data loaded here (N = ${layout.shape.N}, T = ` +
        `${layout.shape.T}) is not the coordinator's (N = ${N}, T = ${T}, digest ${config.dataDigest.slice(0, 12)}…)`,
      'ERR_CONFIG_MISMATCH'
    );
  if (config.mode !== 'persistent') {
    // Every mini-batch shard draws its slices of the batches from the whole data set.
    const shared = { shape: layout.shape, inputs: sharedInputs(layout.inputs), targets: sharedTargets(layout.targets) };
    // A coordinator of an earlier version sent no dualWalk: its 'sweeps' did not walk.
    const options = { ...config, ...config.resync!, dualWalk: config.resync!.dualWalk ?? false };
    return { config, core: shardCore(shardStarts(shared, options, config.shards)[index], index) };
  }
  // A persistent shard keeps a copy of its own rows only: the data set loaded whole is released.
  const start = shardStarts(layout, { ...config, mode: 'persistent' }, config.shards)[index] as ShardStart & {
    kind: 'persistent';
  };
  const data = ownRows(start.data);
  if (!config.checkpoints) return { config, core: shardCore({ kind: 'persistent', data }, index) };
  // Recovery: the shard checkpoints to, and rolls back from, the run's shared directory.
  const id = { run: transport.run, shards: config.shards, configHash: transport.configHash };
  const task = {
    sequenceLength: T,
    loss: config.loss,
    lossSteps: config.lossSteps,
    inputs: layout.inputs.x ? ('dense' as const) : ('ids' as const),
  };
  return { config, core: new RecoverableShard(index, data, config.checkpoints.dir, id, task) };
}

async function worker(flags: WorkerFlags): Promise<number> {
  const shard = resolveShardIndex(flags.shard);
  const say = (message: string) => flags.quiet || process.stderr.write(`admmirnn worker: ${message}\n`);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    const options = { url: flags.redis, run: flags.run, shard, heartbeatMs: flags.heartbeat };
    await runRedisWorker(
      flags.configHash ? { ...options, configHash: flags.configHash } : options,
      async (transport, signal) => {
        const { config, core } = rebuildShard(transport, shard);
        say(
          `shard ${shard} of ${config.shards} in run ${flags.run} (${config.mode}, N = ${config.sizes.N}, ` +
            `config ${transport.configHash.slice(0, 19)}…)`
        );
        await runShard(core, transport, signal);
      },
      stop.signal
    );
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  say(stop.signal.aborted ? 'stopped' : `run ${flags.run} ended`);
  return EXIT.ok;
}
