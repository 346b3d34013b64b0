/** Long TypeScript-side loops run in slices that yield to the event loop between them. */

/** Elements per slice: a few milliseconds of work. */
export const SLICE = 1 << 19;

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs body over [0, n) in slices, yielding to the event loop after each slice but the last. */
export async function forSlices(n: number, body: (begin: number, end: number) => void): Promise<void> {
  for (let begin = 0; begin < n; begin += SLICE) {
    body(begin, Math.min(n, begin + SLICE));
    if (begin + SLICE < n) await yieldToEventLoop();
  }
}

/**
 * to.set(from) in slices: whole-data arrays on shared memory copy at ~1 GB/s, so one set() of a
 * state's array holds the event loop for tens of milliseconds.
 */
export function copyInSlices(to: Float32Array, from: Float32Array): Promise<void> {
  return forSlices(from.length, (begin, end) => to.set(from.subarray(begin, end), begin));
}
