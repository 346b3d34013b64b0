/**
 * Memory per worker of the sharded persistent loop (issue 17): the loop (chunked as the library
 * chooses) on N synthetic MNIST-shaped sequences in one process, then over Redis as S worker
 * processes, each generating and holding only its rows, and a coordinator process that holds no
 * data. Every process runs alone (scripts/bench/shard-memory-child.ts), so its peak RSS (VmHWM) is
 * its own. Run by `npm run bench:parallel`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { automaticChunkSize } from '../../lib/admm/options';
import { AdmmState } from '../../lib/admm/persistent/state';
import { D, K, T } from './synthetic';

export interface ShardMemoryRun {
  N: number;
  h: number;
  iterations: number;
  shards: number;
}

interface Peak {
  role: string;
  peak: number;
  /** RSS at the process's start, before any data. */
  baseline: number;
  seconds: number;
  dataBytes: number;
  loss?: number;
  rows?: number;
  chunkRows?: number;
}

export interface ShardMemory {
  run: ShardMemoryRun;
  single: Peak;
  coordinator: Peak;
  workers: Peak[];
}

const CHILD = path.join(__dirname, 'shard-memory-child.js');

/** One child process; resolves with its JSON line. `started` receives the process (to stop it on failure). */
function child(args: (string | number)[], started?: (c: ChildProcess) => void): Promise<Peak> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [CHILD, ...args.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
    started?.(c);
    let out = '';
    c.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    c.once('error', reject);
    c.once('exit', (code, signal) => {
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').pop()!) as Peak);
      else reject(new Error(`shard-memory-child ${args[0]} exited with ${code ?? signal}`));
    });
  });
}

/** MemAvailable of /proc/meminfo, in bytes. */
function availableMemory(): number {
  const line = fs
    .readFileSync('/proc/meminfo', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('MemAvailable:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) * 1024;
}

/** What the one-process run is expected to hold: its state (chunked as the library chooses) and the data. */
export function expectedBytes({ N, h }: ShardMemoryRun): number {
  const shape = { N, T, d: D, h, K, everyStep: false };
  return AdmmState.bytesFor(shape, automaticChunkSize(N, T, h) ?? N, true) + 4 * N * T * D + 4 * N;
}

/** Of the memory available now, the share one run may take: the machine is shared with other jobs. */
const AVAILABLE_SHARE = 0.6;

/**
 * Why a run of this size is not started now (undefined: it may start): each of the two runs
 * would take more than AVAILABLE_SHARE of the memory the machine has available.
 */
export function tooLarge(run: ShardMemoryRun): string | undefined {
  const expected = expectedBytes(run),
    available = availableMemory();
  if (expected <= AVAILABLE_SHARE * available) return undefined;
  return (
    `the one-process run at N = ${run.N}, h = ${run.h} needs about ${gb(expected)} GB, more than ` +
    `${AVAILABLE_SHARE * 100}% of the ${gb(available)} GB available now (lower --memory-hidden or --memory-sequences)`
  );
}

/** Both runs, one after the other, over the redis-server at `url` (loopback); check tooLarge first. */
export async function measureShardMemory(url: string, run: ShardMemoryRun): Promise<ShardMemory> {
  const { N, h, iterations, shards } = run;
  const single = await child(['single', N, h, iterations]);
  const name = `shard-memory-${process.pid}`;
  const started: ChildProcess[] = [];
  const workers = Array.from({ length: shards }, (_, i) =>
    child(['worker', N, h, i, shards, url, name], (c) => started.push(c))
  );
  try {
    const coordinator = await child(['coordinator', N, h, iterations, shards, url, name]);
    return { run, single, coordinator, workers: await Promise.all(workers) };
  } catch (e) {
    for (const c of started) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.allSettled(workers);
    throw e;
  }
}

/** GiB, printed as GB as in the other memory tables. */
const gb = (b: number) => (b / 2 ** 30).toFixed(2);

/** The per-process peaks, each worker against the one process, and the verdict against 1/3. */
export function formatShardMemory({ run, single, coordinator, workers }: ShardMemory): string[] {
  const ratio = (p: Peak) => (p.peak / single.peak).toFixed(3);
  const lines = [
    `memory per worker: persistent (exact), synthetic N = ${run.N}, T = ${T}, d = ${D}, h = ${run.h}, K = ${K}, ` +
      `${run.iterations} iterations; peak RSS = VmHWM of each process`,
    `  one process (chunks of ${single.chunkRows}): ${gb(single.peak)} GB (data ${gb(single.dataBytes)} GB), ` +
      `${single.seconds.toFixed(1)} s, loss ${single.loss!.toFixed(6)}`,
    `  coordinator process (no data): ${gb(coordinator.peak)} GB, ${ratio(coordinator)} of one process, ` +
      `${coordinator.seconds.toFixed(1)} s, loss ${coordinator.loss!.toFixed(6)}`,
  ];
  workers.forEach((w, i) =>
    lines.push(
      `  worker ${i} (${w.rows} sequences, chunks of ${w.chunkRows}): ${gb(w.peak)} GB ` +
        `(data ${gb(w.dataBytes)} GB), ${ratio(w)} of one process`
    )
  );
  const largest = Math.max(...workers.map((w) => w.peak)) / single.peak;
  const above = (p: Peak) => p.peak - p.baseline;
  const largestAbove = Math.max(...workers.map(above)) / above(single);
  const total = workers.reduce((s, w) => s + w.peak, coordinator.peak);
  const met = largest < 1 / 3 ? 'met' : 'not met';
  lines.push(
    `  all ${workers.length + 1} processes together: ${gb(total)} GB; ` +
      `loss difference from one process ${Math.abs(coordinator.loss! - single.loss!).toExponential(1)}`
  );
  lines.push(
    `memory per worker: largest of ${workers.length} workers / one process = ${largest.toFixed(3)} ` +
      `(${largestAbove.toFixed(3)} above the start-up RSS of ${gb(single.baseline)} GB; target < 1/3: ${met})`
  );
  return lines;
}
