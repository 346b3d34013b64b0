/**
 * The adding problem (Hochreiter & Schmidhuber 1997; Le et al. 2015): T steps of two features,
 * a value ~ U(0, 1) and a marker; exactly two steps are marked, one in each half of the sequence,
 * and the target is the sum of the two marked values. Predicting the mean (1.0) always gives
 * MSE = Var(U1 + U2) = 1/6 ≈ 0.167: a model below that has learnt a dependence across ≥ T/2 steps.
 */
import { Random, type TrainingData } from '../../lib';

export const ADDING_BASELINE_MSE = 1 / 6;

export function addingProblem(count: number, T: number, seed: number): TrainingData {
  if (!Number.isInteger(T) || T < 2) throw new RangeError(`adding problem: T must be an integer ≥ 2, got ${T}`);
  const rng = new Random(seed);
  const inputs = new Float32Array(count * T * 2),
    targets = new Float32Array(count);
  const half = Math.floor(T / 2);
  for (let n = 0; n < count; n++) {
    const first = rng.int(half),
      second = half + rng.int(T - half);
    let sum = 0;
    for (let t = 0; t < T; t++) {
      const value = rng.uniform();
      inputs[(n * T + t) * 2] = value;
      if (t === first || t === second) {
        inputs[(n * T + t) * 2 + 1] = 1;
        sum += value;
      }
    }
    targets[n] = sum;
  }
  return { inputs, targets, sequenceLength: T };
}
