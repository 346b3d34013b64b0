/**
 * A redis-server of the test's own, bound to 127.0.0.1 on a free port, with its files in a
 * temporary directory and no RDB snapshots (`--save ''`). The Redis transport's tests fail, not
 * skip, when redis-server is missing: CI installs it (scripts/setup.sh).
 */
import type { TestFn } from 'ava';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface RedisServerOptions {
  /** Append-only file, fsynced on every write: an acknowledged write survives a kill -9. */
  readonly appendOnly?: boolean;
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Kills the server with SIGKILL (no shutdown save) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and directory (it reloads its append-only file). */
  restart(): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

const MISSING =
  'redis-server is not installed: the Redis transport tests start their own server ' +
  '(apt-get install redis-server; scripts/setup.sh installs it)';

export function redisServerBinary(): string {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new Error(`${MISSING} (${probe.error?.message ?? probe.stderr})`);
  return 'redis-server';
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once the server answers PING with PONG (raw RESP: no client library involved). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = redisServerBinary();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'admmirnn-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no'];
  args.push('--appendonly', options.appendOnly ? 'yes' : 'no', '--appendfsync', 'always');
  let child: ChildProcess | undefined;
  let log = '';

  const launch = async () => {
    log = '';
    const c = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout!.on('data', (d) => (log = (log + d).slice(-4000)));
    c.stderr!.on('data', (d) => (log = (log + d).slice(-4000)));
    const spawnError = new Promise<Error>((resolve) => c.once('error', resolve));
    for (let waited = 0; waited < 10_000; waited += 50) {
      if (c.exitCode !== null) throw new Error(`redis-server exited with ${c.exitCode}:\n${log}`);
      const pause = new Promise<undefined>((r) => setTimeout(() => r(undefined), 50));
      const failed = await Promise.race([spawnError, pause]);
      if (failed) throw new Error(`${MISSING} (${failed.message})`);
      if (await ping(port)) return;
    }
    c.kill('SIGKILL');
    throw new Error(`redis-server on port ${port} did not answer PING within 10 s:\n${log}`);
  };

  const kill = async () => {
    if (!child) return;
    child.kill('SIGKILL');
    await exited(child);
  };

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    kill,
    restart: async () => {
      await kill();
      await launch();
    },
    stop: async () => {
      await kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One redis-server for a test file (started before its tests, stopped after them) and a fresh run
 * name per call: the file's tests share the server and run concurrently.
 */
export function sharedRedisServer(test: TestFn): { readonly url: string; runName(label: string): string } {
  let server: RedisServer | undefined;
  let runs = 0;
  test.before(async () => {
    server = await startRedisServer();
  });
  test.after.always(async () => {
    await server?.stop();
  });
  return {
    get url(): string {
      if (!server) throw new Error('the shared redis-server is not running (used outside a test?)');
      return server.url;
    },
    runName: (label: string) => `${label}-${process.pid}-${runs++}`,
  };
}
