/**
 * Limited-memory BFGS (Nocedal & Wright, Alg. 7.4/7.5) with a backtracking Armijo line
 * search, in float64. Small and dependency-free: used for the readout refit, a convex
 * problem of (h + 1)·K variables.
 */
export interface LbfgsOptions {
  maxIterations: number;
  memory?: number;
  /** Stop when ‖g‖∞ ≤ gradientTolerance · max(1, |f|). */
  gradientTolerance?: number;
}

/** Returns f(x) and writes ∇f(x) into g; a long one may pause (yield) along the way. */
type Objective = (x: Float64Array, g: Float64Array) => Generator<undefined, number, void>;

/**
 * Minimises in place; the generator's return value is the final f. It pauses (yields) where the
 * objective does, between the line search's evaluations and after every iteration, so a caller on
 * the event loop can yield to it there (readout.ts); driven straight through, it is plain L-BFGS.
 */
export function* lbfgsIterations(
  x: Float64Array,
  evaluate: Objective,
  options: LbfgsOptions
): Generator<undefined, number, void> {
  const n = x.length,
    m = options.memory ?? 10,
    tol = options.gradientTolerance ?? 1e-6;
  const s: Float64Array[] = [],
    y: Float64Array[] = [],
    rhoHist: number[] = [];
  const g = new Float64Array(n),
    gNew = new Float64Array(n),
    dir = new Float64Array(n),
    xNew = new Float64Array(n);
  const alpha = new Array<number>(m);
  const dot = (a: Float64Array, b: Float64Array) => {
    let v = 0;
    for (let i = 0; i < n; i++) v += a[i] * b[i];
    return v;
  };
  let f = yield* evaluate(x, g);
  for (let it = 0; it < options.maxIterations; it++) {
    let gMax = 0;
    for (let i = 0; i < n; i++) gMax = Math.max(gMax, Math.abs(g[i]));
    if (gMax <= tol * Math.max(1, Math.abs(f))) break;
    // Two-loop recursion: dir = −H g.
    for (let i = 0; i < n; i++) dir[i] = -g[i];
    for (let k = s.length - 1; k >= 0; k--) {
      alpha[k] = rhoHist[k] * dot(s[k], dir);
      for (let i = 0; i < n; i++) dir[i] -= alpha[k] * y[k][i];
    }
    const gamma = s.length
      ? dot(s[s.length - 1], y[y.length - 1]) / dot(y[y.length - 1], y[y.length - 1])
      : 1 / Math.max(1, Math.sqrt(dot(g, g)));
    for (let i = 0; i < n; i++) dir[i] *= gamma;
    for (let k = 0; k < s.length; k++) {
      const beta = rhoHist[k] * dot(y[k], dir);
      for (let i = 0; i < n; i++) dir[i] += s[k][i] * (alpha[k] - beta);
    }
    let slope = dot(g, dir);
    if (slope >= 0) {
      // not a descent direction: restart from steepest descent
      for (let i = 0; i < n; i++) dir[i] = -g[i];
      slope = -dot(g, g);
      s.length = y.length = rhoHist.length = 0;
    }
    let step = 1,
      fNew = f;
    for (let tries = 0; tries < 40; tries++, step *= 0.5) {
      // A pause between the line search's evaluations: a search of several is an iteration's long part.
      if (tries > 0) yield undefined;
      for (let i = 0; i < n; i++) xNew[i] = x[i] + step * dir[i];
      fNew = yield* evaluate(xNew, gNew);
      if (fNew <= f + 1e-4 * step * slope) break;
    }
    if (!(fNew < f)) break; // no progress possible at float64 precision
    const sk = new Float64Array(n),
      yk = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      sk[i] = xNew[i] - x[i];
      yk[i] = gNew[i] - g[i];
    }
    const sy = dot(sk, yk);
    if (sy > 1e-12) {
      if (s.length === m) {
        s.shift();
        y.shift();
        rhoHist.shift();
      }
      s.push(sk);
      y.push(yk);
      rhoHist.push(1 / sy);
    }
    x.set(xNew);
    g.set(gNew);
    f = fNew;
    yield undefined;
  }
  return f;
}
