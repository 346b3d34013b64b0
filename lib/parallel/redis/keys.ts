/**
 * The names of a run's keys and the checks of what names them. Every key of a run carries the
 * hash tag `{run}`, so Redis Cluster keeps them in one slot and a Lua script may touch them all.
 */
import { invalidRange, invalidType } from '../../errors';
import { checkInteger } from '../../validate';

/** Shard indices are small: each shard costs a heartbeat key and a few hash fields. */
export const MAX_SHARDS = 4096;
const RUN_NAME = /^[A-Za-z0-9._-]{1,64}$/;

export function checkRedisUrl(name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidType(name, 'a redis:// or rediss:// URL string', value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidRange(name, 'a redis:// or rediss:// URL', value);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw invalidRange(name, 'a redis:// or rediss:// URL', value);
  if (!url.hostname) throw invalidRange(name, 'a redis:// URL with a host', value);
  return value;
}

export function checkRunName(name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidType(name, 'a run name (string)', value);
  if (!RUN_NAME.test(value)) throw invalidRange(name, '1 to 64 characters among A-Z a-z 0-9 . _ -', value);
  return value;
}

export function checkShardCount(name: string, value: unknown): number {
  return checkInteger(name, value, 1, MAX_SHARDS);
}

export function checkShardIndex(name: string, value: unknown, shards = MAX_SHARDS): number {
  return checkInteger(name, value, 0, shards - 1);
}

/** The keys of one run. */
export class RunKeys {
  readonly prefix: string;
  /** Hash: `hash` (the configuration's digest), `shards`, `body` (the configuration, JSON). */
  readonly config: string;
  /** String: the leader's `epoch:id` while its lease (PX) lasts. */
  readonly lease: string;
  /** Counter: the fencing token, raised by every coordinator that takes the lease. */
  readonly epoch: string;
  /** Hash: shard index → its current incarnation token. */
  readonly tokens: string;
  /** Hash: shard index → how many incarnations it had (the token's first part). */
  readonly incarnations: string;
  /** Hash: shard index → why its current incarnation failed (JSON: message, code). */
  readonly failures: string;
  /**
   * Hash: `shard/phase/tag` (JSON), `shard/phase/body` (float64 bytes) and `shard/phase/version`:
   * the latest contribution (an older version never replaces a newer one).
   */
  readonly contributions: string;
  /** Stream: one small notice per contribution, read by the coordinator's consumer group. */
  readonly arrivals: string;
  /** Stream (capped): the published versions, entry id `version-1`. */
  readonly versions: string;

  constructor(readonly run: string) {
    this.prefix = `admmirnn:{${run}}:`;
    this.config = this.prefix + 'config';
    this.lease = this.prefix + 'lease';
    this.epoch = this.prefix + 'epoch';
    this.tokens = this.prefix + 'tokens';
    this.incarnations = this.prefix + 'incarnations';
    this.failures = this.prefix + 'failures';
    this.contributions = this.prefix + 'contributions';
    this.arrivals = this.prefix + 'arrivals';
    this.versions = this.prefix + 'versions';
  }

  /** String with a PX TTL: the shard's token while it is alive. */
  heartbeat(shard: number): string {
    return `${this.prefix}heartbeat:${shard}`;
  }

  /** Every key of the run with `shards` shards (what completion expires). */
  all(shards: number): string[] {
    const fixed = [this.config, this.lease, this.epoch, this.tokens, this.incarnations, this.failures];
    const heartbeats = Array.from({ length: shards }, (_, s) => this.heartbeat(s));
    return [...fixed, this.contributions, this.arrivals, this.versions, ...heartbeats];
  }
}

/** The consumer group of a run's arrival notices (one per run; a restarted coordinator reuses it). */
export const ARRIVALS_GROUP = 'coordinator';
