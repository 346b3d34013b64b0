/**
 * Ways to take an array's memory away while an async call uses it (issue 15, D1), shared by the
 * transfer cases and the fuzz regressions.
 */
import { Worker } from 'node:worker_threads';
import { native } from '../../lib/native-entry';

/** A kernel on shared memory (n³ multiply-adds: some tens of ms at 640) that later calls queue behind. */
export function busyKernel(n = 640): Promise<void> {
  const shared = () => new Float32Array(new SharedArrayBuffer(4 * n * n)).fill(0.5);
  return native.sgemmAsync({ m: n, n, k: n, A: shared(), B: shared(), C: shared() });
}

/** Moves the buffer's memory to a clone nobody keeps: the array is detached, the memory garbage. */
export function transferAway(a: ArrayBufferView): void {
  structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });
}

/**
 * A started worker (starting one takes longer than a busy kernel) to which the returned function
 * hands an array's buffer: it fills it with `value` and ends, which frees the memory.
 */
export async function writingWorker(value: number): Promise<(a: ArrayBufferView) => Promise<void>> {
  const worker = new Worker(
    'const { parentPort } = require("node:worker_threads"); parentPort.postMessage("ready");' +
      'parentPort.once("message", (b) => {' +
      `  new Float32Array(b).fill(${value}); parentPort.postMessage("written");` +
      '});',
    { eval: true }
  );
  const next = () => new Promise((resolve) => worker.once('message', resolve));
  await next();
  return async (a) => {
    const written = next();
    worker.postMessage(a.buffer, [a.buffer as ArrayBuffer]);
    await written;
    await worker.terminate();
  };
}
