/** Mini-batches of sample indices for one epoch: a seeded shuffle, then consecutive slices. */
import type { Random } from '../random';

/**
 * Splits [0, N) into batches of `batchSize` (the last one smaller, like a DataLoader with
 * drop_last = false), in a fresh random order when `rng` is given, else in order.
 */
export function epochBatches(N: number, batchSize: number, rng: Random | undefined): Int32Array[] {
  const order = new Int32Array(N);
  for (let i = 0; i < N; i++) order[i] = i;
  if (rng) rng.shuffle(order);
  const batches: Int32Array[] = [];
  for (let begin = 0; begin < N; begin += batchSize)
    batches.push(order.subarray(begin, Math.min(N, begin + batchSize)));
  return batches;
}
