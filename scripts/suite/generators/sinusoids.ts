/**
 * Forecasting noisy sinusoids (squared error): each sequence is y(t) = A1 sin(ω1 t + φ1) +
 * A2 sin(ω2 t + φ2) with A ~ U(0.2, 0.8), ω ~ U(0.1, 0.6) rad per step, φ ~ U(0, 2π); the net
 * reads x_t = y(t) + N(0, 0.1²) for t = 0..T−1 and predicts the clean next `horizon` values
 * y(T), …, y(T + horizon − 1) at the last step. Predicting 0 gives MSE ≈ E[y²] ≈ 0.23.
 */
import { Random, type TrainingData } from '../../../lib';

export const SINUSOIDS = { noise: 0.1, horizon: 5 } as const;

export function noisySinusoids(count: number, T: number, seed: number): TrainingData {
  if (!Number.isInteger(T) || T < 2) throw new RangeError(`sinusoids: T must be an integer ≥ 2, got ${T}`);
  const { noise, horizon } = SINUSOIDS;
  const rng = new Random(seed);
  const inputs = new Float32Array(count * T),
    targets = new Float32Array(count * horizon);
  for (let n = 0; n < count; n++) {
    const waves = [0, 1].map(() => ({
      a: 0.2 + 0.6 * rng.uniform(),
      w: 0.1 + 0.5 * rng.uniform(),
      phi: 2 * Math.PI * rng.uniform(),
    }));
    const y = (t: number) => waves.reduce((sum, v) => sum + v.a * Math.sin(v.w * t + v.phi), 0);
    for (let t = 0; t < T; t++) inputs[n * T + t] = y(t) + noise * rng.normal();
    for (let k = 0; k < horizon; k++) targets[n * horizon + k] = y(T + k);
  }
  return { inputs, targets, sequenceLength: T };
}
