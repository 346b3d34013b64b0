/**
 * An in-process transport: the shards run on this thread beside the coordinator, and
 * publications and contributions are handed over as objects. It is the reference the other
 * transports are tested against (same core, nothing in between), and a way to run the sharded
 * loop without threads.
 */
import { randomUUID } from 'node:crypto';
import { ContributionBoard } from './board';
import { shardLost } from './coordinator';
import { type ShardCore, runShard } from './shard';
import type { Contribution, CoordinatorTransport, Publication, ShardTransport, TransportStats } from './transport';

class PublicationSlot {
  latest: Publication | undefined;
  private waiters: (() => void)[] = [];

  set(p: Publication): void {
    this.latest = p;
    for (const w of this.waiters.splice(0)) w();
  }

  /** The newest publication after `after`, waiting for one. */
  async next(after: number, signal?: AbortSignal): Promise<Publication> {
    while (!this.latest || this.latest.version <= after) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
    return this.latest;
  }
}

export class LoopbackTransport implements CoordinatorTransport {
  private readonly board = new ContributionBoard();
  private readonly slot = new PublicationSlot();
  private readonly tokens: string[];
  private readonly running: Promise<void>[];
  private readonly stopper = new AbortController();
  private readonly traffic = { bytesOut: 0, bytesIn: 0, messages: 0 };

  /** Starts `runShard` for every shard (shard i answers as shard i). */
  constructor(shards: readonly ShardCore[]) {
    this.tokens = shards.map(() => randomUUID());
    this.running = shards.map((s, i) =>
      runShard(s, this.shardSide(i), this.stopper.signal).catch((e: unknown) => {
        if (!this.stopper.signal.aborted) this.board.fail(e instanceof Error ? e : new Error(String(e)));
      })
    );
  }

  private shardSide(shard: number): ShardTransport {
    const token = this.tokens[shard];
    return {
      shard,
      token,
      contribute: async (c: Contribution) => {
        if (c.token !== this.tokens[c.shard]) return; // not the shard's current incarnation
        this.traffic.bytesIn += c.body.byteLength;
        this.traffic.messages++;
        this.board.put(c);
      },
      nextPublication: (after, signal) => this.slot.next(after, signal),
      close: async () => undefined,
    };
  }

  async publish(p: Publication): Promise<void> {
    this.traffic.bytesOut += p.body.byteLength * this.tokens.length;
    this.traffic.messages += this.tokens.length;
    this.slot.set(p);
  }

  collect(
    _iteration: number,
    phase: string,
    ready: (arrived: ReadonlyMap<number, Contribution>) => boolean,
    signal?: AbortSignal
  ): Promise<Contribution[]> {
    return this.board.collect(phase, ready, signal);
  }

  async lostShards(): Promise<number[]> {
    return [];
  }

  lostError(shards: readonly number[]): Error {
    return shardLost(shards, 'reported lost');
  }

  stats(): TransportStats {
    return { ...this.traffic };
  }

  async close(): Promise<void> {
    this.stopper.abort();
    await Promise.all(this.running);
  }
}
