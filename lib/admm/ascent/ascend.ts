/**
 * The dual ascent of one constraint (block 6), in TypeScript on the state's own buffers (the
 * design keeps the dual updates on the TypeScript side): μ += left − right, then μ *= scale
 * (ρ_old/ρ_new, when ρ changes). One fused pass also collects every norm the residuals and the
 * Lagrangian need. persistent/blocks.ts runs it per constraint and view.
 */
import { PARTIAL_SUMS } from './span';
import { ascendInSpans } from './pool';

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

/** Zero norms, or (with two arguments) adds `part` into `into`: a sweep sums them over its views. */
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
 * One constraint's ascent and norms in one pass (pool.ts: on the ascent workers, or on the main
 * thread in spans that yield to the event loop). With a `layout`, the new dual's
 * squared norm is also split by time step (dualNewSqPerStep).
 */
export async function ascend(
  left: Float32Array,
  right: Float32Array,
  dual: Float32Array,
  scale: number,
  apply: boolean,
  layout?: StepLayout
): Promise<ConstraintNorms> {
  const { steps, rowLength } = layout ?? FLAT;
  const { partials, spans } = await ascendInSpans(left, right, dual, scale, apply, steps, rowLength);
  const sums = new Float64Array(PARTIAL_SUMS),
    perStep = new Float64Array(steps),
    stride = PARTIAL_SUMS + steps;
  for (let c = 0; c < spans; c++) {
    for (let i = 0; i < PARTIAL_SUMS; i++) sums[i] += partials[c * stride + i];
    for (let t = 0; t < steps; t++) perStep[t] += partials[c * stride + PARTIAL_SUMS + t];
  }
  return {
    residualSq: sums[0],
    leftSq: sums[1],
    rightSq: sums[2],
    dualOldSq: sums[3],
    dualNewSq: sums[4],
    ...(layout ? { dualNewSqPerStep: perStep } : {}),
  };
}
