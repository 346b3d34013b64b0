/** Seeded weight initialisation schemes. Biases always start at zero. */
import { Random } from './random';

/**
 * - `normal`: every weight ~ N(0, scale²) (default scale 0.1, the prototype's σ).
 * - `uniform`: every weight ~ U(−scale, scale) (default 0.1).
 * - `glorot`: Glorot-uniform U, W and V, times scale (default 1).
 * - `orthogonal`: Keras SimpleRNN style — Glorot-uniform U and V, W a random orthogonal
 *   matrix times scale (default gain 1).
 */
export type InitScheme = 'normal' | 'uniform' | 'glorot' | 'orthogonal';
export const INIT_SCHEMES: readonly InitScheme[] = ['normal', 'uniform', 'glorot', 'orthogonal'];

export function defaultScale(scheme: InitScheme): number {
  return scheme === 'normal' || scheme === 'uniform' ? 0.1 : 1;
}

function fill(out: Float32Array, draw: () => number): void {
  for (let i = 0; i < out.length; i++) out[i] = draw();
}

/** Glorot uniform for a matrix with `fanOut` rows and `fanIn` columns. */
function glorot(out: Float32Array, fanIn: number, fanOut: number, scale: number, rng: Random): void {
  const limit = scale * Math.sqrt(6 / (fanIn + fanOut));
  fill(out, () => (2 * rng.uniform() - 1) * limit);
}

/** A random orthogonal n×n matrix (QR of a Gaussian matrix, signs fixed so it is Haar-distributed). */
export function orthogonal(out: Float32Array, n: number, gain: number, rng: Random): void {
  const q = new Float64Array(n * n);
  for (let i = 0; i < q.length; i++) q[i] = rng.normal();
  // Modified Gram–Schmidt on the columns; the sign of R's diagonal is folded into Q.
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += q[i * n + k] * q[i * n + j];
      for (let i = 0; i < n; i++) q[i * n + j] -= dot * q[i * n + k];
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += q[i * n + j] ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) q[i * n + j] /= norm;
  }
  for (let i = 0; i < q.length; i++) out[i] = gain * q[i];
}

export interface WeightBuffers {
  U: Float32Array;
  W: Float32Array;
  b: Float32Array;
  V: Float32Array;
  c: Float32Array;
}

export function initialise(
  w: WeightBuffers,
  sizes: { inputSize: number; hiddenSize: number; outputSize: number },
  scheme: InitScheme,
  scale: number,
  seed: number
): void {
  const rng = new Random(seed);
  const { inputSize: d, hiddenSize: h, outputSize: K } = sizes;
  switch (scheme) {
    case 'normal':
      for (const m of [w.U, w.W, w.V]) fill(m, () => scale * rng.normal());
      break;
    case 'uniform':
      for (const m of [w.U, w.W, w.V]) fill(m, () => (2 * rng.uniform() - 1) * scale);
      break;
    case 'glorot':
      glorot(w.U, d, h, scale, rng);
      glorot(w.W, h, h, scale, rng);
      glorot(w.V, h, K, scale, rng);
      break;
    case 'orthogonal':
      glorot(w.U, d, h, 1, rng);
      orthogonal(w.W, h, scale, rng);
      glorot(w.V, h, K, 1, rng);
      break;
  }
  w.b.fill(0);
  w.c.fill(0);
}
