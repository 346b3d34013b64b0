/** The options of the Redis transports, checked at the boundary with the parameter's name. */
import crypto from 'node:crypto';
import os from 'node:os';
import { invalidRange, invalidType } from '../../errors';
import { checkAbortSignal, checkInteger, checkObject } from '../../validate';
import { checkRedisUrl, checkRunName, checkShardCount, checkShardIndex } from './keys';

const CONFIG_HASH = /^[A-Za-z0-9:._-]{1,128}$/;
/** The configuration travels in one hash field that every worker reads: kept small. */
const MAX_CONFIG_BYTES = 1 << 20;

function checkConfigHash(name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidType(name, 'a configuration digest (string)', value);
  if (!CONFIG_HASH.test(value)) throw invalidRange(name, '1 to 128 characters among A-Z a-z 0-9 : . _ -', value);
  return value;
}

function optionalInteger(name: string, value: unknown, fallback: number, min: number, max: number): number {
  return value === undefined ? fallback : checkInteger(name, value, min, max);
}

export interface RedisCoordinatorOptions {
  /** redis:// or rediss:// URL of the server. */
  readonly url: string;
  /** The run's name: its keys are `admmirnn:{run}:…`. */
  readonly run: string;
  /** How many shards the run has. */
  readonly shards: number;
  /** A digest of the training configuration; workers expecting another are refused. */
  readonly configHash: string;
  /** The configuration workers read at registration (text, e.g. JSON; at most 1 MiB). */
  readonly config?: string;
  /** The leader lease's TTL (ms); it is renewed every third of it. Default 10,000. */
  readonly leaseMs?: number;
  /** How many published versions the capped stream keeps. Default 8. */
  readonly keepVersions?: number;
  /** How long one blocking read waits before it is reissued (ms). Default 1,000. */
  readonly blockMs?: number;
  /** This coordinator's name in the lease (default host:pid:random). */
  readonly id?: string;
  readonly signal?: AbortSignal;
}

export interface CheckedCoordinatorOptions {
  readonly url: string;
  readonly run: string;
  readonly shards: number;
  readonly configHash: string;
  readonly config: string;
  readonly leaseMs: number;
  readonly keepVersions: number;
  readonly blockMs: number;
  readonly id: string;
  readonly signal?: AbortSignal;
}

function defaultId(): string {
  return `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;
}

export function checkCoordinatorOptions(value: unknown): CheckedCoordinatorOptions {
  checkObject('options', value);
  const o = value as Partial<RedisCoordinatorOptions>;
  const config = o.config ?? '{}';
  if (typeof config !== 'string') throw invalidType('options.config', 'a string', config);
  if (Buffer.byteLength(config) > MAX_CONFIG_BYTES)
    throw invalidRange('options.config', `at most ${MAX_CONFIG_BYTES} bytes`, Buffer.byteLength(config));
  const id = o.id ?? defaultId();
  if (typeof id !== 'string') throw invalidType('options.id', 'a string', id);
  if (!/^[^\s]{1,200}$/.test(id)) throw invalidRange('options.id', '1 to 200 characters, no spaces', id);
  if (o.signal !== undefined) checkAbortSignal('options.signal', o.signal);
  return {
    url: checkRedisUrl('options.url', o.url),
    run: checkRunName('options.run', o.run),
    shards: checkShardCount('options.shards', o.shards),
    configHash: checkConfigHash('options.configHash', o.configHash),
    config,
    leaseMs: optionalInteger('options.leaseMs', o.leaseMs, 10_000, 100, 3_600_000),
    keepVersions: optionalInteger('options.keepVersions', o.keepVersions, 8, 1, 10_000),
    blockMs: optionalInteger('options.blockMs', o.blockMs, 1_000, 10, 60_000),
    id,
    signal: o.signal,
  };
}

export interface RedisShardOptions {
  readonly url: string;
  readonly run: string;
  /** This worker's shard index, in [0, shards) of the run. */
  readonly shard: number;
  /** When given, the run's configuration digest must equal it (else ERR_CONFIG_MISMATCH). */
  readonly configHash?: string;
  /** The heartbeat's TTL (ms); it is refreshed every third of it. Default 10,000. */
  readonly heartbeatMs?: number;
  /** How long one blocking read waits before it is reissued (ms). Default 1,000. */
  readonly blockMs?: number;
  /** How long to wait for the coordinator to create the run (ms). Default: forever. */
  readonly waitMs?: number;
  /** Called once when the heartbeat is refused (this incarnation was superseded, or the run changed). */
  readonly onStale?: (error: Error) => void;
  readonly signal?: AbortSignal;
}

export interface CheckedShardOptions {
  readonly url: string;
  readonly run: string;
  readonly shard: number;
  readonly configHash: string | undefined;
  readonly heartbeatMs: number;
  readonly blockMs: number;
  readonly waitMs: number;
  readonly onStale?: (error: Error) => void;
  readonly signal?: AbortSignal;
}

export function checkShardOptions(value: unknown): CheckedShardOptions {
  checkObject('options', value);
  const o = value as Partial<RedisShardOptions>;
  if (o.signal !== undefined) checkAbortSignal('options.signal', o.signal);
  if (o.onStale !== undefined && typeof o.onStale !== 'function')
    throw invalidType('options.onStale', 'a function', o.onStale);
  return {
    url: checkRedisUrl('options.url', o.url),
    run: checkRunName('options.run', o.run),
    shard: checkShardIndex('options.shard', o.shard),
    configHash: o.configHash === undefined ? undefined : checkConfigHash('options.configHash', o.configHash),
    heartbeatMs: optionalInteger('options.heartbeatMs', o.heartbeatMs, 10_000, 100, 3_600_000),
    blockMs: optionalInteger('options.blockMs', o.blockMs, 1_000, 10, 60_000),
    waitMs: optionalInteger('options.waitMs', o.waitMs, Number.MAX_SAFE_INTEGER, 0, Number.MAX_SAFE_INTEGER),
    onStale: o.onStale,
    signal: o.signal,
  };
}
