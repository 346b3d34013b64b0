/**
 * The coordinator's side of any transport, as data: the latest contribution of each shard per
 * phase, and the collects waiting for a readiness rule to hold over them. A transport puts what
 * arrives here; a failure (a lost shard, a shard's error) rejects every collect, present and future.
 */
import type { Contribution } from './transport';

interface Waiter {
  phase: string;
  ready: (arrived: ReadonlyMap<number, Contribution>) => boolean;
  resolve: (c: Contribution[]) => void;
  reject: (e: unknown) => void;
}

export class ContributionBoard {
  private readonly latest = new Map<string, Map<number, Contribution>>();
  private readonly waiters = new Set<Waiter>();
  private failure: Error | undefined;

  /** Keeps `c` as its shard's latest for its phase (an older version never replaces a newer one). */
  put(c: Contribution): void {
    let byShard = this.latest.get(c.phase);
    if (!byShard) this.latest.set(c.phase, (byShard = new Map()));
    const held = byShard.get(c.shard);
    if (held && held.version > c.version) return;
    byShard.set(c.shard, c);
    for (const w of this.waiters) if (w.phase === c.phase) this.check(w);
  }

  /** Rejects every collect from now on with `e` (the first failure is kept). */
  fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiters) w.reject(this.failure);
    this.waiters.clear();
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  /** The latest contributions of `phase`, in shard order, once `ready` holds over them. */
  collect(phase: string, ready: Waiter['ready'], signal?: AbortSignal): Promise<Contribution[]> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.waiters.delete(waiter);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        phase,
        ready,
        resolve: (c) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(c);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
      this.check(waiter);
    });
  }

  private check(w: Waiter): void {
    const arrived = this.latest.get(w.phase) ?? new Map<number, Contribution>();
    if (!w.ready(arrived)) return;
    this.waiters.delete(w);
    w.resolve([...arrived.values()].sort((a, b) => a.shard - b.shard));
  }
}
