/**
 * The persistent loop's safeguard on its true loss (issue 16, item 4), the counterpart of the
 * mini-batch modes' step safeguard. An iteration whose true forward-pass training loss rises above
 * the last accepted one by more than `epochTolerance` is rejected: the weights go back, the
 * auxiliaries a, s, o are resynchronised to the forward pass of those weights (every constraint
 * holds again; the duals keep the credit they carry, rescaled so λ = ρμ is unchanged) and ρ is
 * multiplied by `backoff`. An accepted iteration divides the safeguard's factor by `relax`, never
 * below 1; neither moves ρ past the ρ policy's bounds. On by default (options.ts), also in a
 * synchronous sharded run, whose coordinator takes the same verdicts (judgeIteration) and has its
 * shards apply them (lib/parallel/coordinator.ts); off under bounded staleness. Undoing the
 * auxiliaries would need a copy of N·T·h-sized buffers; the resync needs one forward pass and no
 * gradient formula.
 */
import { native } from '../../native';
import type { RNN } from '../../rnn';
import { lossOf } from '../../training/layout';
import { copyWeights } from '../../training/rollback';
import { copyInSlices } from '../../yielding';
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
  if (!st.chunked) await copyInSlices(st.TA, st.S);
  st.xuFresh = st.pFresh = false;
}

/** Multiplies ρ by `factor`, rescaling the scaled duals so that λ = ρμ is kept (also a shard's, parallel/shard.ts). */
export async function scaleRho(st: AdmmState, factor: number): Promise<void> {
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

/** The safeguard's verdict on one iteration: keep it or not, and the factor it applies to ρ. */
export interface GuardVerdict {
  accepted: boolean;
  /** Multiplier of ρ (and 1/it of the scaled duals): the factor's change, within the ρ bounds. */
  factor: number;
}

/**
 * Judges an iteration whose true training loss is `loss`, at `rho` (the next iteration's ρ before
 * the verdict), and moves `guard` on: an accepted iteration's loss becomes the reference and the
 * factor relaxes; a rejected one raises the factor by `backoff`. Shared by the single-process loop
 * and the sharded coordinator, so both take the same decisions with the same arithmetic.
 */
export function judgeIteration(
  guard: PersistentGuardState,
  settings: Readonly<SafeguardSettings>,
  bounds: RhoBounds,
  rho: Triple,
  loss: number
): GuardVerdict {
  const before = guard.scale;
  if (loss <= guard.loss! * (1 + settings.epochTolerance)) {
    guard.loss = loss;
    guard.scale = boundedScale(rho, before, Math.max(1, before / settings.relax), bounds);
    return { accepted: true, factor: guard.scale / before };
  }
  const wanted = Math.min(settings.maxScale, before * settings.backoff);
  guard.scale = boundedScale(rho, before, wanted, bounds);
  return { accepted: false, factor: guard.scale / before };
}

/** The record of an iteration the safeguard judged (`record.rho` is the iteration's ρ). */
export function guardedRecord(
  record: PersistentIterationRecord,
  accepted: boolean,
  scale: number
): PersistentIterationRecord {
  const counts = accepted ? { rejections: 0, skipped: 0 } : { rejections: 1, skipped: 1 };
  const outcome = { ...counts, epochRejections: 0, epochSkipped: false };
  return { ...record, safeguard: { ...outcome, rho: record.rho, rhoMax: record.rho, scale } };
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
  const verdict = judgeIteration(guard, settings, bounds, st.rho, record.loss);
  if (!verdict.accepted) {
    model.setWeightsUnchecked(saved);
    await resynchronise(st, model);
  }
  await scaleRho(st, verdict.factor);
  if (!verdict.accepted) Object.assign(record, lossOf(st.O, st));
  return guardedRecord(record, verdict.accepted, guard.scale);
}
