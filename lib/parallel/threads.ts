/**
 * The worker-thread transport: one Worker per shard on this machine (the default for
 * `parallel: { workers: k }`). Publications and contributions travel as MessagePort messages
 * (contributions' bodies transferred, not copied); the shards' inputs and targets, on the
 * trainer's SharedArrayBuffers, are shared with the workers, not copied. A worker that exits or
 * throws is a lost shard: every collect rejects with ERR_SHARD_LOST, and the run fails.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AdmmError, type AdmmErrorCode } from '../errors';
import { onSharedMemory } from '../in-shared-memory';
import { ContributionBoard } from './board';
import { shardLost } from './coordinator';
import type { MiniBatchShardData } from './mini-batch-shard';
import type { ShardData } from './shard';
import type { Contribution, CoordinatorTransport, Publication, TransportStats } from './transport';

/** Which shard to start, with its data: a persistent shard's rows, or a mini-batch shard's view of all of them. */
export type ShardStart = { kind: 'persistent'; data: ShardData } | { kind: 'mini-batch'; data: MiniBatchShardData };

/** What a shard thread is started with (its workerData). */
export type ThreadShardSpec = ShardStart & { shard: number; token: string };

/** Messages between the coordinator and a shard thread. */
export type ToShard = { type: 'publication'; publication: Publication };
export type FromShard =
  { type: 'contribution'; contribution: Contribution } | { type: 'failed'; message: string; code?: string };

/** The script a shard thread runs (replaceable in tests). */
export const shardThreadScript = { path: path.join(__dirname, 'shard-thread.js') };

/** A view that structured cloning shares (SharedArrayBuffer) or copies only its own elements of. */
function transferable<A extends Float32Array | Int32Array>(a: A): A {
  return onSharedMemory(a) ? a : (a.slice() as A);
}

function portable<D extends ShardData | MiniBatchShardData>(data: D): D {
  const inputs = data.inputs.x ? { x: transferable(data.inputs.x) } : { ids: transferable(data.inputs.ids!) };
  const t = data.targets;
  const targets =
    t.loss === 'squared-error'
      ? { loss: t.loss, values: transferable(t.values) }
      : { loss: t.loss, labels: transferable(t.labels) };
  return { ...data, inputs, targets };
}

export class ThreadTransport implements CoordinatorTransport {
  private readonly board = new ContributionBoard();
  private readonly workers: Worker[];
  private readonly tokens: string[];
  /** Lost shards and why. */
  private readonly lost = new Map<number, string>();
  private unreported: number[] = [];
  private closing = false;
  private readonly traffic = { bytesOut: 0, bytesIn: 0, messages: 0 };

  /** Starts one worker thread per shard. */
  constructor(shards: readonly ShardStart[]) {
    this.tokens = shards.map(() => randomUUID());
    this.workers = shards.map((start, shard) => {
      const spec = { ...start, shard, token: this.tokens[shard], data: portable(start.data) } as ThreadShardSpec;
      const w = new Worker(shardThreadScript.path, { workerData: spec });
      w.unref(); // only a collect in progress keeps the process alive
      w.on('message', (m: FromShard) => this.receive(shard, m));
      w.on('error', (e) => this.lose(shard, `worker thread failed: ${e.message}`));
      w.on('exit', (code) => this.lose(shard, `worker thread exited with code ${code}`));
      return w;
    });
  }

  get shards(): number {
    return this.workers.length;
  }

  /** The thread of shard `i` (tests terminate it to see a lost shard). */
  worker(i: number): Worker {
    return this.workers[i];
  }

  private receive(shard: number, m: FromShard): void {
    if (m.type === 'failed') {
      const message = `shard ${shard}: ${m.message}`;
      const error = m.code ? new AdmmError(message, m.code as AdmmErrorCode) : new Error(message);
      return this.board.fail(error);
    }
    const c = m.contribution;
    if (c.shard !== shard || c.token !== this.tokens[shard]) return; // not this thread's current incarnation
    this.traffic.bytesIn += c.body.byteLength;
    this.traffic.messages++;
    this.board.put(c);
  }

  private lose(shard: number, why: string): void {
    if (this.closing || this.lost.has(shard)) return;
    this.lost.set(shard, why);
    this.unreported.push(shard);
    this.board.fail(shardLost([shard], why));
  }

  async publish(p: Publication): Promise<void> {
    const message: ToShard = { type: 'publication', publication: p };
    this.workers.forEach((w, i) => {
      if (this.lost.has(i)) return;
      w.postMessage(message);
      this.traffic.bytesOut += p.body.byteLength;
      this.traffic.messages++;
    });
  }

  async collect(
    _iteration: number,
    phase: string,
    ready: (arrived: ReadonlyMap<number, Contribution>) => boolean,
    signal?: AbortSignal
  ): Promise<Contribution[]> {
    for (const w of this.workers) w.ref();
    try {
      return await this.board.collect(phase, ready, signal);
    } finally {
      for (const w of this.workers) w.unref();
    }
  }

  async lostShards(): Promise<number[]> {
    return this.unreported.splice(0);
  }

  lostError(shards: readonly number[]): Error {
    return shardLost(shards, shards.map((s) => this.lost.get(s) ?? 'its thread is gone').join('; '));
  }

  stats(): TransportStats {
    return { ...this.traffic };
  }

  /** Stops every shard thread (terminated: a shard may be in the middle of a kernel). */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
