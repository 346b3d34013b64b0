/**
 * The persistent loop's safeguard on its true loss (issue 16, item 4), the counterpart of the
 * mini-batch modes' step safeguard. An iteration whose true forward-pass training loss rises above
 * the last accepted one by more than `epochTolerance` is rejected: the weights go back, the
 * auxiliaries a, s, o are resynchronised to the forward pass of those weights (every constraint
 * holds again; the duals keep the credit they carry, rescaled so λ = ρμ is unchanged) and ρ is
 * multiplied by `backoff`. An accepted iteration divides the safeguard's factor by `relax`, never
 * below 1; neither moves ρ past the ρ policy's bounds. On by default (options.ts) except in a sharded
 * run. Undoing the auxiliaries would need a copy of N·T·h-sized buffers; the resync needs one
 * forward pass and no gradient formula.
 */
import { native } from '../../native';
import type { RNN } from '../../rnn';
import { lossOf } from '../../training/layout';
import { copyWeights } from '../../training/rollback';
import { forSlices } from '../../yielding';
import type { ResolvedTrainerOptions } from '../options';
import type { PersistentIterationRecord } from '../record';
import type { Triple } from '../rho';
import type { SafeguardSettings } from '../step-safeguard';
import { type BlockWeights, rescaleDuals } from './blocks';
import type { AdmmState } from './state';
import { views } from './views';

/** What the persistent safeguard carries between iterations (in snapshots). */
export interface PersistentGuardState {
  /** Factor the safeguard has applied to ρ on top of the schedule. */
  scale: number;
  /** True training loss of the last accepted iteration (or of the start). */
  loss: number | undefined;
}

/**
 * Sets a, s (and tanh a), o from a forward pass with the model's weights: every constraint holds
 * (the run's start; a rejected iteration). TA = tanh(A) = S; a chunked state rebuilds its chunk
 * of TA wherever it is read.
 */
export async function resynchronise(st: AdmmState, model: BlockWeights): Promise<void> {
  const { U, W, b, V, c } = model;
  // A chunked state starts view by view, as a parallel run's shards do: the forward pass's rounding
  // depends on how its rows are blocked, so the two runs stay equal bit for bit.
  for (const v of views(st))
    await native.forwardAsync({ shape: v.shape, ...v.inputs, U, W, b, V, c, A: v.A, S: v.S, O: v.O });
  if (!st.chunked) await forSlices(st.S.length, (begin, end) => st.TA.set(st.S.subarray(begin, end), begin));
  st.xuFresh = st.pFresh = false;
}

/** Multiplies ρ by `factor`, rescaling the scaled duals so that λ = ρμ is kept. */
async function scaleRho(st: AdmmState, factor: number): Promise<void> {
  if (factor === 1) return;
  await rescaleDuals(st, [1 / factor, 1 / factor, 1 / factor]);
  st.rho = st.rho.map((r) => r * factor) as Triple;
}

/** The ρ bounds the safeguard's factor must respect: the policy's min and max (if it has them). */
export interface RhoBounds {
  min: number;
  max: number;
}

/** The bounds of a resolved ρ policy (a fixed one has none). */
export function rhoBounds(policy: ResolvedTrainerOptions['rhoPolicy']): RhoBounds {
  return { min: 'min' in policy ? policy.min : 0, max: 'max' in policy ? policy.max : Infinity };
}

/**
 * `wanted` (the safeguard's next factor on top of the schedule) moved towards `current` as far as
 * needed so that every ρ_i · wanted / current stays within `bounds`.
 */
function boundedScale(rho: Triple, current: number, wanted: number, bounds: RhoBounds): number {
  const ratio = wanted / current;
  if (ratio > 1) return current * Math.max(1, Math.min(ratio, bounds.max / Math.max(...rho)));
  if (ratio < 1) return current * Math.min(1, Math.max(ratio, bounds.min / Math.min(...rho)));
  return wanted;
}

/** Runs `iterate` (one persistent iteration) under the safeguard and returns its record. */
export async function guardedIteration(
  st: AdmmState,
  model: RNN,
  guard: PersistentGuardState,
  settings: Readonly<SafeguardSettings>,
  bounds: RhoBounds,
  iterate: () => Promise<PersistentIterationRecord>
): Promise<PersistentIterationRecord> {
  if (guard.loss === undefined) {
    // The start: the auxiliaries are a forward pass, so o gives the true loss.
    guard.loss = lossOf(st.O, st).loss;
  }
  const saved = copyWeights(model);
  const record = await iterate();
  const outcome = { rejections: 0, skipped: 0, epochRejections: 0, epochSkipped: false };
  if (record.loss <= guard.loss * (1 + settings.epochTolerance)) {
    guard.loss = record.loss;
    const relaxed = boundedScale(st.rho, guard.scale, Math.max(1, guard.scale / settings.relax), bounds);
    await scaleRho(st, relaxed / guard.scale);
    guard.scale = relaxed;
  } else {
    model.setWeightsUnchecked(saved);
    await resynchronise(st, model);
    const wanted = Math.min(settings.maxScale, guard.scale * settings.backoff);
    const raised = boundedScale(st.rho, guard.scale, wanted, bounds);
    await scaleRho(st, raised / guard.scale);
    guard.scale = raised;
    Object.assign(record, lossOf(st.O, st));
    Object.assign(outcome, { rejections: 1, skipped: 1 });
  }
  return { ...record, safeguard: { ...outcome, rho: record.rho, rhoMax: record.rho, scale: guard.scale } };
}
