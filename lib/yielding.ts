/** Long TypeScript-side loops run in chunks that yield to the event loop between them. */

/** Elements per chunk: a few milliseconds of work. */
export const CHUNK = 1 << 19;

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs body over [0, n) in chunks, yielding to the event loop after each chunk but the last. */
export async function forChunks(n: number, body: (begin: number, end: number) => void): Promise<void> {
  for (let begin = 0; begin < n; begin += CHUNK) {
    body(begin, Math.min(n, begin + CHUNK));
    if (begin + CHUNK < n) await yieldToEventLoop();
  }
}
