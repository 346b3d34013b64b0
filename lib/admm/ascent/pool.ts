/**
 * The dual ascent on worker threads, still in TypeScript: `elementwise` workers
 * (native.setThreads) take spans of one constraint in turn, on the state's
 * SharedArrayBuffer-backed arrays, while the main thread only waits, so the event loop stays
 * free (a main thread that took spans too stalled it longer: BENCHMARKS.md). Each span's norms
 * land in their own slot and are added in span order, so the result does not depend on the
 * thread count or timing. Arrays on plain ArrayBuffers (a caller's own), or workers that cannot
 * start, leave the spans to the main thread, which yields to the event loop between them.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { yieldToEventLoop } from '../../yielding';
import { native } from '../../native';
import { type AscendJob, PARTIAL_SUMS, doNextSpan } from './span';

interface Pending {
  resolve: () => void;
  reject: (e: Error) => void;
}

/** Why the ascent workers could not start (then the main thread does every span). */
let unavailable: Error | undefined;

/** The script a worker runs (a test hook: tests reach it through lib/internal/test-hooks.ts). */
export const ascentWorkerScript = { path: path.join(__dirname, 'worker.js') };

/**
 * Idle this long, a worker ends (the next ascent starts another). Its isolate holds the last jobs'
 * SharedArrayBuffers until it collects garbage, which an idle isolate never does: a persistent
 * fit's whole state (~1 GB at N = 8000, T = 40, h = 128) stayed alive after the fit, one more per
 * fit, until the process ran out of memory.
 */
export const ASCENT_IDLE_MS = 1000;

/** A worker and the jobs it was sent, answered in order. */
class AscendWorker {
  private readonly worker: Worker;
  private readonly pending: Pending[] = [];
  private ready = false; // the script loaded (its first message): it may take spans from now on
  private stopping = false;
  private failed: Error | undefined;
  private idle: NodeJS.Timeout | undefined;

  constructor(private readonly onExit: (w: AscendWorker) => void) {
    this.worker = new Worker(ascentWorkerScript.path);
    this.worker.unref(); // an idle worker never keeps the process alive
    this.worker.on('message', (m: unknown) => {
      if (m === 'ready') return void (this.ready = true);
      this.pending.shift()?.resolve();
      if (this.pending.length === 0) {
        this.worker.unref();
        this.idle = setTimeout(() => void this.retire(), ASCENT_IDLE_MS).unref();
      }
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`exited with code ${code}`)));
  }

  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    this.onExit(this);
    // A worker that never started took no span: the main thread has done them all, so its
    // jobs are complete. One that started may have left a span half-written: its jobs fail.
    if (!this.ready && !this.stopping) unavailable ??= e;
    for (const p of this.pending.splice(0)) {
      if (this.ready) p.reject(new Error(`dual ascent worker failed: ${e.message}`));
      else p.resolve();
    }
  }

  /** Ends an idle worker; it leaves the pool at once, so no job is sent to it after. */
  private retire(): Promise<number> {
    this.onExit(this);
    return this.terminate();
  }

  run(job: AscendJob): Promise<void> {
    clearTimeout(this.idle);
    return new Promise((resolve, reject) => {
      if (this.failed) return reject(new Error(`dual ascent worker failed: ${this.failed.message}`));
      this.pending.push({ resolve, reject });
      this.worker.ref(); // an awaited job does
      this.worker.postMessage(job);
    });
  }

  terminate(): Promise<number> {
    clearTimeout(this.idle);
    this.stopping = true;
    return this.worker.terminate();
  }
}

const workers: AscendWorker[] = [];

function forget(w: AscendWorker): void {
  const i = workers.indexOf(w);
  if (i >= 0) workers.splice(i, 1);
}

/** The workers to use now: one per elementwise thread, started on first use (none if they cannot start). */
function ascentWorkers(): AscendWorker[] {
  if (unavailable) return [];
  const wanted = Math.max(1, native.getThreads().elementwise);
  try {
    while (workers.length < wanted) workers.push(new AscendWorker(forget));
  } catch (e) {
    unavailable = e instanceof Error ? e : new Error(String(e));
    return [];
  }
  return workers.slice(0, wanted);
}

/**
 * Stops the ascent workers (they restart when needed; they are unref'd, so this is only for
 * embedders that want them gone), and forgets an earlier failure to start them.
 */
export async function stopAscentWorkers(): Promise<void> {
  unavailable = undefined;
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
}

/** Why the ascent workers could not start, if they could not (a test hook: lib/internal/test-hooks.ts). */
export function ascentWorkersUnavailable(): Error | undefined {
  return unavailable;
}

/**
 * Elements per span: short enough that the main thread yields to the event loop often enough
 * both before V8 has optimised the loop (a process's first spans) and after (BENCHMARKS.md).
 */
export const ASCENT_SPAN = 1 << 17;

/**
 * Fewer spans than this (a mini-batch's constraints: ~4) are done on the main thread: a few
 * milliseconds, not worth a message round trip, and a process that only trains mini-batches
 * never starts the workers (each holds a V8 isolate, ~15 MB of RSS).
 */
export const MIN_WORKER_SPANS = 8;

const isShared = (a: Float32Array) => a.buffer instanceof SharedArrayBuffer;

/**
 * μ ← (μ + left − right)·scale over [0, n) (when `apply`), returning per-span partials
 * (PARTIAL_SUMS + steps values per span of ASCENT_SPAN elements, in span order).
 */
export async function ascendInSpans(
  left: Float32Array,
  right: Float32Array,
  dual: Float32Array,
  scale: number,
  apply: boolean,
  steps: number,
  rowLength: number
): Promise<{ partials: Float64Array; spans: number }> {
  const n = left.length,
    spans = Math.ceil(n / ASCENT_SPAN),
    stride = PARTIAL_SUMS + steps;
  const helpers =
    spans >= MIN_WORKER_SPANS && isShared(left) && isShared(right) && isShared(dual) ? ascentWorkers() : [];
  const shared = helpers.length > 0;
  const job: AscendJob = {
    left,
    right,
    dual,
    scale,
    apply,
    steps,
    rowLength,
    span: ASCENT_SPAN,
    next: new Int32Array(shared ? new SharedArrayBuffer(4) : new ArrayBuffer(4)),
    partials: new Float64Array(
      shared ? new SharedArrayBuffer(8 * spans * stride) : new ArrayBuffer(8 * spans * stride)
    ),
  };
  // A failed worker fails the ascent once every other one is done, so no span is left being written.
  for (const r of await Promise.allSettled(helpers.map((w) => w.run(job)))) if (r.status === 'rejected') throw r.reason;
  // What no worker took (no workers, or none could start): the main thread, yielding between spans.
  while (doNextSpan(job)) await yieldToEventLoop();
  return { partials: job.partials, spans };
}
