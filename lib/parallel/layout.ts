/** The weights in a publication's body: U, W, b, V, c one after another, in float64 (exact for float32). */

export interface WeightViews {
  U: Float32Array;
  W: Float32Array;
  b: Float32Array;
  V: Float32Array;
  c: Float32Array;
}

const ORDER = ['U', 'W', 'b', 'V', 'c'] as const;

/** A shard's own copy of the weights, zero until the first publication fills it. */
export function emptyWeights({ d, h, K }: { d: number; h: number; K: number }): WeightViews {
  return {
    U: new Float32Array(h * d),
    W: new Float32Array(h * h),
    b: new Float32Array(h),
    V: new Float32Array(K * h),
    c: new Float32Array(K),
  };
}

export function weightsLength(w: WeightViews): number {
  return ORDER.reduce((n, k) => n + w[k].length, 0);
}

export function writeWeights(w: WeightViews, out = new Float64Array(weightsLength(w))): Float64Array {
  let at = 0;
  for (const k of ORDER) {
    out.set(w[k], at);
    at += w[k].length;
  }
  return out;
}

/** Copies a body written by writeWeights into `w` (sizes must match). */
export function readWeights(body: Float64Array, w: WeightViews): void {
  if (body.length < weightsLength(w))
    throw new RangeError(`a publication of ${body.length} values, expected ${weightsLength(w)} weights`);
  let at = 0;
  for (const k of ORDER) {
    w[k].set(body.subarray(at, at + w[k].length));
    at += w[k].length;
  }
}
