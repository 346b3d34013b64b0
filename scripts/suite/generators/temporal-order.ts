/**
 * The temporal order problem (Hochreiter & Schmidhuber 1997, task 6a), at a fixed length T:
 * B, then distractors a–d, with two relevant symbols X or Y, one at t1 ∈ [0.1T, 0.2T) and one at
 * t2 ∈ [0.5T, 0.6T), and E at the end. The class is their order: XX, XY, YX, YY (0–3), so the
 * net must carry the first one across ≥ 0.3T steps of noise. Classes exactly balanced.
 */
import { Random, type TrainingData } from '../../../lib';

/** Token ids: a, b, c, d (distractors), X, Y (relevant), B, E. */
export const TEMPORAL_ORDER = { symbols: 8, classes: 4, X: 4, Y: 5, B: 6, E: 7 } as const;

export function temporalOrder(count: number, T: number, seed: number): TrainingData {
  if (!Number.isInteger(T) || T < 10) throw new RangeError(`temporal order: T must be an integer ≥ 10, got ${T}`);
  const { X, Y, B, E, classes } = TEMPORAL_ORDER;
  const rng = new Random(seed);
  const order = rng.shuffle(Array.from({ length: count }, (_, i) => i));
  const inputs = new Int32Array(count * T),
    targets = new Int32Array(count);
  // A step in [from·T, to·T).
  const window = (from: number, to: number) => {
    const first = Math.floor(from * T);
    return first + rng.int(Math.max(1, Math.floor(to * T) - first));
  };
  for (let i = 0; i < count; i++) {
    const n = order[i],
      label = i % classes;
    const row = inputs.subarray(n * T, (n + 1) * T);
    for (let t = 0; t < T; t++) row[t] = rng.int(4);
    row[0] = B;
    row[T - 1] = E;
    row[window(0.1, 0.2)] = label & 2 ? Y : X;
    row[window(0.5, 0.6)] = label & 1 ? Y : X;
    targets[n] = label;
  }
  return { inputs, targets, sequenceLength: T };
}
