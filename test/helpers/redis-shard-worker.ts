/**
 * A worker process running one shard (any mode) over Redis, as `admmirnn worker`
 * would: node redis-shard-worker.js URL RUN SPEC_JSON OPTIONS_JSON SHARDS [HEARTBEAT_MS] (the shard
 * index from JOB_COMPLETION_INDEX). It rebuilds the test problem from its spec (same seed, same data),
 * keeps its own shard, and runs runShard over the Redis transport until the run's 'stop'.
 * Prints { ready } once registered and { done } or { error, code } at the end.
 */
import { runShard } from '../../lib/parallel/shard';
import { resolveShardIndex, runRedisWorker } from '../../lib/parallel/redis/worker-main';
import { randomProblem } from '../problems';
import { shardedProblem } from './sharded-problem';

async function main(): Promise<void> {
  const [url, run, spec, options, shards, heartbeat = '5000'] = process.argv.slice(2);
  const shard = resolveShardIndex(undefined);
  const { model, data } = randomProblem(JSON.parse(spec));
  const { parts } = shardedProblem(model, data, JSON.parse(options), Number(shards));
  const terminate = new AbortController();
  process.once('SIGTERM', () => terminate.abort());
  await runRedisWorker(
    { url, run, shard, heartbeatMs: Number(heartbeat) },
    async (transport, signal) => {
      console.log(JSON.stringify({ ready: transport.token }));
      await runShard(parts[shard], transport, signal);
    },
    terminate.signal
  );
  console.log(JSON.stringify({ done: true }));
}

main().catch((e) => {
  console.log(JSON.stringify({ error: (e as Error).message, code: (e as { code?: string }).code }));
  process.exitCode = 1;
});
