/** Errors of the Redis transport, each with a code a caller can branch on. */

/**
 * - ERR_STALE_WRITER: a write from a shard whose incarnation token was superseded, or from a
 *   coordinator whose epoch is no longer current (a paused zombie, a deposed leader);
 * - ERR_SHARD_LOST: a registered shard's heartbeat expired while the coordinator waited for it;
 * - ERR_LEASE_HELD: another coordinator holds the run's leader lease;
 * - ERR_CONFIG_MISMATCH: the run in Redis was started with another configuration;
 * - ERR_VERSION_ORDER: a publication whose version is not above the last one published;
 * - ERR_CORRUPT: a record in Redis that this transport did not write (wrong size, bad tag);
 * - ERR_NO_RUN: no coordinator created the run within the wait;
 * - ERR_CLOSED: the transport was closed;
 * - ERR_MISSING_PEER: the optional peer dependency `ioredis` is not installed.
 */
export type RedisTransportErrorCode =
  | 'ERR_STALE_WRITER'
  | 'ERR_SHARD_LOST'
  | 'ERR_LEASE_HELD'
  | 'ERR_CONFIG_MISMATCH'
  | 'ERR_VERSION_ORDER'
  | 'ERR_CORRUPT'
  | 'ERR_NO_RUN'
  | 'ERR_CLOSED'
  | 'ERR_MISSING_PEER';

export class RedisTransportError extends Error {
  constructor(
    message: string,
    readonly code: RedisTransportErrorCode
  ) {
    super(message);
    this.name = 'RedisTransportError';
  }
}

/** A record in Redis that this transport did not write as it is. */
export function corrupt(what: string, detail: string): RedisTransportError {
  return new RedisTransportError(`${what}: ${detail}`, 'ERR_CORRUPT');
}

const SCRIPT_CODES: readonly RedisTransportErrorCode[] = [
  'ERR_STALE_WRITER',
  'ERR_LEASE_HELD',
  'ERR_CONFIG_MISMATCH',
  'ERR_VERSION_ORDER',
];

/** A Lua script's refusal (`-ERR_STALE_WRITER …`) as a RedisTransportError; anything else unchanged. */
export function fromReply(error: unknown): unknown {
  const message = error instanceof Error ? error.message : '';
  const code = SCRIPT_CODES.find((c) => message.startsWith(c));
  return code ? new RedisTransportError(message, code) : error;
}
