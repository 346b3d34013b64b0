/**
 * The connection to Redis, through the optional peer dependency `ioredis`, loaded only when a
 * Redis transport is created: the library works without it. Two sockets: one for ordinary
 * commands and one for blocking reads (a blocked socket queues everything sent after it). A
 * blocking read is cut short by `CLIENT UNBLOCK` from the other socket, so an abort or close()
 * frees the connection at once instead of after the block's timeout.
 */
import { RedisTransportError, fromReply } from './errors';
import type { LuaScript } from './scripts';

type Arg = string | Buffer | number;

/** The part of an ioredis client this transport uses (its types stay out of the library's). */
interface IoredisClient {
  call(command: string, ...args: Arg[]): Promise<unknown>;
  callBuffer(command: string, ...args: Arg[]): Promise<unknown>;
  connect(): Promise<void>;
  quit(): Promise<unknown>;
  disconnect(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  readonly status: string;
}

type IoredisConstructor = new (url: string, options: Record<string, unknown>) => IoredisClient;

let loaded: IoredisConstructor | undefined;

/** `ioredis`, or an error that says how to get it. */
export function loadIoredis(): IoredisConstructor {
  if (loaded) return loaded;
  let module: { default?: IoredisConstructor; Redis?: IoredisConstructor };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    module = require('ioredis');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    throw new RedisTransportError(
      "the Redis transport needs the package 'ioredis' (an optional peer dependency of admmirnn): " +
        'npm install ioredis@6',
      'ERR_MISSING_PEER'
    );
  }
  const ctor = module.Redis ?? module.default ?? (module as unknown as IoredisConstructor);
  if (typeof ctor !== 'function')
    throw new RedisTransportError("the installed 'ioredis' exports no Redis client class", 'ERR_MISSING_PEER');
  return (loaded = ctor);
}

export interface ConnectionOptions {
  /** How long one blocking read waits before it is reissued (ms). */
  readonly blockMs: number;
}

/** The URL without its password (error messages end up in logs). */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

function closedError(): RedisTransportError {
  return new RedisTransportError('the Redis transport is closed', 'ERR_CLOSED');
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

export class RedisConnection {
  private readonly commands: IoredisClient;
  private readonly blocking: IoredisClient;
  private blockingId: number | undefined;
  private closed = false;
  /** The client's latest connection error (its connect() only says the connection closed). */
  private lastError: Error | undefined;
  /** Aborted by close(): every pending blocking read listens to it. */
  private readonly closing = new AbortController();

  private constructor(
    readonly url: string,
    readonly options: ConnectionOptions
  ) {
    const Redis = loadIoredis();
    // Commands wait in the offline queue while the server restarts; ioredis resends them.
    const common = { lazyConnect: true, maxRetriesPerRequest: null, enableReadyCheck: true };
    this.commands = new Redis(url, { ...common, connectionName: 'admmirnn' });
    this.blocking = new Redis(url, { ...common, connectionName: 'admmirnn-blocking' });
    // Errors surface through the commands that fail; the client reconnects by itself.
    for (const client of [this.commands, this.blocking]) client.on('error', (e) => (this.lastError = e as Error));
    this.blocking.on('ready', () => {
      this.blockingId = undefined;
      this.blocking.call('CLIENT', 'ID').then(
        (id) => (this.blockingId = Number(id)),
        () => {}
      );
    });
  }

  static async open(url: string, options: ConnectionOptions): Promise<RedisConnection> {
    const connection = new RedisConnection(url, options);
    try {
      await Promise.all([connection.commands.connect(), connection.blocking.connect()]);
      connection.blockingId = Number(await connection.blocking.call('CLIENT', 'ID'));
    } catch (e) {
      connection.commands.disconnect();
      connection.blocking.disconnect();
      const why = connection.lastError?.message ?? (e as Error).message;
      throw Object.assign(new Error(`cannot connect to Redis at ${redact(url)}: ${why}`), { cause: e });
    }
    return connection;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** One command; string replies. */
  async call(command: string, ...args: Arg[]): Promise<unknown> {
    if (this.closed) throw closedError();
    return this.commands.call(command, ...args);
  }

  /** One command; replies as Buffers (binary bodies). */
  async callBuffer(command: string, ...args: Arg[]): Promise<unknown> {
    if (this.closed) throw closedError();
    return this.commands.callBuffer(command, ...args);
  }

  /** Runs a Lua script by its SHA1, loading it when the server lacks it (first use, after a restart). */
  async script(lua: LuaScript, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    if (this.closed) throw closedError();
    try {
      try {
        return await this.commands.call('EVALSHA', lua.sha1, keys.length, ...keys, ...args);
      } catch (e) {
        if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
        return await this.commands.call('EVAL', lua.source, keys.length, ...keys, ...args);
      }
    } catch (e) {
      throw fromReply(e);
    }
  }

  /**
   * A blocking command on the blocking socket (replies as Buffers). Rejects as soon as `signal`
   * aborts or the connection closes, and unblocks the server side so the socket is free again.
   */
  async blockingCall(signal: AbortSignal | undefined, command: string, ...args: Arg[]): Promise<unknown> {
    if (this.closed) throw closedError();
    if (signal?.aborted) throw abortReason(signal);
    const reply = this.blocking.callBuffer(command, ...args);
    return new Promise((resolve, reject) => {
      const stop = (reason: unknown) => {
        cleanup();
        this.unblock();
        reply.catch(() => {});
        reject(reason);
      };
      const onAbort = () => stop(abortReason(signal!));
      const onClose = () => stop(closedError());
      const cleanup = () => {
        signal?.removeEventListener('abort', onAbort);
        this.closing.signal.removeEventListener('abort', onClose);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.closing.signal.addEventListener('abort', onClose, { once: true });
      reply.then(
        (value) => {
          cleanup();
          resolve(value);
        },
        (error) => {
          cleanup();
          reject(this.closed ? closedError() : error);
        }
      );
    });
  }

  private unblock(): void {
    if (this.blockingId === undefined || this.commands.status !== 'ready') return;
    this.commands.call('CLIENT', 'UNBLOCK', this.blockingId).catch(() => {});
  }

  /** Ends pending blocking reads (they reject with ERR_CLOSED) and closes both sockets. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    // The blocking socket holds no writes; the command socket finishes the ones it has sent.
    this.blocking.disconnect();
    try {
      if (this.commands.status === 'ready') await this.commands.quit();
      else this.commands.disconnect();
    } catch {
      this.commands.disconnect();
    }
  }
}
