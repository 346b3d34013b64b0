/**
 * Block 6 (the dual ascent) and the residuals, in TypeScript on the state's own buffers (the
 * design keeps the dual updates on the TypeScript side):
 *   μ1 += a − P,  μ2 += s − tanh a,  μ3 += o − (V s + c),
 * then μ_i *= scale_i (ρ_old/ρ_new, when ρ changes). One fused pass per constraint also
 * collects every norm the residuals and the Lagrangian need.
 */
import { forChunks } from '../../yielding';
import { native } from '../../native';
import type { RNN } from '../../rnn';
import { PARTIAL_SUMS } from './span';
import { ascendInChunks } from './pool';
import { refreshAffine } from '../persistent/blocks';
import type { Triple } from '../rho';
import type { AdmmState } from '../persistent/state';

export interface ConstraintNorms {
  /** ‖left − right‖² (the primal residual), ‖left‖², ‖right‖². */
  residualSq: number;
  leftSq: number;
  rightSq: number;
  /** ‖μ‖² before and after the ascent step (before rescaling). */
  dualOldSq: number;
  dualNewSq: number;
  /** dualNewSq split by time step (only when the ascent was given the [N, T, h] layout). */
  dualNewSqPerStep?: Float64Array;
}

/** Zero norms, or (with two arguments) adds `part` into `into`: chunked sweeps sum them over chunks. */
export function sumNorms(into?: ConstraintNorms, part?: ConstraintNorms): ConstraintNorms {
  const n = into ?? { residualSq: 0, leftSq: 0, rightSq: 0, dualOldSq: 0, dualNewSq: 0 };
  if (!part) return n;
  n.residualSq += part.residualSq;
  n.leftSq += part.leftSq;
  n.rightSq += part.rightSq;
  n.dualOldSq += part.dualOldSq;
  n.dualNewSq += part.dualNewSq;
  if (part.dualNewSqPerStep) {
    n.dualNewSqPerStep ??= new Float64Array(part.dualNewSqPerStep.length);
    for (let t = 0; t < part.dualNewSqPerStep.length; t++) n.dualNewSqPerStep[t] += part.dualNewSqPerStep[t];
  }
  return n;
}

/** Rows of `rowLength` values cycling through `steps` time steps: the [N, T, h] layout of μ1. */
export interface StepLayout {
  steps: number;
  rowLength: number;
}
/** Every element in one "step": the layout for constraints whose per-step split is not wanted. */
const FLAT: StepLayout = { steps: 1, rowLength: 2 ** 52 };

/**
 * One constraint's ascent and norms in one pass (ascend-pool.ts: on the ascent workers, or on
 * the main thread in chunks that yield to the event loop). With a `layout`, the new dual's
 * squared norm is also split by time step (dualNewSqPerStep).
 */
export async function ascend(left: Float32Array, right: Float32Array, dual: Float32Array, scale: number, apply: boolean, layout?: StepLayout): Promise<ConstraintNorms> {
  const { steps, rowLength } = layout ?? FLAT;
  const { partials, chunks } = await ascendInChunks(left, right, dual, scale, apply, steps, rowLength);
  const sums = new Float64Array(PARTIAL_SUMS), perStep = new Float64Array(steps), stride = PARTIAL_SUMS + steps;
  for (let c = 0; c < chunks; c++) {
    for (let i = 0; i < PARTIAL_SUMS; i++) sums[i] += partials[c * stride + i];
    for (let t = 0; t < steps; t++) perStep[t] += partials[c * stride + PARTIAL_SUMS + t];
  }
  return { residualSq: sums[0], leftSq: sums[1], rightSq: sums[2], dualOldSq: sums[3], dualNewSq: sums[4], ...(layout ? { dualNewSqPerStep: perStep } : {}) };
}

/** The [N, T, h] layout of the state's step-indexed buffers. */
export const stepLayout = (st: AdmmState): StepLayout => ({ steps: st.shape.T, rowLength: st.shape.h });

/** Brings the readout V s + c up to date (into st.readout). */
export async function refreshReadout(st: AdmmState, model: RNN): Promise<void> {
  await native.readoutAsync({ shape: st.shape, S: st.S, V: model.V, c: model.c, out: st.readout });
}

/**
 * Measures the three constraints and, when `apply`, takes the dual ascent step with the
 * given rescale factors. Returns the norms for constraints a, s, o.
 */
export async function measureAndAscend(st: AdmmState, model: RNN, scale: Triple, apply: boolean): Promise<[ConstraintNorms, ConstraintNorms, ConstraintNorms]> {
  // Constraint s = tanh a needs no product: its pass runs on this thread while a pool thread
  // brings P and the readout up to date for the other two.
  const products = async () => {
    await refreshAffine(st, model);
    await refreshReadout(st, model);
  };
  const [, states] = await Promise.all([products(), ascend(st.S, st.TA, st.M2, scale[1], apply)]);
  return [await ascend(st.A, st.P, st.M1, scale[0], apply, stepLayout(st)), states, await ascend(st.O, st.readout, st.M3, scale[2], apply)];
}

/** Multiplies every scaled dual by its factor (after a ρ change not fused into the ascent). */
export async function rescaleDuals(st: AdmmState, scale: Triple): Promise<void> {
  const duals = [st.M1, st.M2, st.M3];
  for (let i = 0; i < 3; i++) {
    if (scale[i] === 1) continue;
    const m = duals[i], f = scale[i];
    await forChunks(m.length, (begin, end) => {
      for (let k = begin; k < end; k++) m[k] *= f;
    });
  }
}
