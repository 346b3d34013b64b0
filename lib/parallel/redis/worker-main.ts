/**
 * The life of a Redis shard worker process, for `admmirnn worker --redis URL --run NAME --shard I`
 * and for a Kubernetes Indexed Job (the shard index from JOB_COMPLETION_INDEX): connect, register
 * a new incarnation, heartbeat, and run the shard loop until the coordinator publishes 'stop',
 * the caller aborts (SIGTERM), or this incarnation is superseded. A loop that fails records why
 * for the coordinator, whose collect then rejects with it instead of waiting out the heartbeat.
 */
import { invalidRange, invalidType } from '../../errors';
import { checkObject } from '../../validate';
import { MAX_SHARDS, checkShardIndex } from './keys';
import type { RedisShardOptions } from './options';
import { RedisShardTransport } from './shard';

/** Where a Kubernetes Indexed Job puts each pod's index. */
export const SHARD_INDEX_ENV = 'JOB_COMPLETION_INDEX';

/**
 * The shard index: `shard` when given (a number, or the text of a CLI option), else the
 * environment's JOB_COMPLETION_INDEX.
 */
export function resolveShardIndex(shard: unknown, env: NodeJS.ProcessEnv = process.env): number {
  if (shard === undefined) {
    const text = env[SHARD_INDEX_ENV];
    if (text === undefined || text === '')
      throw invalidType('shard', `an integer (or the environment variable ${SHARD_INDEX_ENV})`, undefined);
    return parseIndex(`${SHARD_INDEX_ENV} (environment)`, text);
  }
  return typeof shard === 'string' ? parseIndex('shard', shard) : checkShardIndex('shard', shard);
}

function parseIndex(name: string, text: string): number {
  if (!/^\d{1,4}$/.test(text.trim())) throw invalidRange(name, `an integer in [0, ${MAX_SHARDS - 1}]`, text);
  return checkShardIndex(name, Number(text.trim()));
}

/** The shard's computation: answers publications over `transport` until 'stop' or `signal` aborts. */
export type ShardLoop = (transport: RedisShardTransport, signal: AbortSignal) => Promise<void>;

/**
 * Runs one shard worker: resolves when `loop` returns (the run's 'stop') or `signal` aborts;
 * rejects with ERR_STALE_WRITER when another incarnation of the shard took over, and with the
 * loop's error (after recording it in Redis for the coordinator) when the loop fails.
 */
export async function runRedisWorker(options: RedisShardOptions, loop: ShardLoop, signal?: AbortSignal): Promise<void> {
  checkObject('options', options);
  if (typeof loop !== 'function') throw invalidType('loop', 'a function', loop);
  const stop = new AbortController();
  const abort = () => stop.abort(signal?.reason);
  signal?.addEventListener('abort', abort, { once: true });
  try {
    const transport = await RedisShardTransport.connect({
      ...options,
      signal: stop.signal,
      onStale: (error) => {
        options.onStale?.(error);
        stop.abort(error);
      },
    });
    try {
      await loop(transport, stop.signal);
    } catch (e) {
      if (stop.signal.aborted) {
        // Superseded: the refusal is the outcome. Aborted by the caller: a clean stop.
        if (stop.signal.reason === signal?.reason) return;
        throw stop.signal.reason;
      }
      await transport.fail(e).catch(() => {});
      throw e;
    } finally {
      await transport.close();
    }
  } catch (e) {
    if (signal?.aborted && e === signal.reason) return;
    throw e;
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}
