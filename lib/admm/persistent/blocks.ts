/**
 * The six ADMMiRNN blocks in docs/ALGORITHM.md's order — (U,W,b), a, s, (V,c), o, then the duals
 * and ρ — one function each. The sample-separable blocks (2, 3, 5 and the ascent of 6) run on a
 * state view (views.ts): the whole state, or one chunk of a chunked state, so a chunked sweep
 * calls these very functions per chunk. The weight blocks (1, 4) sum their Grams over the views
 * in float64 in view order and solve once (the linearised steps: on the whole state). Heavy work
 * runs in the native async twins (off the main thread); each block leaves the augmented Lagrangian
 * no larger than before (exact variant: exact block minimisers and a monotone a-solver; linearised:
 * backtracked steps).
 */
import { native } from '../../native';
import { forSlices } from '../../yielding';
import { type ConstraintNorms, type StepLayout, ascend, sumNorms } from '../ascent/ascend';
import type { ResolvedTrainerOptions } from '../options';
import { type Triple, nextRho, rhoIsScheduled } from '../rho';
import type { GramSum } from './gram-sum';
import { type Residuals, residuals } from './residuals';
import type { AdmmState } from './state';
import { type StateView, views } from './views';

export interface BlockConfig {
  linearized: boolean;
}

/**
 * The weights the blocks read (and the weight blocks solve for, in place): an RNN, or a shard's
 * copy of the published weights (lib/parallel/shard.ts), which runs these same blocks.
 */
export interface BlockWeights {
  readonly U: Float32Array;
  readonly W: Float32Array;
  readonly b: Float32Array;
  readonly V: Float32Array;
  readonly c: Float32Array;
}

/** The three constraints' norms: a = Ux + Ws + b, s = tanh a, o = Vs + c. */
export type ConstraintTriple = [ConstraintNorms, ConstraintNorms, ConstraintNorms];

/** Brings XU = U x + b and P = XU + W s_{t-1} of the view up to date with the current weights and states. */
export async function refreshAffine(v: StateView, model: BlockWeights): Promise<void> {
  if (!v.xuFresh) {
    await native.inputProjectionAsync({ shape: v.shape, ...v.inputs, U: model.U, b: model.b, out: v.XU });
    v.xuFresh = true;
    v.pFresh = false;
  }
  if (!v.pFresh) {
    await native.recurrentAffineAsync({ shape: v.shape, XU: v.XU, S: v.S, W: model.W, out: v.P });
    v.pFresh = true;
  }
}

/** The state's Gram accumulators (a state made for the exact weight blocks has them). */
function weightGrams(st: AdmmState): NonNullable<AdmmState['grams']> {
  if (!st.grams) throw new Error('this state was made without the weight Grams (exact update)');
  return st.grams;
}

/**
 * Block 1: (U, W, b) by regularised least squares of a + μ1 on [x_t; s_{t-1}; 1]: the Gram and
 * right-hand side summed over the state's views, then one solve (native solveUWb is the same two
 * steps on the whole data). The linearised step backtracks θ on the whole data set's objective.
 */
export async function updateInputWeights(st: AdmmState, model: BlockWeights, cfg: BlockConfig): Promise<void> {
  const weights = { U: model.U, W: model.W, b: model.b, rho1: st.rho[0], beta: st.beta };
  if (cfg.linearized) {
    // P is stale after this block anyway, so it serves as the scratch for a + μ1.
    st.theta.uwb = await native.solveUWbAsync({
      shape: st.shape,
      ...st.inputs,
      S: st.S,
      A: st.A,
      M1: st.M1,
      scratch: st.P,
      ...weights,
      linearized: true,
      theta: st.theta.uwb,
    });
  } else {
    const uwb = await inputGram(st);
    st.theta.uwb = await native.solveUWbFromGramAsync({ shape: st.shape, ...uwb.rounded(), ...weights });
  }
  st.xuFresh = false;
  st.pFresh = false;
}

/**
 * Block 1's Gram and right-hand side over the state's views (a shard sends this sum to the
 * coordinator). Each view's Gram from zero, added in float64 in view order (gram-sum.ts): a
 * sharded run with one shard per chunk sums the same bits; one view (the whole state) round-trips
 * exactly. P serves as the scratch for a + μ1, so it is stale after.
 */
export async function inputGram(st: AdmmState): Promise<GramSum> {
  const uwb = weightGrams(st).uwb;
  uwb.reset();
  for (const v of views(st)) {
    const { shape, inputs, S, A, M1, P } = v;
    await native.accumulateUWbAsync({ shape, ...inputs, S, A, M1, scratch: P, ...uwb.part() });
    uwb.addPart();
  }
  st.pFresh = false;
  return uwb;
}

/** Block 2: the pre-activations a of the view, elementwise. Returns Σ(Δa)². */
export async function updatePreactivations(
  st: AdmmState,
  v: StateView,
  model: BlockWeights,
  cfg: BlockConfig
): Promise<number> {
  await refreshAffine(v, model);
  const r = await native.aStepAsync({
    n: v.A.length,
    P: v.P,
    M1: v.M1,
    S: v.S,
    M2: v.M2,
    A: v.A,
    TA: v.TA,
    rho1: st.rho[0],
    rho2: st.rho[1],
    linearized: cfg.linearized,
    theta: st.theta.a,
  });
  st.theta.a = r.theta;
  v.taFresh = true;
  return r.change;
}

/** Block 3: all states s_t of the view at once. Returns Σ(Δs)². */
export async function updateStates(
  st: AdmmState,
  v: StateView,
  model: BlockWeights,
  cfg: BlockConfig
): Promise<number> {
  await refreshAffine(v, model); // the s-block needs XU
  // The new states go to P (stale once s changes), which then becomes the view's states.
  const r = await native.sStepAsync({
    shape: v.shape,
    A: v.A,
    TA: v.TA,
    M1: v.M1,
    M2: v.M2,
    XU: v.XU,
    O: v.O,
    M3: v.M3,
    W: model.W,
    V: model.V,
    c: model.c,
    S: v.S,
    out: v.P,
    rho1: st.rho[0],
    rho2: st.rho[1],
    rho3: st.rho[2],
    linearized: cfg.linearized,
    theta: st.theta.s,
  });
  v.acceptStates();
  v.pFresh = false;
  st.theta.s = r.theta;
  return r.change;
}

/**
 * Block 4: (V, c) by regularised least squares of o + μ3 on [s_t; 1] over the loss steps: Gram
 * summed over the views, then one solve, as block 1 (the linearised step on the whole state).
 */
export async function updateOutputWeights(st: AdmmState, model: BlockWeights, cfg: BlockConfig): Promise<void> {
  const weights = { V: model.V, c: model.c, rho3: st.rho[2], beta: st.beta };
  if (cfg.linearized) {
    st.theta.vc = await native.solveVcAsync({
      shape: st.shape,
      S: st.S,
      O: st.O,
      M3: st.M3,
      ...weights,
      linearized: true,
      theta: st.theta.vc,
    });
    return;
  }
  const vc = await outputGram(st);
  st.theta.vc = await native.solveVcFromGramAsync({ shape: st.shape, ...vc.rounded(), ...weights });
}

/** Block 4's Gram and right-hand side over the state's views, summed as inputGram's. */
export async function outputGram(st: AdmmState): Promise<GramSum> {
  const vc = weightGrams(st).vc;
  vc.reset();
  for (const v of views(st)) {
    await native.accumulateVcAsync({ shape: v.shape, S: v.S, O: v.O, M3: v.M3, ...vc.part() });
    vc.addPart();
  }
  return vc;
}

/** Block 5: the outputs o of the view, by the proximal operator of the loss. Returns Σ(Δo)². */
export async function updateOutputs(st: AdmmState, v: StateView, model: BlockWeights): Promise<number> {
  const common = { shape: v.shape, S: v.S, V: model.V, c: model.c, M3: v.M3, O: v.O, rho3: st.rho[2] };
  return v.targets.loss === 'squared-error'
    ? await native.oStepAsync({ ...common, loss: 'squared-error', values: v.targets.values })
    : await native.oStepAsync({ ...common, loss: 'softmax-cross-entropy', labels: v.targets.labels });
}

/** The [N, T, h] layout of the step-indexed buffers (μ1's per-step norms). */
const stepLayout = (v: StateView): StepLayout => ({ steps: v.shape.T, rowLength: v.shape.h });

/**
 * Block 6 on a view: measures the three constraints and, when `apply`, takes the dual ascent step
 * μ1 += a − P, μ2 += s − tanh a, μ3 += o − (V s + c), then μ_i *= scale_i.
 */
export async function ascendView(
  v: StateView,
  model: BlockWeights,
  scale: Triple,
  apply: boolean
): Promise<ConstraintTriple> {
  if (!v.taFresh) {
    await native.tanhAsync({ n: v.A.length, A: v.A, out: v.TA }); // the a-step's own tanh: bit for bit
    v.taFresh = true;
  }
  // Constraint s = tanh a needs no product: its pass runs on this thread while a pool thread
  // brings P and the readout up to date for the other two.
  const products = async () => {
    await refreshAffine(v, model);
    await native.readoutAsync({ shape: v.shape, S: v.S, V: model.V, c: model.c, out: v.readout });
  };
  const [, states] = await Promise.all([products(), ascend(v.S, v.TA, v.M2, scale[1], apply)]);
  const affine = await ascend(v.A, v.P, v.M1, scale[0], apply, stepLayout(v));
  return [affine, states, await ascend(v.O, v.readout, v.M3, scale[2], apply)];
}

/** Block 6's ascent over every view of the state: the norms summed in view order. */
export async function ascendDuals(
  st: AdmmState,
  model: BlockWeights,
  scale: Triple,
  apply: boolean
): Promise<ConstraintTriple> {
  const total: ConstraintTriple = [sumNorms(), sumNorms(), sumNorms()];
  for (const v of views(st)) {
    const norms = await ascendView(v, model, scale, apply);
    for (let i = 0; i < 3; i++) sumNorms(total[i], norms[i]);
  }
  return total;
}

/** Multiplies every scaled dual by its factor (after a ρ change not fused into the ascent). */
export async function rescaleDuals(st: AdmmState, scale: Triple): Promise<void> {
  const duals = [st.M1, st.M2, st.M3];
  for (let i = 0; i < 3; i++) {
    if (scale[i] === 1) continue;
    const m = duals[i],
      f = scale[i];
    await forSlices(m.length, (begin, end) => {
      for (let k = begin; k < end; k++) m[k] *= f;
    });
  }
}

export interface DualStep {
  /** ρ of this iteration (the state now holds the next one). */
  rho: Triple;
  norms: ConstraintTriple;
  residuals: Residuals;
}

/**
 * Block 6: the dual ascent and the ρ update. A scheduled ρ is known before the residuals, so the
 * rescale of the scaled duals (λ = ρμ kept) is fused into the ascent; residual balancing picks ρ
 * from this iteration's residuals and rescales after.
 */
export async function updateDuals(
  st: AdmmState,
  model: BlockWeights,
  policy: ResolvedTrainerOptions['rhoPolicy']
): Promise<DualStep> {
  const rho: Triple = [...st.rho];
  const scheduled = rhoIsScheduled(policy);
  let next = scheduled ? nextRho(policy, rho) : rho;
  const rescale: Triple = scheduled ? (rho.map((r, i) => r / next[i]) as Triple) : [1, 1, 1];
  const norms = await ascendDuals(st, model, rescale, true);
  const measured = residuals(norms, st.change, rho);
  if (!scheduled) {
    next = nextRho(policy, rho, { primal: measured.primal, dual: measured.dual });
    await rescaleDuals(st, rho.map((r, i) => r / next[i]) as Triple);
  }
  st.rho = next;
  return { rho, norms, residuals: measured };
}

/**
 * Blocks 1–5 of one iteration over the state's views; `check` runs between the weight blocks and
 * the sweeps (an aborted fit). The per-view changes sum into st.change (the dual residuals).
 */
export async function primalBlocks(
  st: AdmmState,
  model: BlockWeights,
  cfg: BlockConfig,
  check: () => void
): Promise<void> {
  check();
  await updateInputWeights(st, model, cfg);
  check();
  [st.change[0], st.change[1]] = await sweepStates(st, model, cfg);
  check();
  await updateOutputWeights(st, model, cfg);
  check();
  st.change[2] = await sweepOutputs(st, model);
}

/**
 * Blocks 2 and 3 over the state's views, view by view (a view's a-step reads only its own old
 * states, as in the whole-state sweep). Returns Σ(Δa)² and Σ(Δs)², summed in view order.
 */
export async function sweepStates(st: AdmmState, model: BlockWeights, cfg: BlockConfig): Promise<[number, number]> {
  let a = 0,
    s = 0;
  for (const v of views(st)) {
    a += await updatePreactivations(st, v, model, cfg);
    s += await updateStates(st, v, model, cfg);
  }
  return [a, s];
}

/** Block 5 over the state's views. Returns Σ(Δo)², summed in view order. */
export async function sweepOutputs(st: AdmmState, model: BlockWeights): Promise<number> {
  let o = 0;
  for (const v of views(st)) o += await updateOutputs(st, v, model);
  return o;
}
