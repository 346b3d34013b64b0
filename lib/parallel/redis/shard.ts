/**
 * A shard's side of the Redis transport. Registering gives the shard a new incarnation token,
 * which supersedes any earlier one for the same index at once; every write (heartbeat,
 * contribution) goes through a script that checks the token, so a paused zombie that wakes up
 * after its replacement registered cannot overwrite the replacement's work.
 */
import crypto from 'node:crypto';
import { invalidRange } from '../../errors';
import { checkInteger } from '../../validate';
import type { Contribution, Publication, ShardTransport } from '../transport';
import { RedisConnection } from './client';
import {
  afterVersionId,
  checkBody,
  checkPhase,
  checkScalars,
  checkVersion,
  decodePublication,
  encodeBody,
  encodeTag,
} from './codec';
import { RedisTransportError, corrupt } from './errors';
import { RunKeys } from './keys';
import { type CheckedShardOptions, type RedisShardOptions, checkShardOptions } from './options';
import { REGISTER, SHARD_WRITE } from './scripts';

/** The arrival notices kept per shard: the coordinator reads them at once, they only wake it. */
const ARRIVALS_PER_SHARD = 8;
const ARRIVALS_MIN = 64;

export class RedisShardTransport implements ShardTransport {
  readonly shard: number;
  readonly run: string;
  /** How many shards the run has (from the coordinator's configuration). */
  readonly shards: number;
  private readonly keys: RunKeys;
  private readonly heartbeat: NodeJS.Timeout;
  private beating = false;
  /** Set once a write is refused: this incarnation was superseded, or the run changed. */
  private stale: RedisTransportError | undefined;

  private constructor(
    private readonly connection: RedisConnection,
    private readonly options: CheckedShardOptions,
    readonly token: string,
    /** The run's configuration digest, which every write is checked against. */
    readonly configHash: string,
    /** The configuration the coordinator recorded (text). */
    readonly config: string,
    shards: number
  ) {
    this.shard = options.shard;
    this.run = options.run;
    this.shards = shards;
    this.keys = new RunKeys(options.run);
    this.heartbeat = setInterval(() => void this.beat(), Math.max(1, Math.floor(options.heartbeatMs / 3)));
    this.heartbeat.unref();
  }

  /**
   * Connects and registers a new incarnation of the shard, waiting (up to `waitMs`) for a
   * coordinator to create the run. Rejects with ERR_CONFIG_MISMATCH when the run's configuration
   * digest is not `configHash` or the shard index is out of the run's range.
   */
  static async connect(options: RedisShardOptions): Promise<RedisShardTransport> {
    const o = checkShardOptions(options);
    const connection = await RedisConnection.open(o.url, { blockMs: o.blockMs });
    try {
      const k = new RunKeys(o.run);
      const deadline = Date.now() + o.waitMs;
      for (let pause = 50; ; pause = Math.min(1_000, pause * 2)) {
        o.signal?.throwIfAborted();
        const nonce = crypto.randomBytes(8).toString('hex');
        const keys = [k.config, k.tokens, k.incarnations, k.heartbeat(o.shard), k.failures];
        const reply = (await connection.script(REGISTER, keys, [o.shard, nonce, o.heartbeatMs, o.configHash ?? ''])) as
          [string, string, string] | null;
        if (reply) {
          const [token, hash, config] = reply;
          const shards = Number(await connection.call('HGET', k.config, 'shards'));
          return new RedisShardTransport(connection, o, token, hash, config ?? '', shards);
        }
        if (Date.now() + pause > deadline)
          throw new RedisTransportError(`run ${o.run}: no coordinator created it within ${o.waitMs} ms`, 'ERR_NO_RUN');
        await sleep(pause, o.signal);
      }
    } catch (e) {
      await connection.close();
      throw e;
    }
  }

  private async write(op: string, args: (string | number | Buffer)[]): Promise<void> {
    if (this.stale) throw this.stale;
    const k = this.keys;
    const keys = [k.tokens, k.config, k.heartbeat(this.shard), k.contributions, k.arrivals, k.failures];
    try {
      await this.connection.script(SHARD_WRITE, keys, [
        this.shard,
        this.token,
        this.configHash,
        this.options.heartbeatMs,
        op,
        ...args,
      ]);
    } catch (e) {
      if (e instanceof RedisTransportError && (e.code === 'ERR_STALE_WRITER' || e.code === 'ERR_CONFIG_MISMATCH')) {
        this.markStale(e);
      }
      throw e;
    }
  }

  private markStale(error: RedisTransportError): void {
    if (this.stale) return;
    this.stale = error;
    clearInterval(this.heartbeat);
    this.options.onStale?.(error);
  }

  private async beat(): Promise<void> {
    if (this.beating || this.stale || this.connection.isClosed) return;
    this.beating = true;
    try {
      await this.write('heartbeat', []);
    } catch {
      // Refusals mark the shard stale (write() records them); a lost connection is retried next tick.
    } finally {
      this.beating = false;
    }
  }

  /** Refused with ERR_STALE_WRITER once another incarnation of this shard registered. */
  async contribute(contribution: Contribution): Promise<void> {
    const c = contribution;
    if (c?.shard !== this.shard) {
      throw invalidRange('contribution.shard', `this transport's shard ${this.shard}`, c?.shard);
    }
    if (c.token !== this.token) {
      throw invalidRange('contribution.token', `this transport's token ${this.token}`, c.token);
    }
    const iteration = checkInteger('contribution.iteration', c.iteration, 0);
    const phase = checkPhase('contribution.phase', c.phase);
    const version = checkVersion('contribution.version', c.version);
    checkScalars('contribution.scalars', c.scalars);
    const body = checkBody('contribution.body', c.body);
    const prefix = `${this.shard}/${phase}`;
    const maxLength = Math.max(ARRIVALS_MIN, ARRIVALS_PER_SHARD * this.shards);
    await this.write('contribute', [
      `${prefix}/tag`,
      encodeTag(c),
      `${prefix}/body`,
      encodeBody(body),
      maxLength,
      iteration,
      phase,
      version,
      `${prefix}/version`,
    ]);
  }

  /**
   * Records why this shard failed, so the coordinator's collect rejects with it at once instead
   * of waiting for the heartbeat to expire (fenced like every write: a zombie cannot fail a run).
   */
  async fail(error: unknown): Promise<void> {
    const e = error as { message?: unknown; code?: unknown };
    const failure = { message: String(e?.message ?? error), code: typeof e?.code === 'string' ? e.code : undefined };
    await this.write('fail', [JSON.stringify(failure)]);
  }

  /**
   * The newest publication with a version above `afterVersion` (−1: any), waiting for one if
   * there is none: under bounded staleness a slow shard skips to the newest.
   */
  async nextPublication(afterVersion: number, signal?: AbortSignal): Promise<Publication> {
    checkInteger('afterVersion', afterVersion, -1);
    const after = afterVersionId(afterVersion);
    for (;;) {
      if (this.stale) throw this.stale;
      const newest = await this.newestAfter(after);
      if (newest) return this.decode(newest, afterVersion);
      const reply = (await this.connection.blockingCall(
        signal,
        'XREAD',
        'COUNT',
        1,
        'BLOCK',
        this.options.blockMs,
        'STREAMS',
        this.keys.versions,
        after
      )) as [Buffer, [Buffer, Buffer[]][]][] | null;
      const entry = reply?.[0]?.[1]?.[0];
      if (entry) return this.decode((await this.newestAfter(entry[0].toString())) ?? entry, afterVersion);
    }
  }

  /** The newest entry of the versions stream after id `after` (exclusive), if any. */
  private async newestAfter(after: string): Promise<[Buffer, Buffer[]] | undefined> {
    const reply = (await this.connection.callBuffer('XREVRANGE', this.keys.versions, '+', `(${after}`, 'COUNT', 1)) as
      [Buffer, Buffer[]][] | null;
    return reply?.[0];
  }

  private decode(entry: [Buffer, Buffer[]], afterVersion: number): Publication {
    const publication = decodePublication(entry[1], `run ${this.run}: version entry ${entry[0]}`);
    checkVersion('publication.version', publication.version);
    if (publication.version <= afterVersion)
      throw corrupt(`run ${this.run}: entry ${entry[0]}`, `holds version ${publication.version}`);
    return publication;
  }

  /**
   * Stops the heartbeat, removes the heartbeat key (the coordinator sees the shard gone at once,
   * not after the TTL) and disconnects.
   */
  async close(): Promise<void> {
    if (this.connection.isClosed) return;
    clearInterval(this.heartbeat);
    if (!this.stale) await this.write('leave', []).catch(() => {});
    await this.connection.close();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort() {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', abort, { once: true });
  });
}
