/** Seeded synthetic sequences (T = 28, d = 28, 10 classes) for the size sweeps: mnist10k has only 8,000. */
import { Random, type TrainingData } from '../../lib';
import { sharedFloats } from '../../lib/in-shared-memory';

export const T = 28,
  D = 28,
  K = 10;

export function syntheticData(N: number, seed = 1): TrainingData {
  const rng = new Random(seed);
  const inputs = new Float32Array(N * T * D);
  for (let i = 0; i < inputs.length; i++) inputs[i] = rng.uniform(); // pixel-like values in [0, 1)
  const targets = Int32Array.from({ length: N }, () => rng.int(K));
  return { inputs, targets, sequenceLength: T };
}

/**
 * Rows [begin, end) of a seeded synthetic data set (T = 28, d = 28, 10 classes) on shared memory,
 * every row from a generator of its own: a shard generates only its rows, and the rows of all the
 * shards are, value for value, the whole set generated in one piece. Not the same values as
 * syntheticData (one generator for the whole set).
 */
export function syntheticRows(begin: number, end: number, seed = 1): TrainingData {
  const n = end - begin;
  const inputs = sharedFloats(n * T * D),
    targets = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const rng = new Random((Math.imul(seed, 0x9e3779b1) + begin + r) >>> 0);
    targets[r] = rng.int(K);
    for (let i = r * T * D; i < (r + 1) * T * D; i++) inputs[i] = rng.uniform();
  }
  return { inputs, targets, sequenceLength: T };
}
