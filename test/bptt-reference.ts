/** A float64 reference of the RNN loss for finite-difference checks of the BPTT gradients. */

export interface Net {
  d: number;
  h: number;
  K: number;
  U: Float64Array;
  W: Float64Array;
  b: Float64Array;
  V: Float64Array;
  c: Float64Array;
}

export interface Problem {
  N: number;
  T: number;
  everyStep: boolean;
  /** Dense [N, T, d] inputs or token ids [N, T]. */
  x?: Float32Array;
  ids?: Int32Array;
  /** Class ids [N, L] or values [N, L, K]. */
  labels?: Int32Array;
  values?: Float32Array;
}

/**
 * Σ over samples and loss steps of R(o_t, y_t); `bump` (optional) adds δ to state s_t of
 * sample n, element i after the tanh, so ∂L/∂s_t can be taken by finite differences too.
 */
export function referenceLoss(net: Net, p: Problem, bump?: { n: number; t: number; i: number; delta: number }): number {
  const { d, h, K } = net;
  let total = 0;
  for (let n = 0; n < p.N; n++) {
    let s = new Float64Array(h);
    for (let t = 0; t < p.T; t++) {
      const next = new Float64Array(h);
      for (let i = 0; i < h; i++) {
        let a = net.b[i];
        if (p.ids) a += net.U[i * d + p.ids[n * p.T + t]];
        else for (let j = 0; j < d; j++) a += net.U[i * d + j] * (p.x as Float32Array)[(n * p.T + t) * d + j];
        for (let j = 0; j < h; j++) a += net.W[i * h + j] * s[j];
        next[i] = Math.tanh(a);
        if (bump && bump.n === n && bump.t === t && bump.i === i) next[i] += bump.delta;
      }
      s = next;
      if (!p.everyStep && t < p.T - 1) continue;
      const o = new Float64Array(K);
      for (let k = 0; k < K; k++) {
        o[k] = net.c[k];
        for (let j = 0; j < h; j++) o[k] += net.V[k * h + j] * s[j];
      }
      const row = p.everyStep ? n * p.T + t : n;
      if (p.values) {
        for (let k = 0; k < K; k++) total += 0.5 * (o[k] - p.values[row * K + k]) ** 2;
      } else {
        const max = Math.max(...o);
        let z = 0;
        for (let k = 0; k < K; k++) z += Math.exp(o[k] - max);
        total += Math.log(z) + max - o[(p.labels as Int32Array)[row]];
      }
    }
  }
  return total;
}

/** Centred finite difference of f at parameter array `w`, element i (restored afterwards). */
export function centred(f: () => number, w: Float64Array, i: number, eps = 1e-6): number {
  const keep = w[i];
  w[i] = keep + eps;
  const up = f();
  w[i] = keep - eps;
  const down = f();
  w[i] = keep;
  return (up - down) / (2 * eps);
}
