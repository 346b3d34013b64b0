/**
 * Plain float64 reference implementations of the native kernels (see native/kernels.h for
 * the layout: row-major, batch first; x [N,T,d], ids [N,T], a/s/μ1/μ2/XU [N,T,h],
 * o/μ3 [N,L,K] with L = T (loss at every step) or 1 (last step); U [h,d], W [h,h], b [h],
 * V [K,h], c [K]). Written for clarity, not speed: loops over samples and steps exactly as
 * docs/ALGORITHM.md states the maths, so a layout or step-index slip in the native code shows up.
 */
import type { NativeShape } from '../lib/native';

export type Num = ArrayLike<number>;
/** Dense inputs or token ids, as the reference reads them (any numeric array). */
export type RefInputs = { x: Num; ids?: undefined } | { ids: Num; x?: undefined };

/** Number of loss rows per sequence. */
export const lossRows = (s: NativeShape): number => (s.everyStep ? s.T : 1);
/** The (0-based) time step of loss row l. */
export const lossStep = (s: NativeShape, l: number): number => (s.everyStep ? l : s.T - 1);
/** Offset of the h-vector of sample n at step t in an [N,T,h] array. */
const row = (s: NativeShape, n: number, t: number): number => (n * s.T + t) * s.h;

// ---- forward products -------------------------------------------------------

/** XU = U x_t + b for every sample and step ([N,T,h]). */
export function inputProjection(s: NativeShape, inp: RefInputs, U: Num, b: Num): Float64Array {
  const out = new Float64Array(s.N * s.T * s.h);
  for (let r = 0; r < s.N * s.T; r++)
    for (let i = 0; i < s.h; i++) {
      let v = b[i];
      if (inp.ids) v += U[i * s.d + inp.ids[r]];
      else for (let j = 0; j < s.d; j++) v += U[i * s.d + j] * inp.x[r * s.d + j];
      out[r * s.h + i] = v;
    }
  return out;
}

/** y += M v for an (rows × cols) row-major M; y and v at the given offsets. */
function addMatVec(M: Num, rows: number, cols: number, v: Num, vOff: number, y: Float64Array, yOff: number): void {
  for (let i = 0; i < rows; i++) {
    let acc = 0;
    for (let j = 0; j < cols; j++) acc += M[i * cols + j] * v[vOff + j];
    y[yOff + i] += acc;
  }
}

/** y += Mᵀ v for an (rows × cols) row-major M. */
function addMatTVec(M: Num, rows: number, cols: number, v: Num, vOff: number, y: Float64Array, yOff: number): void {
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) y[yOff + j] += M[i * cols + j] * v[vOff + i];
}

/** P_t = XU_t + W s_{t-1}, with s_{-1} = 0. */
export function recurrentAffine(s: NativeShape, XU: Num, S: Num, W: Num): Float64Array {
  const P = Float64Array.from(XU);
  for (let n = 0; n < s.N; n++)
    for (let t = 1; t < s.T; t++) addMatVec(W, s.h, s.h, S, row(s, n, t - 1), P, row(s, n, t));
  return P;
}

/** o = V s_t + c on the loss steps ([N,L,K]). */
export function readout(s: NativeShape, S: Num, V: Num, c: Num): Float64Array {
  const L = lossRows(s);
  const O = new Float64Array(s.N * L * s.K);
  for (let n = 0; n < s.N; n++)
    for (let l = 0; l < L; l++) {
      const o = (n * L + l) * s.K;
      for (let k = 0; k < s.K; k++) O[o + k] = c[k];
      addMatVec(V, s.K, s.h, S, row(s, n, lossStep(s, l)), O, o);
    }
  return O;
}

/** The true forward pass: pre-activations A, states S and outputs O. */
export function forward(s: NativeShape, inp: RefInputs, U: Num, W: Num, b: Num, V: Num, c: Num) {
  const A = inputProjection(s, inp, U, b);
  const S = new Float64Array(A.length);
  for (let n = 0; n < s.N; n++)
    for (let t = 0; t < s.T; t++) {
      const r = row(s, n, t);
      if (t > 0) addMatVec(W, s.h, s.h, S, row(s, n, t - 1), A, r);
      for (let i = 0; i < s.h; i++) S[r + i] = Math.tanh(A[r + i]);
    }
  return { A, S, O: readout(s, S, V, c) };
}

/** C = A B, A m×k, B k×n. */
export function matmul(m: number, n: number, k: number, A: Num, B: Num): Float64Array {
  const C = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += A[i * k + p] * B[p * n + j];
      C[i * n + j] = acc;
    }
  return C;
}

// ---- dense linear algebra ---------------------------------------------------

/** Solves X M = R for X (nr × m) with M (m × m) symmetric positive definite, by Cholesky. */
export function solveRightSPD(M: Num, m: number, R: Num, nr: number): Float64Array {
  const Lc = new Float64Array(m * m);
  for (let j = 0; j < m; j++) {
    let dgl = M[j * m + j];
    for (let k = 0; k < j; k++) dgl -= Lc[j * m + k] ** 2;
    if (!(dgl > 0)) throw new Error('reference: matrix not positive definite');
    Lc[j * m + j] = Math.sqrt(dgl);
    for (let i = j + 1; i < m; i++) {
      let v = M[i * m + j];
      for (let k = 0; k < j; k++) v -= Lc[i * m + k] * Lc[j * m + k];
      Lc[i * m + j] = v / Lc[j * m + j];
    }
  }
  // M symmetric: X M = R ⇔ M xᵀ = rᵀ row by row; forward then backward substitution.
  const X = new Float64Array(nr * m);
  const y = new Float64Array(m);
  for (let r = 0; r < nr; r++) {
    for (let i = 0; i < m; i++) {
      let v = R[r * m + i];
      for (let k = 0; k < i; k++) v -= Lc[i * m + k] * y[k];
      y[i] = v / Lc[i * m + i];
    }
    for (let i = m - 1; i >= 0; i--) {
      let v = y[i];
      for (let k = i + 1; k < m; k++) v -= Lc[k * m + i] * X[r * m + k];
      X[r * m + i] = v / Lc[i * m + i];
    }
  }
  return X;
}

// ---- weight blocks as generic least squares ----------------------------------

/**
 * A weight block: rows of regressors H (last entry 1 = bias) and targets Z; the unknown is
 * Θ (n × m) with f(Θ) = ρ/2 Σ_r ‖Z_r − Θ H_r‖² + β/2 ‖Θ D‖² + η/2 ‖Θ − Θ_0‖², D masking the
 * bias column out of the weight decay.
 */
export interface LeastSquares {
  m: number;
  n: number;
  rows: number;
  H: Float64Array; // rows × m
  Z: Float64Array; // rows × n
}

/** Block 1: H_t = [x_t; s_{t-1}; 1] (s_{-1} = 0), Z_t = a_t + μ1_t, over all N·T rows. */
export function uwbProblem(s: NativeShape, inp: RefInputs, S: Num, A: Num, M1: Num): LeastSquares {
  const m = s.d + s.h + 1,
    rows = s.N * s.T;
  const H = new Float64Array(rows * m),
    Z = new Float64Array(rows * s.h);
  for (let n = 0; n < s.N; n++)
    for (let t = 0; t < s.T; t++) {
      const r = n * s.T + t;
      if (inp.ids) H[r * m + inp.ids[r]] = 1;
      else for (let j = 0; j < s.d; j++) H[r * m + j] = inp.x[r * s.d + j];
      if (t > 0) for (let i = 0; i < s.h; i++) H[r * m + s.d + i] = S[row(s, n, t - 1) + i];
      H[r * m + m - 1] = 1;
      for (let i = 0; i < s.h; i++) Z[r * s.h + i] = A[r * s.h + i] + M1[r * s.h + i];
    }
  return { m, n: s.h, rows, H, Z };
}

/** Block 4: H = [s_t; 1], Z = o_t + μ3_t over the loss rows. */
export function vcProblem(s: NativeShape, S: Num, O: Num, M3: Num): LeastSquares {
  const L = lossRows(s),
    m = s.h + 1,
    rows = s.N * L;
  const H = new Float64Array(rows * m),
    Z = new Float64Array(rows * s.K);
  for (let n = 0; n < s.N; n++)
    for (let l = 0; l < L; l++) {
      const r = n * L + l;
      for (let i = 0; i < s.h; i++) H[r * m + i] = S[row(s, n, lossStep(s, l)) + i];
      H[r * m + m - 1] = 1;
      for (let k = 0; k < s.K; k++) Z[r * s.K + k] = O[r * s.K + k] + M3[r * s.K + k];
    }
  return { m, n: s.K, rows, H, Z };
}

export interface WeightParams {
  rho: number;
  beta: number;
  eta: number;
}

export function weightObjective(p: LeastSquares, theta: Num, theta0: Num, w: WeightParams): number {
  let f = 0;
  for (let r = 0; r < p.rows; r++)
    for (let i = 0; i < p.n; i++) {
      let e = p.Z[r * p.n + i];
      for (let j = 0; j < p.m; j++) e -= theta[i * p.m + j] * p.H[r * p.m + j];
      f += 0.5 * w.rho * e * e;
    }
  for (let i = 0; i < p.n; i++)
    for (let j = 0; j < p.m; j++) {
      const k = i * p.m + j;
      if (j < p.m - 1) f += 0.5 * w.beta * theta[k] ** 2;
      f += 0.5 * w.eta * (theta[k] - theta0[k]) ** 2;
    }
  return f;
}

/** ∇f at Θ_0 (the η term vanishes there). */
export function weightGradient(p: LeastSquares, theta0: Num, w: WeightParams): Float64Array {
  const g = new Float64Array(p.n * p.m);
  for (let r = 0; r < p.rows; r++)
    for (let i = 0; i < p.n; i++) {
      let e = -p.Z[r * p.n + i];
      for (let j = 0; j < p.m; j++) e += theta0[i * p.m + j] * p.H[r * p.m + j];
      for (let j = 0; j < p.m; j++) g[i * p.m + j] += w.rho * e * p.H[r * p.m + j];
    }
  for (let i = 0; i < p.n; i++) for (let j = 0; j < p.m - 1; j++) g[i * p.m + j] += w.beta * theta0[i * p.m + j];
  return g;
}

/** Exact minimiser: Θ (Σ H Hᵀ + β/ρ D + η/ρ I) = Σ Z Hᵀ + η/ρ Θ_0. */
export function weightSolve(p: LeastSquares, theta0: Num, w: WeightParams): Float64Array {
  const G = new Float64Array(p.m * p.m),
    R = new Float64Array(p.n * p.m);
  for (let r = 0; r < p.rows; r++)
    for (let j = 0; j < p.m; j++) {
      const hj = p.H[r * p.m + j];
      for (let k = 0; k < p.m; k++) G[j * p.m + k] += hj * p.H[r * p.m + k];
      for (let i = 0; i < p.n; i++) R[i * p.m + j] += p.Z[r * p.n + i] * hj;
    }
  for (let j = 0; j < p.m; j++) G[j * p.m + j] += (j < p.m - 1 ? w.beta / w.rho : 0) + w.eta / w.rho;
  for (let k = 0; k < R.length; k++) R[k] += (w.eta / w.rho) * theta0[k];
  return solveRightSPD(G, p.m, R, p.n);
}

/** Θ = [U W b] (h × (d+h+1)) and back. */
export function packUWb(s: NativeShape, U: Num, W: Num, b: Num): Float64Array {
  const m = s.d + s.h + 1,
    th = new Float64Array(s.h * m);
  for (let i = 0; i < s.h; i++) {
    for (let j = 0; j < s.d; j++) th[i * m + j] = U[i * s.d + j];
    for (let j = 0; j < s.h; j++) th[i * m + s.d + j] = W[i * s.h + j];
    th[i * m + m - 1] = b[i];
  }
  return th;
}

/** Θ = [V c] (K × (h+1)). */
export function packVc(s: NativeShape, V: Num, c: Num): Float64Array {
  const m = s.h + 1,
    th = new Float64Array(s.K * m);
  for (let k = 0; k < s.K; k++) {
    for (let i = 0; i < s.h; i++) th[k * m + i] = V[k * s.h + i];
    th[k * m + s.h] = c[k];
  }
  return th;
}

// ---- a-step ---------------------------------------------------------------------

/** φ(a) = ρ1/2 (a − p)² + ρ2/2 (q − tanh a)². */
export function phi(a: number, p: number, q: number, rho1: number, rho2: number): number {
  const r = q - Math.tanh(a);
  return 0.5 * rho1 * (a - p) ** 2 + 0.5 * rho2 * r * r;
}

export function phiGrad(a: number, p: number, q: number, rho1: number, rho2: number): number {
  const t = Math.tanh(a);
  return rho1 * (a - p) - rho2 * (q - t) * (1 - t * t);
}

/**
 * Global minimum of φ by brute force: a dense grid over the box [p − B, p + B]
 * (B = ρ2(|q|+1)/ρ1 contains every minimiser), then golden-section refinement
 * inside the two grid cells around every grid local minimum.
 */
export function phiGlobalMin(p: number, q: number, rho1: number, rho2: number, grid = 20000): { a: number; f: number } {
  const B = (rho2 * (Math.abs(q) + 1)) / rho1,
    lo = p - B,
    h = (2 * B) / grid;
  const f = new Float64Array(grid + 1);
  for (let k = 0; k <= grid; k++) f[k] = phi(lo + k * h, p, q, rho1, rho2);
  let best = { a: lo, f: f[0] };
  for (let k = 0; k <= grid; k++) {
    if ((k > 0 && f[k] > f[k - 1]) || (k < grid && f[k] > f[k + 1])) continue; // not a grid local minimum
    let a0 = lo + Math.max(k - 1, 0) * h,
      a1 = lo + Math.min(k + 1, grid) * h;
    const g = 0.6180339887498949;
    for (let it = 0; it < 80; it++) {
      const m1 = a1 - g * (a1 - a0),
        m2 = a0 + g * (a1 - a0);
      if (phi(m1, p, q, rho1, rho2) < phi(m2, p, q, rho1, rho2)) a1 = m2;
      else a0 = m1;
    }
    const a = 0.5 * (a0 + a1),
      fa = phi(a, p, q, rho1, rho2);
    const cand = fa < f[k] ? { a, f: fa } : { a: lo + k * h, f: f[k] };
    if (cand.f < best.f) best = cand;
  }
  return best;
}

// ---- s-step ---------------------------------------------------------------------

export interface SStepData {
  A: Num;
  TA: Num;
  M1: Num;
  M2: Num;
  XU: Num;
  O: Num;
  M3: Num;
  W: Num;
  V: Num;
  c: Num;
  rho1: number;
  rho2: number;
  rho3: number;
}

/** Index of the loss row of step t, or −1 when t is not a loss step. */
const lossRowOf = (s: NativeShape, t: number): number => (s.everyStep ? t : t === s.T - 1 ? 0 : -1);

/**
 * The terms of L that involve s (0-based steps):
 *   ρ2/2 ‖s_t − tanh a_t + μ2_t‖²  +  ρ1/2 ‖a_{t+1} + μ1_{t+1} − XU_{t+1} − W s_t‖² (t < T−1)
 *   + ρ3/2 ‖o_t + μ3_t − c − V s_t‖² (t a loss step).
 */
export function sObjective(s: NativeShape, S: Num, D: SStepData): number {
  const L = lossRows(s);
  let f = 0;
  for (let n = 0; n < s.N; n++)
    for (let t = 0; t < s.T; t++) {
      const r = row(s, n, t);
      for (let i = 0; i < s.h; i++) f += 0.5 * D.rho2 * (S[r + i] - D.TA[r + i] + D.M2[r + i]) ** 2;
      if (t < s.T - 1) {
        const r1 = row(s, n, t + 1);
        const e = new Float64Array(s.h);
        for (let i = 0; i < s.h; i++) e[i] = D.A[r1 + i] + D.M1[r1 + i] - D.XU[r1 + i];
        const ws = new Float64Array(s.h);
        addMatVec(D.W, s.h, s.h, S, r, ws, 0);
        for (let i = 0; i < s.h; i++) f += 0.5 * D.rho1 * (e[i] - ws[i]) ** 2;
      }
      const l = lossRowOf(s, t);
      if (l >= 0) {
        const o = (n * L + l) * s.K;
        const vs = new Float64Array(s.K);
        addMatVec(D.V, s.K, s.h, S, r, vs, 0);
        for (let k = 0; k < s.K; k++) f += 0.5 * D.rho3 * (D.O[o + k] + D.M3[o + k] - D.c[k] - vs[k]) ** 2;
      }
    }
  return f;
}

/** Per (n, t): the system matrix M_t (h×h) and right-hand side r_t of ∂/∂s_t = M_t s_t − r_t. */
function sSystem(s: NativeShape, D: SStepData, n: number, t: number): { M: Float64Array; r: Float64Array } {
  const h = s.h,
    L = lossRows(s);
  const M = new Float64Array(h * h),
    r = new Float64Array(h);
  const base = row(s, n, t);
  for (let i = 0; i < h; i++) {
    M[i * h + i] += D.rho2;
    r[i] = D.rho2 * (D.TA[base + i] - D.M2[base + i]);
  }
  const addGram = (X: Num, rows: number, w: number) => {
    for (let i = 0; i < h; i++)
      for (let j = 0; j < h; j++) for (let k = 0; k < rows; k++) M[i * h + j] += w * X[k * h + i] * X[k * h + j];
  };
  if (t < s.T - 1) {
    addGram(D.W, h, D.rho1);
    const r1 = row(s, n, t + 1),
      e = new Float64Array(h);
    for (let i = 0; i < h; i++) e[i] = D.rho1 * (D.A[r1 + i] + D.M1[r1 + i] - D.XU[r1 + i]);
    addMatTVec(D.W, h, h, e, 0, r, 0);
  }
  const l = lossRowOf(s, t);
  if (l >= 0) {
    addGram(D.V, s.K, D.rho3);
    const o = (n * L + l) * s.K,
      e = new Float64Array(s.K);
    for (let k = 0; k < s.K; k++) e[k] = D.rho3 * (D.O[o + k] + D.M3[o + k] - D.c[k]);
    addMatTVec(D.V, s.K, h, e, 0, r, 0);
  }
  return { M, r };
}

/** Exact s-step: every s_t solves M_t s_t = r_t. */
export function sSolve(s: NativeShape, D: SStepData): Float64Array {
  const out = new Float64Array(s.N * s.T * s.h);
  for (let n = 0; n < s.N; n++)
    for (let t = 0; t < s.T; t++) {
      const { M, r } = sSystem(s, D, n, t);
      out.set(solveRightSPD(M, s.h, r, 1), row(s, n, t));
    }
  return out;
}

/** Gradient of sObjective at S. */
export function sGradient(s: NativeShape, S: Num, D: SStepData): Float64Array {
  const g = new Float64Array(s.N * s.T * s.h);
  for (let n = 0; n < s.N; n++)
    for (let t = 0; t < s.T; t++) {
      const { M, r } = sSystem(s, D, n, t),
        base = row(s, n, t);
      for (let i = 0; i < s.h; i++) g[base + i] = -r[i];
      addMatVec(M, s.h, s.h, S, base, g, base);
    }
  return g;
}

// ---- o-step ---------------------------------------------------------------------

/** m = V s_t + c − μ3_t on the loss rows. */
export function oTarget(s: NativeShape, S: Num, V: Num, c: Num, M3: Num): Float64Array {
  const m = readout(s, S, V, c);
  for (let k = 0; k < m.length; k++) m[k] -= M3[k];
  return m;
}

/** Squared error R = ½‖o − y‖²: o = (y + ρ m)/(1 + ρ). */
export function oSquaredError(m: Num, values: Num, rho: number): Float64Array {
  return Float64Array.from(m, (mk, k) => (values[k] + rho * mk) / (1 + rho));
}

/** Gradient of softmax-CE(o, y) + ρ/2‖o − m‖² for one row: p − e_y + ρ(o − m). */
export function crossEntropyProxGradient(o: Num, m: Num, y: number, rho: number): Float64Array {
  let mx = -Infinity;
  for (let k = 0; k < o.length; k++) mx = Math.max(mx, o[k]);
  let sum = 0;
  const p = Float64Array.from(o, (v) => Math.exp(v - mx));
  for (const v of p) sum += v;
  return Float64Array.from(p, (pk, k) => pk / sum - (k === y ? 1 : 0) + rho * (o[k] - m[k]));
}
