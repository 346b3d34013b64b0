/** Seeded synthetic sequences (T = 28, d = 28, 10 classes) for the size sweeps: mnist10k has only 8,000. */
import { Random, type TrainingData } from '../../lib';

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
