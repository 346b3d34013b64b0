/**
 * Fixed-order float64 sums of the weight blocks' Grams and right-hand sides. Each part (a shard,
 * or a chunk of a chunked sweep) forms its own float32 Gram from zero with the native kernel; the
 * parts are added in float64 in part order and rounded to float32 once for the solve. The order is
 * fixed and the kernel's result does not depend on thread counts, so a sharded iteration and a
 * chunked sweep with one chunk per shard solve from the same bits.
 */
import { sharedFloats } from '../../in-shared-memory';

/** The lower triangle of an m×m row-major matrix followed by a right-hand side, packed. */
export function packedLength(m: number, rhs: number): number {
  return (m * (m + 1)) / 2 + rhs;
}

/** Packs the lower triangle of G (m×m) and all of R into `out` (float64, exact). */
export function packGram(
  G: Float32Array,
  R: Float32Array,
  m: number,
  out = new Float64Array(packedLength(m, R.length))
): Float64Array {
  let k = 0;
  for (let i = 0; i < m; i++) for (let j = 0; j <= i; j++) out[k++] = G[i * m + j];
  for (let i = 0; i < R.length; i++) out[k++] = R[i];
  return out;
}

/** A float64 running sum of packed Grams, added part by part in the caller's order. */
export class GramSum {
  readonly sum: Float64Array;
  /** The float32 Gram and right-hand side a part's kernel writes into (zeroed by `part()`). */
  readonly G: Float32Array;
  readonly R: Float32Array;

  constructor(
    readonly m: number,
    rhs: number
  ) {
    this.sum = new Float64Array(packedLength(m, rhs));
    this.G = sharedFloats(m * m);
    this.R = sharedFloats(rhs);
  }

  reset(): void {
    this.sum.fill(0);
  }

  /** Zeroed G, R for the next part's kernel. */
  part(): { G: Float32Array; R: Float32Array } {
    this.G.fill(0);
    this.R.fill(0);
    return { G: this.G, R: this.R };
  }

  /** Adds the part just written into G, R. */
  addPart(): void {
    this.addPacked(packGram(this.G, this.R, this.m));
  }

  /** Adds a part already packed (a shard's contribution). */
  addPacked(packed: Float64Array): void {
    if (packed.length !== this.sum.length)
      throw new RangeError(`a Gram part of ${packed.length} values, expected ${this.sum.length}`);
    for (let i = 0; i < packed.length; i++) this.sum[i] += packed[i];
  }

  /** The sum rounded to float32 into G (lower triangle, upper zero) and R, for the *FromGram solve. */
  rounded(): { G: Float32Array; R: Float32Array } {
    const { G, R } = this.part();
    let k = 0;
    for (let i = 0; i < this.m; i++) for (let j = 0; j <= i; j++) G[i * this.m + j] = this.sum[k++];
    for (let i = 0; i < R.length; i++) R[i] = this.sum[k++];
    return { G, R };
  }
}

/** The two weight blocks' Gram sizes: (U, W, b) of order d + h + 1, (V, c) of order h + 1. */
export function uwbGram(shape: { d: number; h: number }): GramSum {
  const m = shape.d + shape.h + 1;
  return new GramSum(m, shape.h * m);
}
export function vcGram(shape: { h: number; K: number }): GramSum {
  const m = shape.h + 1;
  return new GramSum(m, shape.K * m);
}
