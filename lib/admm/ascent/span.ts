/**
 * The dual ascent's inner loop over one span of a constraint, shared by the main thread and
 * the ascent workers (pool.ts): μ ← (μ + left − right)·scale, with the norms.
 * No imports, so a worker loads nothing else.
 */

/** Values per span in a partials array: ‖r‖², ‖left‖², ‖right‖², ‖μ‖², ‖μ + r‖², then per step. */
export const PARTIAL_SUMS = 5;

/**
 * The fused loop over [begin, end): a top-level function with one shape of arguments, so V8
 * optimises it once for every constraint (a closure per call was measured 2–3× slower).
 * Writes ‖r‖², ‖left‖², ‖right‖², ‖μ‖², ‖μ + r‖² of the span to out[at .. at+5), and ‖μ + r‖²
 * of the span's rows by time step (rows of `rowLength` values cycling through `steps` steps)
 * to out[at+5 .. at+5+steps).
 */
export function ascendSpan(
  left: Float32Array,
  right: Float32Array,
  dual: Float32Array,
  scale: number,
  apply: boolean,
  begin: number,
  end: number,
  steps: number,
  rowLength: number,
  out: Float64Array,
  at: number
): void {
  let rr = 0,
    ll = 0,
    pp = 0,
    mo = 0,
    mn = 0;
  out.fill(0, at + PARTIAL_SUMS, at + PARTIAL_SUMS + steps);
  for (let k = begin; k < end;) {
    const row = Math.floor(k / rowLength),
      rowEnd = Math.min(end, (row + 1) * rowLength);
    let rowSq = 0;
    for (; k < rowEnd; k++) {
      const l = left[k],
        p = right[k],
        m = dual[k],
        r = l - p,
        next = m + r;
      rr += r * r;
      ll += l * l;
      pp += p * p;
      mo += m * m;
      rowSq += next * next;
      if (apply) dual[k] = next * scale;
    }
    mn += rowSq;
    out[at + PARTIAL_SUMS + (row % steps)] += rowSq;
  }
  out[at] = rr;
  out[at + 1] = ll;
  out[at + 2] = pp;
  out[at + 3] = mo;
  out[at + 4] = mn;
}

/** One ascent job as posted to a worker: the buffers are views of SharedArrayBuffers. */
export interface AscendJob {
  left: Float32Array;
  right: Float32Array;
  dual: Float32Array;
  scale: number;
  apply: boolean;
  steps: number;
  rowLength: number;
  span: number;
  /** Int32Array over a SharedArrayBuffer: [0] is the next span to take (Atomics.add). */
  next: Int32Array;
  partials: Float64Array;
}

/** Takes the next span from job.next and does it; false when none is left. */
export function doNextSpan(job: AscendJob): boolean {
  const n = job.left.length,
    c = Atomics.add(job.next, 0, 1);
  if (c >= Math.ceil(n / job.span)) return false;
  ascendSpan(
    job.left,
    job.right,
    job.dual,
    job.scale,
    job.apply,
    c * job.span,
    Math.min(n, (c + 1) * job.span),
    job.steps,
    job.rowLength,
    job.partials,
    c * (PARTIAL_SUMS + job.steps)
  );
  return true;
}
