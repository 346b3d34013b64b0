/**
 * One shard worker process of scripts/bench-redis.ts:
 *   node bench-redis-worker.js URL RUN LIMIT HIDDEN SHARDS   (shard index: JOB_COMPLETION_INDEX)
 */
import { resolveShardIndex, runRedisWorker } from '../lib/parallel/redis/worker-main';
import { runShard } from '../lib/parallel/shard';
import { benchProblem } from './bench-redis-problem';

async function main(): Promise<void> {
  const [url, run, limit, hidden, shards] = process.argv.slice(2);
  const shard = resolveShardIndex(undefined);
  const { part } = benchProblem(Number(limit), Number(hidden), Number(shards));
  const terminate = new AbortController();
  process.once('SIGTERM', () => terminate.abort());
  const mine = part(shard);
  await runRedisWorker({ url, run, shard }, (transport, signal) => runShard(mine, transport, signal), terminate.signal);
}

main().catch((e) => {
  console.error(`bench-redis-worker: ${(e as Error).message}`);
  process.exitCode = 1;
});
