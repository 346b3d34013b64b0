/**
 * Every native kernel against the float64 reference in ./reference.ts, on small odd shapes,
 * both loss layouts ('last' and 'every' step), dense `x` and token `ids`.
 *
 * Every typed array handed to the addon is a `subarray` view at a non-zero offset into a
 * larger array whose padding is NaN (float) or other valid token ids (int): a kernel that
 * ignores the view offset reads NaN or wrong ids and fails the comparison, and a kernel that
 * writes outside its view leaves a non-NaN in the padding (checked by `paddingIntact`).
 */
import test, { type ExecutionContext } from 'ava';
import { nativeHooks } from '../lib/internal/test-hooks';
import { native, type NativeInputs, type NativeShape } from '../lib/native';
import { Random } from '../lib/random';
import * as ref from './reference';

type Kind = 'x' | 'ids';
const KINDS: Kind[] = ['x', 'ids'];

const SHAPES: NativeShape[] = [
  { N: 7, T: 5, d: 3, h: 6, K: 4, everyStep: false },
  { N: 7, T: 5, d: 3, h: 6, K: 4, everyStep: true },
  { N: 3, T: 4, d: 8, h: 5, K: 2, everyStep: true },
  { N: 2, T: 6, d: 5, h: 9, K: 7, everyStep: false },
  { N: 5, T: 1, d: 2, h: 3, K: 3, everyStep: false }, // T = 1: no recurrence at all
];
const nameOf = (s: NativeShape): string => `N${s.N} T${s.T} d${s.d} h${s.h} K${s.K} ${s.everyStep ? 'every' : 'last'}`;

/** Float32-appropriate relative tolerance for the comparisons with the float64 reference. */
const RTOL = 1e-4;

// ---- buffers -----------------------------------------------------------------------

function normal(rng: Random, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

/** A copy of `data` at a random non-zero offset inside a larger NaN-padded Float32Array. */
function inView(rng: Random, data: Float32Array): Float32Array {
  const before = 1 + rng.int(6),
    after = 1 + rng.int(4);
  const parent = new Float32Array(before + data.length + after).fill(NaN);
  const view = parent.subarray(before, before + data.length);
  view.set(data);
  return view;
}

/** An output view: NaN everywhere, so an element the kernel forgets to write shows up. */
const outView = (rng: Random, n: number): Float32Array => inView(rng, new Float32Array(n).fill(NaN));

/** Token ids in a view whose padding holds other valid ids (so ignoring the offset gives wrong, not out-of-range, reads). */
function idsView(rng: Random, ids: Int32Array, d: number): Int32Array {
  const before = 1 + rng.int(6),
    after = 1 + rng.int(4);
  const parent = Int32Array.from({ length: before + ids.length + after }, () => rng.int(d));
  const view = parent.subarray(before, before + ids.length);
  view.set(ids);
  return view;
}

/** True when nothing outside the view was written (the NaN padding is still NaN). */
function paddingIntact(v: Float32Array): boolean {
  const parent = new Float32Array(v.buffer),
    start = v.byteOffset / 4;
  for (let k = 0; k < parent.length; k++)
    if ((k < start || k >= start + v.length) && !Number.isNaN(parent[k])) return false;
  return true;
}

function checkPadding(t: ExecutionContext, views: Record<string, unknown>): void {
  for (const [name, v] of Object.entries(views))
    if (v instanceof Float32Array) t.true(paddingIntact(v), `${name}: written outside its view`);
}

/**
 * Element-wise |actual − expected| ≤ rtol·(|expected| + rms(expected)): relative where values
 * are large, absolute at the array's own scale where they are small. A wrong sign, step
 * index or offset gives O(1) relative errors.
 */
function assertClose(
  t: ExecutionContext,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  rtol = RTOL
): void {
  t.is(actual.length, expected.length, `${what}: length`);
  let sq = 0;
  for (let k = 0; k < expected.length; k++) sq += expected[k] ** 2;
  const rms = Math.sqrt(sq / Math.max(1, expected.length)) + 1e-30;
  let worst = 0,
    at = 0;
  for (let k = 0; k < expected.length; k++) {
    const err = Math.abs(actual[k] - expected[k]) / (Math.abs(expected[k]) + rms);
    if (!(err <= worst)) [worst, at] = [Number.isNaN(err) ? Infinity : err, k];
  }
  t.true(
    worst <= rtol,
    `${what}: relative error ${worst.toExponential(2)} at [${at}]: got ${actual[at]}, want ${expected[at]}`
  );
}

const sumSq = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += (a[k] - b[k]) ** 2;
  return s;
};

// ---- a random problem --------------------------------------------------------------

/** Random weights, inputs, auxiliaries and duals of one shape (float32, as the addon takes them). */
interface Problem {
  s: NativeShape;
  x: Float32Array;
  ids: Int32Array;
  U: Float32Array;
  W: Float32Array;
  b: Float32Array;
  V: Float32Array;
  c: Float32Array;
  A: Float32Array;
  S: Float32Array;
  TA: Float32Array;
  XU: Float32Array;
  M1: Float32Array;
  M2: Float32Array;
  M3: Float32Array;
  O: Float32Array;
  labels: Int32Array;
  values: Float32Array;
}

function makeProblem(s: NativeShape, seed: number): Problem {
  const rng = new Random(seed);
  const nT = s.N * s.T * s.h,
    nO = s.N * ref.lossRows(s) * s.K;
  const A = normal(rng, nT, 1.2);
  return {
    s,
    x: normal(rng, s.N * s.T * s.d),
    ids: Int32Array.from({ length: s.N * s.T }, () => rng.int(s.d)),
    U: normal(rng, s.h * s.d, 0.7),
    W: normal(rng, s.h * s.h, 0.8 / Math.sqrt(s.h)),
    b: normal(rng, s.h, 0.3),
    V: normal(rng, s.K * s.h, 1 / Math.sqrt(s.h)),
    c: normal(rng, s.K, 0.3),
    A,
    S: A.map((a) => Math.tanh(a) + 0.1 * rng.normal()),
    TA: A.map(Math.tanh),
    XU: normal(rng, nT),
    M1: normal(rng, nT, 0.2),
    M2: normal(rng, nT, 0.2),
    M3: normal(rng, nO, 0.2),
    O: normal(rng, nO, 1.5),
    labels: Int32Array.from({ length: s.N * ref.lossRows(s) }, () => rng.int(s.K)),
    values: normal(rng, nO),
  };
}

const refInputs = (p: Problem, kind: Kind): ref.RefInputs => (kind === 'x' ? { x: p.x } : { ids: p.ids });
const viewInputs = (rng: Random, p: Problem, kind: Kind): NativeInputs =>
  kind === 'x' ? { x: inView(rng, p.x) } : { ids: idsView(rng, p.ids, p.s.d) };

// ---- forward products --------------------------------------------------------------

for (const s of SHAPES) {
  for (const kind of KINDS) {
    test(`inputProjection ${nameOf(s)} ${kind}`, (t) => {
      const p = makeProblem(s, 11),
        rng = new Random(1);
      const args = {
        shape: s,
        ...viewInputs(rng, p, kind),
        U: inView(rng, p.U),
        b: inView(rng, p.b),
        out: outView(rng, p.A.length),
      };
      native.inputProjection(args);
      assertClose(t, args.out, ref.inputProjection(s, refInputs(p, kind), p.U, p.b), 'XU');
      checkPadding(t, args);
    });

    test(`forward with and without A/S buffers ${nameOf(s)} ${kind}`, (t) => {
      const p = makeProblem(s, 12),
        rng = new Random(2);
      const weights = {
        U: inView(rng, p.U),
        W: inView(rng, p.W),
        b: inView(rng, p.b),
        V: inView(rng, p.V),
        c: inView(rng, p.c),
      };
      const expected = ref.forward(s, refInputs(p, kind), p.U, p.W, p.b, p.V, p.c);
      const full = {
        shape: s,
        ...viewInputs(rng, p, kind),
        ...weights,
        A: outView(rng, p.A.length),
        S: outView(rng, p.A.length),
        O: outView(rng, p.O.length),
      };
      native.forward(full);
      assertClose(t, full.A, expected.A, 'A');
      assertClose(t, full.S, expected.S, 'S');
      assertClose(t, full.O, expected.O, 'O (with A/S)');
      checkPadding(t, full);
      const outputsOnly = { shape: s, ...viewInputs(rng, p, kind), ...weights, O: outView(rng, p.O.length) };
      native.forward(outputsOnly);
      assertClose(t, outputsOnly.O, expected.O, 'O (without A/S)');
      checkPadding(t, outputsOnly);
    });
  }

  test(`recurrentAffine ${nameOf(s)}`, (t) => {
    const p = makeProblem(s, 13),
      rng = new Random(3);
    const args = {
      shape: s,
      XU: inView(rng, p.XU),
      S: inView(rng, p.S),
      W: inView(rng, p.W),
      out: outView(rng, p.A.length),
    };
    native.recurrentAffine(args);
    assertClose(t, args.out, ref.recurrentAffine(s, p.XU, p.S, p.W), 'P');
    checkPadding(t, args);
  });

  test(`readout ${nameOf(s)}`, (t) => {
    const p = makeProblem(s, 14),
      rng = new Random(4);
    const args = {
      shape: s,
      S: inView(rng, p.S),
      V: inView(rng, p.V),
      c: inView(rng, p.c),
      out: outView(rng, p.O.length),
    };
    native.readout(args);
    assertClose(t, args.out, ref.readout(s, p.S, p.V, p.c), 'O');
    checkPadding(t, args);
  });
}

// The input projection and the recurrent affine map run over blocks of 1,024 rows (side by side
// on the BLAS threads): a block boundary inside a sequence must still take s_{t−1} from the
// previous block.
{
  const s: NativeShape = { N: 1500, T: 7, d: 3, h: 4, K: 2, everyStep: false };
  for (const kind of KINDS)
    test(`inputProjection over several row blocks ${nameOf(s)} ${kind}`, (t) => {
      const p = makeProblem(s, 15),
        rng = new Random(11);
      const args = {
        shape: s,
        ...viewInputs(rng, p, kind),
        U: inView(rng, p.U),
        b: inView(rng, p.b),
        out: outView(rng, p.A.length),
      };
      native.inputProjection(args);
      assertClose(t, args.out, ref.inputProjection(s, refInputs(p, kind), p.U, p.b), 'XU');
      checkPadding(t, args);
    });
  test(`recurrentAffine over several row blocks ${nameOf(s)}`, (t) => {
    const p = makeProblem(s, 16),
      rng = new Random(12);
    const args = {
      shape: s,
      XU: inView(rng, p.XU),
      S: inView(rng, p.S),
      W: inView(rng, p.W),
      out: outView(rng, p.A.length),
    };
    native.recurrentAffine(args);
    assertClose(t, args.out, ref.recurrentAffine(s, p.XU, p.S, p.W), 'P');
    checkPadding(t, args);
  });
}

// native/forward.cpp runs over chunks of kForwardChunk = 4096 samples (1,024 per thread with
// several BLAS threads): a chunk boundary that dropped or misplaced a sample's offset would show
// up in the samples past it.
for (const everyStep of [false, true]) {
  const s: NativeShape = { N: 4096 + 37, T: 3, d: 2, h: 3, K: 2, everyStep };
  for (const kind of KINDS) {
    test(`forward over several sample chunks ${nameOf(s)} ${kind}`, (t) => {
      const p = makeProblem(s, 14),
        rng = new Random(4);
      const expected = ref.forward(s, refInputs(p, kind), p.U, p.W, p.b, p.V, p.c);
      const args = {
        shape: s,
        ...viewInputs(rng, p, kind),
        U: p.U,
        W: p.W,
        b: p.b,
        V: p.V,
        c: p.c,
        A: outView(rng, p.A.length),
        S: outView(rng, p.A.length),
        O: outView(rng, p.O.length),
      };
      native.forward(args);
      assertClose(t, args.A, expected.A, 'A');
      assertClose(t, args.S, expected.S, 'S');
      assertClose(t, args.O, expected.O, 'O');
      checkPadding(t, args);
    });
  }
}

// ---- weight blocks -----------------------------------------------------------------

/** Weight settings: β > 0 keeps the one-hot (ids) Gram, whose input columns sum to the bias column, definite. */
const WEIGHT_CASES = [
  { rho: 2, beta: 2, eta: 0 },
  { rho: 3, beta: 1.5, eta: 4 },
];

/**
 * Linearised weight step: Θ_new = Θ_0 − g/θ with g the float64 gradient and θ the returned
 * step, and the block objective decreases by at least ‖g‖²/(2θ) (the backtracking test).
 */
function checkLinearizedWeights(
  t: ExecutionContext,
  prob: ref.LeastSquares,
  theta0: Float64Array,
  thetaNew: Float64Array,
  w: ref.WeightParams,
  th: number,
  thIn: number
): void {
  t.true(Number.isFinite(th) && th >= thIn / 2, `theta ${th} (backtracking starts at θ_in/2 = ${thIn / 2})`);
  const g = ref.weightGradient(prob, theta0, w);
  assertClose(
    t,
    thetaNew,
    theta0.map((v, k) => v - g[k] / th),
    'Θ − g/θ'
  );
  const f0 = ref.weightObjective(prob, theta0, theta0, w),
    f1 = ref.weightObjective(prob, thetaNew, theta0, w);
  const gg = g.reduce((a, v) => a + v * v, 0);
  t.true(f1 < f0, `objective must decrease: ${f0} → ${f1}`);
  t.true(f1 <= f0 - gg / (2 * th) + 1e-5 * f0, `sufficient decrease: ${f0} → ${f1}, want ≤ ${f0 - gg / (2 * th)}`);
}

// The (U, W, b) Gram is accumulated over blocks of ~4,096 rows (whole samples): a block that
// lost its offset or a step's regressor s_{t−1} would show in the solve.
for (const kind of KINDS) {
  const s: NativeShape = { N: 1500, T: 7, d: 3, h: 4, K: 2, everyStep: false };
  // One-hot columns sum to the bias column: strong β and η keep the float solve well conditioned.
  const w = { rho: 1, beta: 50, eta: 50 };
  test(`solveUWb exact over several row blocks ${nameOf(s)} ${kind}`, (t) => {
    const p = makeProblem(s, 24),
      rng = new Random(8);
    const args = {
      shape: s,
      ...viewInputs(rng, p, kind),
      S: inView(rng, p.S),
      A: inView(rng, p.A),
      M1: inView(rng, p.M1),
      scratch: outView(rng, p.A.length),
      U: inView(rng, p.U),
      W: inView(rng, p.W),
      b: inView(rng, p.b),
      rho1: w.rho,
      beta: w.beta,
      eta: w.eta,
    };
    native.solveUWb(args);
    const prob = ref.uwbProblem(s, refInputs(p, kind), p.S, p.A, p.M1);
    assertClose(
      t,
      ref.packUWb(s, args.U, args.W, args.b),
      ref.weightSolve(prob, ref.packUWb(s, p.U, p.W, p.b), w),
      '[U W b]'
    );
    checkPadding(t, args);
  });
}

for (const s of SHAPES) {
  for (const kind of KINDS) {
    for (const w of WEIGHT_CASES) {
      test(`solveUWb exact β=${w.beta} η=${w.eta} ${nameOf(s)} ${kind}`, (t) => {
        const p = makeProblem(s, 21),
          rng = new Random(5);
        const args = {
          shape: s,
          ...viewInputs(rng, p, kind),
          S: inView(rng, p.S),
          A: inView(rng, p.A),
          M1: inView(rng, p.M1),
          scratch: outView(rng, p.A.length),
          U: inView(rng, p.U),
          W: inView(rng, p.W),
          b: inView(rng, p.b),
          rho1: w.rho,
          beta: w.beta,
          eta: w.eta,
        };
        const returned = native.solveUWb(args);
        const prob = ref.uwbProblem(s, refInputs(p, kind), p.S, p.A, p.M1);
        const expected = ref.weightSolve(prob, ref.packUWb(s, p.U, p.W, p.b), w);
        assertClose(t, ref.packUWb(s, args.U, args.W, args.b), expected, '[U W b]');
        t.is(returned, 1, 'exact solve returns the θ passed in (default 1)');
        checkPadding(t, args);
      });
    }

    test(`solveUWb linearized ${nameOf(s)} ${kind}`, (t) => {
      const p = makeProblem(s, 22),
        rng = new Random(6),
        w = { rho: 2, beta: 0.5, eta: 1 },
        thIn = 3;
      const args = {
        shape: s,
        ...viewInputs(rng, p, kind),
        S: inView(rng, p.S),
        A: inView(rng, p.A),
        M1: inView(rng, p.M1),
        scratch: outView(rng, p.A.length),
        U: inView(rng, p.U),
        W: inView(rng, p.W),
        b: inView(rng, p.b),
        rho1: w.rho,
        beta: w.beta,
        eta: w.eta,
        linearized: true,
        theta: thIn,
      };
      const th = native.solveUWb(args);
      const prob = ref.uwbProblem(s, refInputs(p, kind), p.S, p.A, p.M1);
      checkLinearizedWeights(
        t,
        prob,
        ref.packUWb(s, p.U, p.W, p.b),
        ref.packUWb(s, args.U, args.W, args.b),
        w,
        th,
        thIn
      );
      checkPadding(t, args);
    });
  }

  for (const w of WEIGHT_CASES) {
    test(`solveVc exact β=${w.beta} η=${w.eta} ${nameOf(s)}`, (t) => {
      const p = makeProblem(s, 23),
        rng = new Random(7);
      const args = {
        shape: s,
        S: inView(rng, p.S),
        O: inView(rng, p.O),
        M3: inView(rng, p.M3),
        V: inView(rng, p.V),
        c: inView(rng, p.c),
        rho3: w.rho,
        beta: w.beta,
        eta: w.eta,
      };
      const returned = native.solveVc(args);
      const expected = ref.weightSolve(ref.vcProblem(s, p.S, p.O, p.M3), ref.packVc(s, p.V, p.c), w);
      assertClose(t, ref.packVc(s, args.V, args.c), expected, '[V c]');
      t.is(returned, 1);
      checkPadding(t, args);
    });
  }

  test(`solveVc linearized ${nameOf(s)}`, (t) => {
    const p = makeProblem(s, 24),
      rng = new Random(8),
      w = { rho: 1.5, beta: 0.7, eta: 0.5 },
      thIn = 0.25;
    const args = {
      shape: s,
      S: inView(rng, p.S),
      O: inView(rng, p.O),
      M3: inView(rng, p.M3),
      V: inView(rng, p.V),
      c: inView(rng, p.c),
      rho3: w.rho,
      beta: w.beta,
      eta: w.eta,
      linearized: true,
      theta: thIn,
    };
    const th = native.solveVc(args);
    checkLinearizedWeights(
      t,
      ref.vcProblem(s, p.S, p.O, p.M3),
      ref.packVc(s, p.V, p.c),
      ref.packVc(s, args.V, args.c),
      w,
      th,
      thIn
    );
    checkPadding(t, args);
  });
}

// ---- a-step ------------------------------------------------------------------------

/** Element-wise problem data for the a-step: p = P − μ1, q = s + μ2 (formed in double, as the kernel does). */
function aProblem(seed: number, n: number) {
  const rng = new Random(seed);
  const P = normal(rng, n, 2),
    M1 = normal(rng, n, 0.3),
    S = normal(rng, n, 0.8),
    M2 = normal(rng, n, 0.4);
  const A0 = normal(rng, n, 1.5);
  const p = Float64Array.from(P, (v, k) => v - M1[k]),
    q = Float64Array.from(S, (v, k) => v + M2[k]);
  return { rng, P, M1, S, M2, A0, p, q };
}

/** aStep's arrays of problem `d` on views `rng` places (a start A0 it overwrites, an output TA). */
function aStepArrays(d: ReturnType<typeof aProblem>, rng: Random, n: number) {
  return {
    n,
    P: inView(rng, d.P),
    M1: inView(rng, d.M1),
    S: inView(rng, d.S),
    M2: inView(rng, d.M2),
    A: inView(rng, d.A0),
    TA: outView(rng, n),
  };
}

const A_CASES = [
  { name: 'convex (ρ1 ≫ ρ2)', rho1: 20, rho2: 2 },
  { name: 'mixed (ρ1 = ρ2, convexity test fails for |q| ≳ 0.9)', rho1: 10, rho2: 10 },
  { name: 'non-convex (ρ1 < ρ2/3)', rho1: 1, rho2: 6 },
  { name: 'strongly non-convex (ρ1 ≪ ρ2)', rho1: 0.5, rho2: 20 },
];

for (const c of A_CASES) {
  for (const finish of ['reference', 'shortcuts'] as const)
    test(`aStep exact ${c.name}, finish '${finish}'`, (t) => {
      const n = 301,
        d = aProblem(31, n),
        rng = d.rng;
      const args = {
        ...aStepArrays(d, rng, n),
        rho1: c.rho1,
        rho2: c.rho2,
        finish,
      };
      const r = native.aStep(args);
      let worse = 0,
        missed = 0,
        firstMiss = '';
      for (let k = 0; k < n; k++) {
        const fOld = ref.phi(d.A0[k], d.p[k], d.q[k], c.rho1, c.rho2);
        const fNew = ref.phi(args.A[k], d.p[k], d.q[k], c.rho1, c.rho2);
        const best = ref.phiGlobalMin(d.p[k], d.q[k], c.rho1, c.rho2);
        if (!(fNew <= fOld + 1e-7 * (1 + fOld))) worse++;
        // float32 a moves φ by ~|φ'|·6e-8·|a| ≈ 0 at the minimum: 1e-4 relative is generous yet catches a wrong basin.
        if (!(fNew - best.f <= 1e-4 * (Math.abs(best.f) + 1e-3))) {
          if (!missed)
            firstMiss = `[${k}] p=${d.p[k]} q=${d.q[k]} a_old=${d.A0[k]}: a=${args.A[k]} φ=${fNew}, global min a*=${best.a} φ*=${best.f}`;
          missed++;
        }
      }
      t.is(worse, 0, 'elements whose φ increased');
      t.is(missed, 0, `elements not at the global minimum (first: ${firstMiss})`);
      assertClose(t, args.TA, Array.from(args.A, Math.tanh), 'TA = tanh(A)', 1e-6);
      t.true(Math.abs(r.change - sumSq(args.A, d.A0)) <= 1e-6 * (1 + r.change), `change ${r.change} = Σ(Δa)²`);
      checkPadding(t, args);
    });

  test(`aStep linearized ${c.name}`, (t) => {
    const n = 301,
      d = aProblem(32, n),
      rng = d.rng,
      thIn = 2;
    const args = {
      ...aStepArrays(d, rng, n),
      rho1: c.rho1,
      rho2: c.rho2,
      linearized: true,
      theta: thIn,
    };
    const r = native.aStep(args);
    t.true(Number.isFinite(r.theta) && r.theta >= thIn / 2, `theta ${r.theta}`);
    const g = Float64Array.from(d.A0, (a, k) => ref.phiGrad(a, d.p[k], d.q[k], c.rho1, c.rho2));
    assertClose(
      t,
      args.A,
      Float64Array.from(d.A0, (a, k) => a - g[k] / r.theta),
      "A − φ'/θ"
    );
    let f0 = 0,
      f1 = 0;
    for (let k = 0; k < n; k++) {
      f0 += ref.phi(d.A0[k], d.p[k], d.q[k], c.rho1, c.rho2);
      f1 += ref.phi(args.A[k], d.p[k], d.q[k], c.rho1, c.rho2);
    }
    t.true(f1 < f0, `Σφ must decrease: ${f0} → ${f1}`);
    assertClose(t, args.TA, Array.from(args.A, Math.tanh), 'TA = tanh(A)', 1e-6);
    t.true(Math.abs(r.change - sumSq(args.A, d.A0)) <= 1e-6 * (1 + r.change), `change ${r.change} = Σ(Δa)²`);
    checkPadding(t, args);
  });
}

// The local dual walk's regime: |q| = |s + μ2| far above 1, where Newton from the warm start can cycle
// between the two sides of the tanh step (element 0 did, and once stopped at a point that is not stationary).
for (const finish of ['reference', 'shortcuts'] as const)
  test(`aStep exact with large |q| (the dual walk's), finish '${finish}'`, (t) => {
    const n = 301,
      rho = 1.1025,
      rng = new Random(33);
    const P = normal(rng, n, 4),
      S = normal(rng, n, 10),
      A = Float32Array.from(normal(rng, n, 2), (v, k) => P[k] + v);
    [P[0], S[0], A[0]] = [-0.03391485661268234, -24.278282165527344, 0];
    const A0 = A.slice(),
      zeros = new Float32Array(n);
    const args = { n, P, M1: zeros, S, M2: zeros, A, TA: new Float32Array(n), rho1: rho, rho2: rho, finish };
    native.aStep(args);
    const missed: string[] = [];
    for (let k = 0; k < n; k++) {
      const f = ref.phi(A[k], P[k], S[k], rho, rho),
        best = ref.phiGlobalMin(P[k], S[k], rho, rho);
      if (!(f - best.f <= 1e-4 * (Math.abs(best.f) + 1e-3)))
        missed.push(`[${k}] p=${P[k]} q=${S[k]} a_old=${A0[k]}: a=${A[k]} φ=${f}, a*=${best.a} φ*=${best.f}`);
    }
    t.deepEqual(missed, [], 'elements not at the global minimum');
  });

test('aStep exact keeps an element already at its global minimum', (t) => {
  // Warm start at the float64 global minimum of a non-convex element: nothing may get worse.
  const rho1 = 1,
    rho2 = 6,
    p = 0.4,
    q = -1.3;
  const best = ref.phiGlobalMin(p, q, rho1, rho2);
  const one = (v: number) => Float32Array.of(v);
  const args = { n: 1, P: one(p), M1: one(0), S: one(q), M2: one(0), A: one(best.a), TA: one(0), rho1, rho2 };
  native.aStep(args);
  t.true(ref.phi(args.A[0], p, q, rho1, rho2) - best.f <= 1e-6 * (1 + best.f));
});

test('convexityThreshold (a test hook) matches c(|q|) = max_t −(1−t²)(1−3t²+2t|q|)', (t) => {
  for (const q of [0, 0.5, -1.2, 3]) {
    let c = -Infinity;
    for (let k = 0; k <= 200000; k++) {
      const tt = -1 + (2 * k) / 200000;
      c = Math.max(c, -(1 - tt * tt) * (1 - 3 * tt * tt + 2 * tt * Math.abs(q)));
    }
    const got = nativeHooks.convexityThreshold({ q });
    t.true(Math.abs(got - c) <= 1e-6, `q=${q}: ${got} vs ${c}`);
  }
  t.true(Math.abs(nativeHooks.convexityThreshold({ q: 0 }) - 1 / 3) < 1e-9, 'c(0) = 1/3');
});

// ---- s-step ------------------------------------------------------------------------

const S_RHO = { rho1: 2, rho2: 3, rho3: 1.5 };

function sArgs(rng: Random, p: Problem, extra: { linearized?: boolean; theta?: number } = {}) {
  return {
    shape: p.s,
    A: inView(rng, p.A),
    TA: inView(rng, p.TA),
    M1: inView(rng, p.M1),
    M2: inView(rng, p.M2),
    XU: inView(rng, p.XU),
    O: inView(rng, p.O),
    M3: inView(rng, p.M3),
    W: inView(rng, p.W),
    V: inView(rng, p.V),
    c: inView(rng, p.c),
    S: inView(rng, p.S),
    out: outView(rng, p.A.length),
    ...S_RHO,
    ...extra,
  };
}
const sData = (p: Problem): ref.SStepData => ({ ...p, ...S_RHO });

for (const s of SHAPES) {
  test(`sStep exact ${nameOf(s)}`, (t) => {
    const p = makeProblem(s, 41),
      rng = new Random(9);
    const args = sArgs(rng, p);
    const r = native.sStep(args);
    const expected = ref.sSolve(s, sData(p));
    assertClose(t, args.out, expected, 'S');
    t.true(ref.sObjective(s, args.out, sData(p)) <= ref.sObjective(s, p.S, sData(p)), 'objective must not increase');
    t.true(Math.abs(r.change - sumSq(args.out, p.S)) <= 1e-5 * (1 + r.change), `change ${r.change} = Σ(Δs)²`);
    checkPadding(t, args);
  });

  test(`sStep linearized ${nameOf(s)}`, (t) => {
    const p = makeProblem(s, 42),
      rng = new Random(10),
      thIn = 1;
    const args = sArgs(rng, p, { linearized: true, theta: thIn });
    const r = native.sStep(args);
    t.true(Number.isFinite(r.theta) && r.theta >= thIn / 2, `theta ${r.theta}`);
    const g = ref.sGradient(s, p.S, sData(p));
    assertClose(
      t,
      args.out,
      Float64Array.from(p.S, (v, k) => v - g[k] / r.theta),
      'S − g/θ'
    );
    const f0 = ref.sObjective(s, p.S, sData(p)),
      f1 = ref.sObjective(s, args.out, sData(p));
    t.true(f1 < f0, `objective must decrease: ${f0} → ${f1}`);
    checkPadding(t, args);
  });
}

// The exact s-step solves blocks of ~4,096 rows (whole samples): a block boundary that
// misplaced a last step or a successor term would show in the rows past it.
for (const everyStep of [false, true]) {
  const s: NativeShape = { N: 1500, T: 7, d: 2, h: 3, K: 2, everyStep };
  test(`sStep exact over several row blocks ${nameOf(s)}`, (t) => {
    const p = makeProblem(s, 43),
      rng = new Random(10);
    const args = sArgs(rng, p);
    const r = native.sStep(args);
    assertClose(t, args.out, ref.sSolve(s, sData(p)), 'S');
    t.true(Math.abs(r.change - sumSq(args.out, p.S)) <= 1e-5 * (1 + r.change), `change ${r.change} = Σ(Δs)²`);
    checkPadding(t, args);
  });
}

// ---- o-step ------------------------------------------------------------------------

for (const s of SHAPES) {
  test(`oStep squared error ${nameOf(s)}`, (t) => {
    const p = makeProblem(s, 51),
      rng = new Random(11),
      rho3 = 0.8;
    const args = {
      shape: s,
      S: inView(rng, p.S),
      V: inView(rng, p.V),
      c: inView(rng, p.c),
      M3: inView(rng, p.M3),
      O: inView(rng, p.O),
      rho3,
      loss: 'squared-error' as const,
      values: inView(rng, p.values),
    };
    const change = native.oStep(args);
    const expected = ref.oSquaredError(ref.oTarget(s, p.S, p.V, p.c, p.M3), p.values, rho3);
    assertClose(t, args.O, expected, 'O');
    t.true(Math.abs(change - sumSq(args.O, p.O)) <= 1e-5 * (1 + change), `change ${change} = Σ(Δo)²`);
    checkPadding(t, args);
  });

  // ρ3 = 0.05 with a far warm start is the hard case: a full Newton step can increase the objective.
  for (const { rho3, start } of [
    { rho3: 0.7, start: 1 },
    { rho3: 0.05, start: 15 },
  ]) {
    test(`oStep softmax cross-entropy ρ3=${rho3} ${nameOf(s)}`, (t) => {
      const p = makeProblem(s, 52),
        rng = new Random(12);
      const O0 = p.O.map((v) => v * start);
      const args = {
        shape: s,
        S: inView(rng, p.S),
        V: inView(rng, p.V),
        c: inView(rng, p.c),
        M3: inView(rng, p.M3),
        O: inView(rng, O0),
        rho3,
        loss: 'softmax-cross-entropy' as const,
        labels: idsView(rng, p.labels, s.K),
      };
      const change = native.oStep(args);
      const m = ref.oTarget(s, p.S, p.V, p.c, p.M3);
      let worst = 0,
        at = 0;
      for (let r = 0; r < p.labels.length; r++) {
        const o = args.O.subarray(r * s.K, (r + 1) * s.K),
          mr = m.subarray(r * s.K, (r + 1) * s.K);
        const g = ref.crossEntropyProxGradient(o, mr, p.labels[r], rho3);
        const scale = 1 + rho3 * Math.max(...Array.from(o, Math.abs));
        for (let k = 0; k < s.K; k++)
          if (!(Math.abs(g[k]) / scale <= worst)) [worst, at] = [Math.abs(g[k]) / scale || Infinity, r];
      }
      t.true(worst <= RTOL, `optimality p − e_y + ρ(o − m) ≈ 0: worst ${worst.toExponential(2)} in row ${at}`);
      t.true(Math.abs(change - sumSq(args.O, O0)) <= 1e-5 * (1 + change), `change ${change} = Σ(Δo)²`);
      checkPadding(t, args);
    });
  }
}

// ---- sgemm -------------------------------------------------------------------------

for (const [m, n, k] of [
  [5, 7, 3],
  [13, 4, 9],
  [1, 6, 1],
]) {
  test(`sgemm ${m}×${k} times ${k}×${n}`, (t) => {
    const rng = new Random(m * 100 + n * 10 + k);
    const A = normal(rng, m * k),
      B = normal(rng, k * n);
    const args = { m, n, k, A: inView(rng, A), B: inView(rng, B), C: outView(rng, m * n) };
    native.sgemm(args);
    assertClose(t, args.C, ref.matmul(m, n, k, A, B), 'C');
    checkPadding(t, args);
  });
}

// ---- async twins -------------------------------------------------------------------

/**
 * Fresh argument objects for each kernel, identical for a given seed, so the sync form and
 * the *Async twin run on equal copies (several kernels update their buffers in place).
 */
const TWIN_ARGS: Record<string, (seed: number) => Record<string, unknown>> = {
  inputProjection: (seed) => {
    const p = makeProblem(SHAPES[1], 61),
      rng = new Random(seed);
    return {
      shape: p.s,
      ...viewInputs(rng, p, 'x'),
      U: inView(rng, p.U),
      b: inView(rng, p.b),
      out: outView(rng, p.A.length),
    };
  },
  recurrentAffine: (seed) => {
    const p = makeProblem(SHAPES[0], 62),
      rng = new Random(seed);
    return {
      shape: p.s,
      XU: inView(rng, p.XU),
      S: inView(rng, p.S),
      W: inView(rng, p.W),
      out: outView(rng, p.A.length),
    };
  },
  readout: (seed) => {
    const p = makeProblem(SHAPES[1], 63),
      rng = new Random(seed);
    return { shape: p.s, S: inView(rng, p.S), V: inView(rng, p.V), c: inView(rng, p.c), out: outView(rng, p.O.length) };
  },
  forward: (seed) => {
    const p = makeProblem(SHAPES[0], 64),
      rng = new Random(seed);
    return {
      shape: p.s,
      ...viewInputs(rng, p, 'ids'),
      U: inView(rng, p.U),
      W: inView(rng, p.W),
      b: inView(rng, p.b),
      V: inView(rng, p.V),
      c: inView(rng, p.c),
      A: outView(rng, p.A.length),
      S: outView(rng, p.A.length),
      O: outView(rng, p.O.length),
    };
  },
  solveUWb: (seed) => {
    const p = makeProblem(SHAPES[1], 65),
      rng = new Random(seed);
    return {
      shape: p.s,
      ...viewInputs(rng, p, 'x'),
      S: inView(rng, p.S),
      A: inView(rng, p.A),
      M1: inView(rng, p.M1),
      scratch: outView(rng, p.A.length),
      U: inView(rng, p.U),
      W: inView(rng, p.W),
      b: inView(rng, p.b),
      rho1: 2,
      beta: 1,
    };
  },
  solveVc: (seed) => {
    const p = makeProblem(SHAPES[0], 66),
      rng = new Random(seed);
    return {
      shape: p.s,
      S: inView(rng, p.S),
      O: inView(rng, p.O),
      M3: inView(rng, p.M3),
      V: inView(rng, p.V),
      c: inView(rng, p.c),
      rho3: 2,
      beta: 1,
      linearized: true,
    };
  },
  aStep: (seed) => {
    const d = aProblem(67, 99),
      rng = new Random(seed);
    return {
      ...aStepArrays(d, rng, 99),
      rho1: 1,
      rho2: 6,
    };
  },
  sStep: (seed) => sArgs(new Random(seed), makeProblem(SHAPES[1], 68)),
  oStep: (seed) => {
    const p = makeProblem(SHAPES[1], 69),
      rng = new Random(seed);
    return {
      shape: p.s,
      S: inView(rng, p.S),
      V: inView(rng, p.V),
      c: inView(rng, p.c),
      M3: inView(rng, p.M3),
      O: inView(rng, p.O),
      rho3: 0.3,
      loss: 'softmax-cross-entropy',
      labels: idsView(rng, p.labels, p.s.K),
    };
  },
  sgemm: (seed) => {
    const rng = new Random(seed);
    return { m: 6, n: 5, k: 7, A: inView(rng, normal(rng, 42)), B: inView(rng, normal(rng, 35)), C: outView(rng, 30) };
  },
};

type AnyKernel = (args: Record<string, unknown>) => unknown;
const kernel = (name: string): AnyKernel => (native as unknown as Record<string, AnyKernel>)[name];

/** Byte-equal buffers, padding included. */
const sameBytes = (a: Float32Array, b: Float32Array): boolean => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));

for (const [name, makeArgs] of Object.entries(TWIN_ARGS)) {
  test(`${name}Async gives the same result as ${name}`, async (t) => {
    const syncArgs = makeArgs(7),
      asyncArgs = makeArgs(7);
    const syncResult = kernel(name)(syncArgs);
    const promise = kernel(`${name}Async`)(asyncArgs);
    t.true(promise instanceof Promise, 'returns a Promise');
    t.deepEqual(await promise, syncResult);
    for (const [field, v] of Object.entries(syncArgs))
      if (v instanceof Float32Array)
        t.true(sameBytes(v, asyncArgs[field] as Float32Array), `${field} differs between sync and async`);
  });
}

// ---- argument validation -----------------------------------------------------------

const VS = SHAPES[0];
function validProjectionArgs(): Record<string, unknown> {
  const p = makeProblem(VS, 71);
  return { shape: { ...VS }, x: p.x, U: p.U, b: p.b, out: new Float32Array(p.A.length) };
}

/** Each case: a mutation of valid inputProjection args, and the error it must raise. */
const BAD_PROJECTION: {
  name: string;
  mutate: (a: Record<string, unknown>) => void;
  type: typeof RangeError | typeof TypeError;
  field: RegExp;
}[] = [
  {
    name: 'U of the wrong length',
    mutate: (a) => (a.U = new Float32Array(VS.h * VS.d - 1)),
    type: RangeError,
    field: /\bU must be of length 18, got 17/,
  },
  {
    name: 'U as a view of the wrong length',
    mutate: (a) => (a.U = new Float32Array(40).subarray(3, 3 + VS.h * VS.d + 1)),
    type: RangeError,
    field: /\bU must be of length/,
  },
  {
    name: 'Int32Array for U',
    mutate: (a) => (a.U = new Int32Array(VS.h * VS.d)),
    type: TypeError,
    field: /\bU must be a Float32Array/,
  },
  {
    name: 'Float64Array for out',
    mutate: (a) => (a.out = new Float64Array(VS.N * VS.T * VS.h)),
    type: TypeError,
    field: /\bout must be a Float32Array/,
  },
  {
    name: 'plain array for b',
    mutate: (a) => (a.b = Array.from({ length: VS.h }, () => 0)),
    type: TypeError,
    field: /\bb must be a Float32Array/,
  },
  { name: 'missing b', mutate: (a) => delete a.b, type: TypeError, field: /\bb must be a Float32Array/ },
  {
    name: 'non-integer shape.N',
    mutate: (a) => ((a.shape as NativeShape).N = 6.5),
    type: RangeError,
    field: /shape\.N must be an integer/,
  },
  {
    name: 'string shape.N',
    mutate: (a) => ((a.shape as Record<string, unknown>).N = '7'),
    type: TypeError,
    field: /shape\.N must be an integer/,
  },
  {
    name: 'zero shape.h',
    mutate: (a) => ((a.shape as NativeShape).h = 0),
    type: RangeError,
    field: /shape\.h must be an integer/,
  },
  {
    name: 'non-boolean shape.everyStep',
    mutate: (a) => ((a.shape as Record<string, unknown>).everyStep = 1),
    type: TypeError,
    field: /shape\.everyStep must be a boolean/,
  },
  {
    name: 'both x and ids',
    mutate: (a) => (a.ids = new Int32Array(VS.N * VS.T)),
    type: TypeError,
    field: /x \/ ids must be exactly one/,
  },
  { name: 'neither x nor ids', mutate: (a) => delete a.x, type: TypeError, field: /x \/ ids must be exactly one/ },
  {
    name: 'x of the wrong length',
    mutate: (a) => (a.x = new Float32Array(VS.N * VS.T * VS.d + 1)),
    type: RangeError,
    field: /\bx must be of length/,
  },
  {
    name: 'token id = d',
    mutate: (a) => {
      delete a.x;
      a.ids = new Int32Array(VS.N * VS.T).fill(1);
      (a.ids as Int32Array)[9] = VS.d;
    },
    type: RangeError,
    field: /ids must be token ids in \[0, 3\), got 3 at index 9/,
  },
  {
    name: 'negative token id',
    mutate: (a) => {
      delete a.x;
      a.ids = new Int32Array(VS.N * VS.T).fill(-1);
    },
    type: RangeError,
    field: /ids must be token ids/,
  },
  {
    name: 'Float32Array for ids',
    mutate: (a) => {
      delete a.x;
      a.ids = new Float32Array(VS.N * VS.T);
    },
    type: TypeError,
    field: /ids must be a Int32Array/,
  },
];

for (const c of BAD_PROJECTION) {
  test(`inputProjection rejects ${c.name} (${c.type.name})`, (t) => {
    const args = validProjectionArgs();
    c.mutate(args);
    t.throws(() => kernel('inputProjection')(args), { instanceOf: c.type, message: c.field });
  });

  test(`inputProjectionAsync rejects (does not throw) on ${c.name}`, async (t) => {
    const args = validProjectionArgs();
    c.mutate(args);
    let promise: unknown;
    t.notThrows(() => (promise = kernel('inputProjectionAsync')(args)));
    t.true(promise instanceof Promise);
    await t.throwsAsync(promise as Promise<unknown>, { instanceOf: c.type, message: c.field });
  });
}

test('the valid inputProjection arguments used above are accepted', (t) => {
  t.notThrows(() => kernel('inputProjection')(validProjectionArgs()));
});

/** Errors of the other kernels' own fields. */
const BAD_OTHER: {
  name: string;
  fn: string;
  args: () => Record<string, unknown>;
  type: typeof RangeError | typeof TypeError;
  field: RegExp;
}[] = [
  {
    name: 'label = K',
    fn: 'oStep',
    type: RangeError,
    field: /labels must be class ids in \[0, 4\), got 4/,
    args: () => {
      const p = makeProblem(VS, 72);
      const labels = new Int32Array(VS.N);
      labels[3] = VS.K;
      return { shape: VS, S: p.S, V: p.V, c: p.c, M3: p.M3, O: p.O, rho3: 1, loss: 'softmax-cross-entropy', labels };
    },
  },
  {
    name: 'labels of the wrong length',
    fn: 'oStep',
    type: RangeError,
    field: /labels must be of length 7/,
    args: () => {
      const p = makeProblem(VS, 72);
      return {
        shape: VS,
        S: p.S,
        V: p.V,
        c: p.c,
        M3: p.M3,
        O: p.O,
        rho3: 1,
        loss: 'softmax-cross-entropy',
        labels: new Int32Array(VS.N * VS.T),
      };
    },
  },
  {
    name: 'unknown loss',
    fn: 'oStep',
    type: RangeError,
    field: /loss must be one of/,
    args: () => {
      const p = makeProblem(VS, 72);
      return { shape: VS, S: p.S, V: p.V, c: p.c, M3: p.M3, O: p.O, rho3: 1, loss: 'hinge', labels: p.labels };
    },
  },
  {
    name: 'rho1 = 0',
    fn: 'aStep',
    type: RangeError,
    field: /rho1 must be a finite number/,
    args: () => ({
      n: 3,
      P: new Float32Array(3),
      M1: new Float32Array(3),
      S: new Float32Array(3),
      M2: new Float32Array(3),
      A: new Float32Array(3),
      TA: new Float32Array(3),
      rho1: 0,
      rho2: 1,
    }),
  },
  {
    name: 'NaN rho2',
    fn: 'aStep',
    type: RangeError,
    field: /rho2 must be a finite number/,
    args: () => ({
      n: 3,
      P: new Float32Array(3),
      M1: new Float32Array(3),
      S: new Float32Array(3),
      M2: new Float32Array(3),
      A: new Float32Array(3),
      TA: new Float32Array(3),
      rho1: 1,
      rho2: NaN,
    }),
  },
  {
    name: 'TA aliasing A',
    fn: 'aStep',
    type: RangeError,
    field: /TA must be memory distinct from A/,
    args: () => {
      const A = new Float32Array(3);
      return {
        n: 3,
        P: new Float32Array(3),
        M1: new Float32Array(3),
        S: new Float32Array(3),
        M2: new Float32Array(3),
        A,
        TA: A,
        rho1: 1,
        rho2: 1,
      };
    },
  },
  {
    name: 'non-boolean linearized',
    fn: 'aStep',
    type: TypeError,
    field: /linearized must be a boolean/,
    args: () => ({
      n: 3,
      P: new Float32Array(3),
      M1: new Float32Array(3),
      S: new Float32Array(3),
      M2: new Float32Array(3),
      A: new Float32Array(3),
      TA: new Float32Array(3),
      rho1: 1,
      rho2: 1,
      linearized: 'yes',
    }),
  },
  {
    name: 'out overlapping S',
    fn: 'sStep',
    type: RangeError,
    field: /out must be memory distinct from S/,
    args: () => {
      const a = sArgs(new Random(1), makeProblem(VS, 73));
      return { ...a, out: a.S };
    },
  },
  {
    name: 'W of the wrong length',
    fn: 'sStep',
    type: RangeError,
    field: /\bW must be of length 36/,
    args: () => ({ ...sArgs(new Random(1), makeProblem(VS, 73)), W: new Float32Array(35) }),
  },
  {
    name: 'A without S',
    fn: 'forward',
    type: TypeError,
    field: /\bS must be a Float32Array when A is given/,
    args: () => {
      const p = makeProblem(VS, 74);
      return {
        shape: VS,
        x: p.x,
        U: p.U,
        W: p.W,
        b: p.b,
        V: p.V,
        c: p.c,
        A: new Float32Array(p.A.length),
        O: new Float32Array(p.O.length),
      };
    },
  },
  {
    name: 'O of the every-step length for a last-step shape',
    fn: 'solveVc',
    type: RangeError,
    field: /\bO must be of length 28/,
    args: () => {
      const p = makeProblem(VS, 75);
      return { shape: VS, S: p.S, O: new Float32Array(VS.N * VS.T * VS.K), M3: p.M3, V: p.V, c: p.c, rho3: 1 };
    },
  },
  {
    name: 'negative beta',
    fn: 'solveUWb',
    type: RangeError,
    field: /beta must be a finite number/,
    args: () => {
      const p = makeProblem(VS, 76);
      return {
        shape: VS,
        x: p.x,
        S: p.S,
        A: p.A,
        M1: p.M1,
        scratch: new Float32Array(p.A.length),
        U: p.U,
        W: p.W,
        b: p.b,
        rho1: 1,
        beta: -1,
      };
    },
  },
  {
    name: 'non-integer k',
    fn: 'sgemm',
    type: RangeError,
    field: /\bk must be an integer/,
    args: () => ({ m: 2, n: 2, k: 1.5, A: new Float32Array(3), B: new Float32Array(3), C: new Float32Array(4) }),
  },
  {
    name: 'Int32Array for C',
    fn: 'sgemm',
    type: TypeError,
    field: /\bC must be a Float32Array/,
    args: () => ({ m: 2, n: 2, k: 1, A: new Float32Array(2), B: new Float32Array(2), C: new Int32Array(4) }),
  },
  {
    name: 'options that are not an object',
    fn: 'readout',
    type: TypeError,
    field: /options must be an object/,
    args: () => [] as unknown as Record<string, unknown>,
  },
];

for (const c of BAD_OTHER) {
  test(`${c.fn} rejects ${c.name} (${c.type.name})`, async (t) => {
    t.throws(() => kernel(c.fn)(c.args()), { instanceOf: c.type, message: c.field });
    let promise: unknown;
    t.notThrows(() => (promise = kernel(`${c.fn}Async`)(c.args())), 'the async twin must reject, not throw');
    await t.throwsAsync(promise as Promise<unknown>, { instanceOf: c.type, message: c.field });
  });
}
