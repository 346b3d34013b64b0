/**
 * The coordinator's side of the Redis transport. It holds the run's leader lease (renewed every
 * third of its TTL) and writes only through a script that checks its epoch, the fencing token
 * every new leader raises: once another coordinator took over, this one's writes are refused
 * (ERR_STALE_WRITER) even if it was paused and never noticed.
 */
import { checkFunction, checkInteger } from '../../validate';
import type { Contribution, CoordinatorTransport, Publication, TransportStats } from '../transport';
import { RedisConnection } from './client';
import {
  checkBody,
  checkPhase,
  checkScalars,
  checkVersion,
  decodeBody,
  decodePublication,
  decodeTag,
  publicationFields,
  versionId,
} from './codec';
import { RedisTransportError, corrupt } from './errors';
import { ARRIVALS_GROUP, RunKeys } from './keys';
import { type CheckedCoordinatorOptions, type RedisCoordinatorOptions, checkCoordinatorOptions } from './options';
import { ACQUIRE, COORDINATOR_WRITE } from './scripts';

interface Cached {
  readonly tag: string;
  readonly contribution: Contribution;
}

export class RedisCoordinatorTransport implements CoordinatorTransport {
  readonly run: string;
  readonly shards: number;
  private readonly keys: RunKeys;
  private readonly renewal: NodeJS.Timeout;
  private renewing = false;
  /** Set once a renewal is refused: this coordinator was deposed. */
  private deposed: RedisTransportError | undefined;
  /** Tokens already reported by lostShards() (one report per incarnation). */
  private readonly reported = new Set<string>();
  /** The latest contribution read per `shard/phase`, with the tag text it was read under. */
  private readonly cache = new Map<string, Cached>();
  private readonly traffic: TransportStats = { bytesOut: 0, bytesIn: 0, messages: 0 };

  private constructor(
    private readonly connection: RedisConnection,
    private readonly options: CheckedCoordinatorOptions,
    /** The fencing token: this coordinator's writes carry it. */
    readonly epoch: number
  ) {
    this.run = options.run;
    this.shards = options.shards;
    this.keys = new RunKeys(options.run);
    this.renewal = setInterval(() => void this.renew(), Math.max(1, Math.floor(options.leaseMs / 3)));
    this.renewal.unref();
  }

  /**
   * Connects and takes the run's leader lease. Rejects with ERR_LEASE_HELD while another
   * coordinator holds it, and ERR_CONFIG_MISMATCH when the run exists with another configuration
   * digest or shard count.
   */
  static async connect(options: RedisCoordinatorOptions): Promise<RedisCoordinatorTransport> {
    const o = checkCoordinatorOptions(options);
    const connection = await RedisConnection.open(o.url, { blockMs: o.blockMs });
    try {
      o.signal?.throwIfAborted();
      const k = new RunKeys(o.run);
      const keys = [
        k.lease,
        k.epoch,
        k.config,
        k.tokens,
        k.incarnations,
        k.contributions,
        k.arrivals,
        k.versions,
        k.failures,
      ];
      const args = [o.id, o.leaseMs, o.configHash, o.shards, o.config, ARRIVALS_GROUP];
      const epoch = Number(await connection.script(ACQUIRE, keys, args));
      return new RedisCoordinatorTransport(connection, o, epoch);
    } catch (e) {
      await connection.close();
      throw e;
    }
  }

  /** The run's configuration digest (recovery files carry it). */
  get configHash(): string {
    return this.options.configHash;
  }

  private get leaseValue(): string {
    return `${this.epoch}:${this.options.id}`;
  }

  private async write(op: string, keys: string[], args: (string | number | Buffer)[]): Promise<void> {
    if (this.deposed) throw this.deposed;
    try {
      await this.connection.script(COORDINATOR_WRITE, [this.keys.epoch, ...keys], [this.epoch, op, ...args]);
    } catch (e) {
      if (e instanceof RedisTransportError && e.code === 'ERR_STALE_WRITER') this.depose(e);
      throw e;
    }
  }

  private depose(error: RedisTransportError): void {
    this.deposed ??= error;
    clearInterval(this.renewal);
  }

  private async renew(): Promise<void> {
    if (this.renewing || this.deposed || this.connection.isClosed) return;
    this.renewing = true;
    try {
      await this.write('renew', [this.keys.lease], [this.leaseValue, this.options.leaseMs]);
    } catch {
      // Refusals depose (write() records them); a lost connection is retried at the next tick.
    } finally {
      this.renewing = false;
    }
  }

  /** Refused with ERR_STALE_WRITER once another coordinator took over, ERR_VERSION_ORDER unless versions rise. */
  async publish(publication: Publication): Promise<void> {
    checkInteger('publication.iteration', publication?.iteration, 0);
    const version = checkVersion('publication.version', publication.version);
    checkPhase('publication.phase', publication.phase);
    checkScalars('publication.scalars', publication.scalars);
    checkBody('publication.body', publication.body);
    const fields = publicationFields(publication, this.epoch);
    await this.write('publish', [this.keys.versions], [versionId(version), this.options.keepVersions, ...fields]);
    this.traffic.bytesOut += publication.body.byteLength * this.shards;
    this.traffic.messages += this.shards;
  }

  stats(): TransportStats {
    return { ...this.traffic };
  }

  /** The latest publication still in the stream (a restarted coordinator resumes after it). */
  async lastPublication(): Promise<Publication | undefined> {
    const reply = (await this.connection.callBuffer('XREVRANGE', this.keys.versions, '+', '-', 'COUNT', 1)) as
      [Buffer, Buffer[]][] | null;
    if (!reply || reply.length === 0) return undefined;
    return decodePublication(reply[0][1], `run ${this.run}: version entry ${reply[0][0]}`);
  }

  async collect(
    iteration: number,
    phase: string,
    ready: (arrived: ReadonlyMap<number, Contribution>) => boolean,
    signal?: AbortSignal
  ): Promise<Contribution[]> {
    checkInteger('iteration', iteration, 0);
    checkPhase('phase', phase);
    checkFunction('ready', ready);
    let checked = -Infinity;
    for (;;) {
      if (this.deposed) throw this.deposed;
      signal?.throwIfAborted();
      // A collect never waits for a dead or failed shard: checked at least once per block.
      if (performance.now() - checked >= this.options.blockMs) {
        await this.checkShards();
        checked = performance.now();
      }
      const arrived = await this.readLatest(phase);
      if (ready(arrived)) {
        const out = [...arrived.values()].sort((a, b) => a.shard - b.shard);
        // Copies: the caller may sum into a body, the cache keeps its own.
        return out.map((c) => ({ ...c, body: c.body.slice() }));
      }
      await this.waitForArrivals(signal);
    }
  }

  /** The latest contribution of every shard for `phase`: tags first, bodies only for new tags. */
  private async readLatest(phase: string): Promise<Map<number, Contribution>> {
    const S = this.shards;
    const tagFields = Array.from({ length: S }, (_, s) => `${s}/${phase}/tag`);
    const tags = (await this.connection.call('HMGET', this.keys.contributions, ...tagFields)) as (string | null)[];
    const changed: number[] = [];
    for (let s = 0; s < S; s++) {
      if (tags[s] !== null && this.cache.get(`${s}/${phase}`)?.tag !== tags[s]) changed.push(s);
    }
    if (changed.length > 0) {
      // Tag and body in one command: a newer contribution cannot land between them.
      const fields = changed.flatMap((s) => [`${s}/${phase}/tag`, `${s}/${phase}/body`]);
      const reply = (await this.connection.callBuffer(
        'HMGET',
        this.keys.contributions,
        ...fields
      )) as (Buffer | null)[];
      changed.forEach((s, i) => {
        const tagBytes = reply[2 * i],
          bodyBytes = reply[2 * i + 1];
        const what = `run ${this.run}: contribution of shard ${s} to ${phase}`;
        if (!tagBytes || !bodyBytes) throw corrupt(what, 'tag without body');
        const tag = tagBytes.toString();
        const { length, ...meta } = decodeTag(tag, what);
        if (meta.shard !== s || meta.phase !== phase)
          throw corrupt(what, `the tag names shard ${meta.shard}, phase ${meta.phase}`);
        this.cache.set(`${s}/${phase}`, { tag, contribution: { ...meta, body: decodeBody(bodyBytes, length, what) } });
        this.traffic.bytesIn += bodyBytes.length;
        this.traffic.messages++;
      });
    }
    const arrived = new Map<number, Contribution>();
    for (let s = 0; s < S; s++) {
      const cached = this.cache.get(`${s}/${phase}`);
      if (tags[s] !== null && cached) arrived.set(s, cached.contribution);
    }
    return arrived;
  }

  /** Blocks until an arrival notice (any shard, any phase), the block's timeout, or an abort. */
  private async waitForArrivals(signal: AbortSignal | undefined): Promise<void> {
    const args = ['GROUP', ARRIVALS_GROUP, this.options.id, 'COUNT', 1000, 'BLOCK', this.options.blockMs, 'NOACK'];
    try {
      await this.connection.blockingCall(signal, 'XREADGROUP', ...args, 'STREAMS', this.keys.arrivals, '>');
    } catch (e) {
      // The group goes with the stream when Redis lost it (restart without AOF): make it again.
      if (!(e instanceof Error) || !e.message.startsWith('NOGROUP')) throw e;
      await this.connection
        .call('XGROUP', 'CREATE', this.keys.arrivals, ARRIVALS_GROUP, '$', 'MKSTREAM')
        .catch(() => {});
    }
  }

  /** The current token of every registered shard. */
  private async registered(): Promise<Map<number, string>> {
    const reply = (await this.connection.call('HGETALL', this.keys.tokens)) as string[] | Record<string, string>;
    const pairs = Array.isArray(reply) ? reply : Object.entries(reply).flat();
    const current = new Map<number, string>();
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const s = Number(pairs[i]);
      if (Number.isInteger(s) && s >= 0 && s < this.shards) current.set(s, pairs[i + 1]);
    }
    return current;
  }

  /** Registered shards (ascending) whose heartbeat key is gone, with their tokens. */
  private async expired(): Promise<[number, string][]> {
    const current = await this.registered();
    const shards = [...current.keys()].sort((a, b) => a - b);
    if (shards.length === 0) return [];
    const keys = shards.map((s) => this.keys.heartbeat(s));
    const beats = (await this.connection.call('MGET', ...keys)) as (string | null)[];
    return shards.filter((_, i) => beats[i] === null).map((s) => [s, current.get(s)!]);
  }

  /**
   * Rejects with a shard's own failure (recorded by the worker), or ERR_SHARD_LOST for an expired
   * heartbeat. Heartbeats are read first: a worker records its failure before it leaves, so a
   * heartbeat seen gone has its failure, if any, visible to the read that follows.
   */
  private async checkShards(): Promise<void> {
    const lost = (await this.expired()).map(([s]) => s);
    const failures = (await this.connection.call('HGETALL', this.keys.failures)) as string[] | Record<string, string>;
    const pairs = Array.isArray(failures) ? failures : Object.entries(failures).flat();
    if (pairs.length >= 2) {
      let failure: { message?: unknown; code?: unknown } = {};
      try {
        failure = JSON.parse(pairs[1]);
      } catch {
        // reported below with what there is
      }
      const error = new Error(`shard ${pairs[0]}: ${String(failure.message ?? pairs[1])}`) as Error & { code?: string };
      if (typeof failure.code === 'string') error.code = failure.code;
      throw error;
    }
    if (lost.length > 0) throw this.lostError(lost);
  }

  lostError(shards: readonly number[]): RedisTransportError {
    const which = `shard${shards.length > 1 ? 's' : ''} ${shards.join(', ')}`;
    return new RedisTransportError(
      `parallel run ${this.run}: ${which} lost (heartbeat expired); the run cannot continue`,
      'ERR_SHARD_LOST'
    );
  }

  /**
   * Waits until every shard of the run is registered with a live heartbeat (a lost shard's
   * replacement has registered a new incarnation); rejects with ERR_SHARD_LOST after `timeoutMs`,
   * or at once with a shard's recorded failure.
   */
  async awaitShards(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    checkInteger('timeoutMs', timeoutMs, 0);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.deposed) throw this.deposed;
      signal?.throwIfAborted();
      let missing: number[];
      try {
        await this.checkShards();
        const current = await this.registered();
        missing = Array.from({ length: this.shards }, (_, s) => s).filter((s) => !current.has(s));
      } catch (e) {
        if ((e as { code?: unknown }).code !== 'ERR_SHARD_LOST') throw e;
        missing = (await this.expired()).map(([s]) => s);
      }
      if (missing.length === 0) return;
      if (performance.now() >= deadline) {
        const which = `shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
        throw new RedisTransportError(
          `parallel run ${this.run}: ${which} lost and not replaced within ${timeoutMs} ms; the run cannot continue`,
          'ERR_SHARD_LOST'
        );
      }
      await pause(Math.min(this.options.blockMs, 200), signal);
    }
  }

  async lastVersion(): Promise<number> {
    return (await this.lastPublication())?.version ?? 0;
  }

  /**
   * Registered shards whose heartbeat expired, each incarnation reported once: a replacement
   * (same index, new token) is reported again if it lapses in turn.
   */
  async lostShards(): Promise<number[]> {
    if (this.deposed) throw this.deposed;
    const lost: number[] = [];
    for (const [s, token] of await this.expired()) {
      if (this.reported.has(token)) continue;
      this.reported.add(token);
      lost.push(s);
    }
    if (this.reported.size > 4 * this.shards) {
      const live = new Set((await this.registered()).values());
      for (const token of this.reported) if (!live.has(token)) this.reported.delete(token);
    }
    return lost;
  }

  /**
   * Ends the run in Redis: publishes 'stop' (the shards' loops end), releases the lease and lets
   * every key of the run expire after `retainMs` (the file checkpoints are the record; Redis was
   * the working state). Then closes.
   */
  async complete(retainMs = 3_600_000): Promise<void> {
    checkInteger('retainMs', retainMs, 1);
    try {
      const last = await this.lastPublication();
      const version = last ? last.version + 1 : 0;
      const iteration = last?.iteration ?? 0;
      await this.publish({ version, iteration, phase: 'stop', scalars: {}, body: new Float64Array(0) });
      const k = this.keys;
      const others = k.all(this.shards).filter((key) => key !== k.epoch && key !== k.lease);
      await this.write('complete', [k.lease, ...others], [retainMs]);
    } finally {
      // Refused (deposed) or not, the connection goes: it would keep the process alive.
      await this.close();
    }
  }

  /** Stops renewing and releases the lease (a successor need not wait for it to expire). */
  async close(): Promise<void> {
    if (this.connection.isClosed) return;
    clearInterval(this.renewal);
    if (!this.deposed) await this.write('release', [this.keys.lease], []).catch(() => {});
    await this.connection.close();
  }
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      signal?.removeEventListener('abort', abort);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const abort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', abort, { once: true });
  });
}
