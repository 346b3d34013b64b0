/**
 * What moves between a coordinator and its shards, independent of what carries it (worker
 * threads, Redis). The coordinator publishes versions (weights, ρ, what to do next); each shard
 * answers a version with contributions (its Grams and right-hand sides, its norms). The core
 * (coordinator.ts, shard.ts) speaks only this interface, so every transport runs the same iterate.
 */

/** One shard's answer to one phase of one iteration. */
export interface Contribution {
  readonly shard: number;
  /** The shard's incarnation: a restarted shard gets a new one, and the old one's writes are refused. */
  readonly token: string;
  readonly iteration: number;
  /** The phase of the publication it answers. */
  readonly phase: string;
  /** The published version the shard computed against (bounded staleness compares it). */
  readonly version: number;
  /** Small named numbers: counts, norms, losses. */
  readonly scalars: Readonly<Record<string, number>>;
  /** The payload summed over shards (float64, so the fixed-order sum loses nothing to float32). */
  readonly body: Float64Array;
}

/** What a shard answers publication `p` with: these scalars and body, tagged with p's iteration, phase and version. */
export type Answer = Pick<Contribution, 'iteration' | 'phase' | 'version' | 'scalars' | 'body'>;

export const answerTo =
  (p: Publication) =>
  (scalars: Record<string, number>, body: Float64Array): Answer => ({
    iteration: p.iteration,
    phase: p.phase,
    version: p.version,
    scalars,
    body,
  });

/** One version the coordinator publishes to every shard. */
export interface Publication {
  readonly version: number;
  readonly iteration: number;
  /**
   * What the shards do with it: 'uwb', 'vc', 'duals', 'safeguard' (persistent loop; 'restore' with
   * recovery), 'batch', 'loss', 'evaluate' (the mini-batch modes), 'stop' (end the shard's loop).
   */
  readonly phase: string;
  readonly scalars: Readonly<Record<string, number>>;
  /** Weights (and anything else every shard needs), laid out as the phase says. */
  readonly body: Float64Array;
}

/** The coordinator's side of a transport. */
export interface CoordinatorTransport {
  /** Makes `publication` visible to every shard; resolves once it is durable for this transport. */
  publish(publication: Publication): Promise<void>;
  /**
   * Resolves with the latest contribution of every shard for (`iteration`, `phase`), in shard
   * order, once `ready` holds for what has arrived (the coordinator's rule, ready.ts: synchronous,
   * every shard answered this publication; bounded staleness, one did and every shard's latest
   * answer is at most τ rounds old). A transport keeps only each shard's latest contribution per
   * phase (an older version never replaces a newer one) and re-checks `ready` as they arrive
   * (board.ts does exactly this, for any transport). Rejects with the AdmmError code
   * ERR_SHARD_LOST when a shard is lost while it waits (a collect must never wait for a dead
   * shard), with a shard's own error when the shard failed, and with `signal.reason` when
   * `signal` aborts.
   */
  collect(
    iteration: number,
    phase: string,
    ready: (arrived: ReadonlyMap<number, Contribution>) => boolean,
    signal?: AbortSignal
  ): Promise<Contribution[]>;
  /** Shards whose liveness lapsed since the last call (heartbeat expiry, thread exit). */
  lostShards(): Promise<number[]>;
  /**
   * The ERR_SHARD_LOST error for shards `lostShards()` reported: the one `collect` raises for a
   * shard lost while it waits, so a loss surfaces the same whichever of the two notices it first.
   */
  lostError(shards: readonly number[]): Error;
  /**
   * Resolves once every shard is registered and alive (a lost one replaced by a new incarnation);
   * rejects with ERR_SHARD_LOST after `timeoutMs`, or a shard's own recorded error. Transports
   * whose shards cannot be replaced (threads) leave it out, and runs on them cannot recover.
   */
  awaitShards?(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /** The latest publication's version the transport still holds (0: none): a restarted coordinator goes on after it. */
  lastVersion?(): Promise<number>;
  /** Bytes and messages moved so far, both directions (for the benchmarks; optional). */
  stats?(): TransportStats;
  close(): Promise<void>;
}

export interface TransportStats {
  /** Publication bytes delivered to shards (a body sent to S shards counts S times). */
  bytesOut: number;
  /** Contribution bytes received from shards. */
  bytesIn: number;
  messages: number;
}

/** A shard's side of a transport. */
export interface ShardTransport {
  readonly shard: number;
  readonly token: string;
  /** Delivers a contribution; rejects (code ERR_STALE_WRITER) when this shard's token is no longer current. */
  contribute(contribution: Contribution): Promise<void>;
  /**
   * Resolves with the newest publication whose version is greater than `afterVersion`, waiting
   * for one if there is none. Synchronously there is only ever one; under bounded staleness a slow
   * shard skips to the newest.
   */
  nextPublication(afterVersion: number, signal?: AbortSignal): Promise<Publication>;
  close(): Promise<void>;
}
