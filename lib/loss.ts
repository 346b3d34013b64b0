/** Loss and accuracy of outputs o [rows, K] against targets, in float64. */
import type { TargetLayout } from './data';

export interface LossSummary {
  /** Σ R(o, y) over all loss steps (the scale ADMM's ρ and β live on). */
  sum: number;
  /** Number of loss terms (samples × loss steps). */
  count: number;
  /** Correct arg-max predictions (classification only). */
  correct: number;
}

/** Softmax cross-entropy (nats) or squared error ½‖o − y‖² of each row, summed. */
export function summariseLoss(
  O: Float32Array,
  K: number,
  targets: TargetLayout,
  begin = 0,
  end = O.length / K
): LossSummary {
  let sum = 0,
    correct = 0;
  for (let r = begin; r < end; r++) {
    const base = r * K;
    if (targets.loss === 'squared-error') {
      for (let k = 0; k < K; k++) sum += 0.5 * (O[base + k] - targets.values[base + k]) ** 2;
      continue;
    }
    let max = -Infinity,
      arg = 0;
    for (let k = 0; k < K; k++)
      if (O[base + k] > max) {
        max = O[base + k];
        arg = k;
      }
    let z = 0;
    for (let k = 0; k < K; k++) z += Math.exp(O[base + k] - max);
    const y = targets.labels[r];
    sum += max + Math.log(z) - O[base + y];
    if (arg === y) correct++;
  }
  return { sum, count: end - begin, correct };
}
