/**
 * A copy of an ADMM run's state, so a run can be checkpointed and continued bit for bit.
 * Persistent mode (taken and applied by persistent/snapshot.ts): auxiliaries, duals, tanh(A),
 * ρ, θ, β and the iteration count. Mini-batch modes: the schedule — epochs done, the next ρ and
 * the shuffling generator — since every batch restarts from a forward pass and keeps nothing else.
 * Both: the readout the run continues from when a readoutRefit replaced the model's (V, c).
 */
import { invalidRange, invalidType } from '../errors';
import { checkFloat32Array, checkInteger, checkNumber, checkObject } from '../validate';
import { Random, type RandomState } from '../random';
import type { RNN } from '../rnn';
import type { Triple } from './rho';
import { type SafeguardSnapshot, readSafeguardSnapshot } from './step-safeguard';

export const SNAPSHOT_ARRAYS = ['A', 'S', 'TA', 'M1', 'M2', 'O', 'M3'] as const;
export type SnapshotArrayName = (typeof SNAPSHOT_ARRAYS)[number];

/**
 * The (V, c) a run continues from: the readoutRefit at the end of a fit replaces the model's
 * readout, but the uninterrupted run would have gone on from the one before the refit.
 */
export interface RunReadout {
  V: Float32Array;
  c: Float32Array;
}

/** Persistent mode (snapshots without `kind` are persistent too). */
export interface AdmmStateSnapshot extends Record<SnapshotArrayName, Float32Array> {
  kind?: 'persistent';
  /** Completed iterations. */
  iteration: number;
  rho: [number, number, number];
  theta: { uwb: number; a: number; s: number; vc: number };
  beta: number;
  /** The true-loss safeguard's factor on ρ and last accepted loss (absent: scale 1, not measured yet). */
  safeguard?: SafeguardSnapshot;
  /** Present when a readoutRefit replaced the model's (V, c) after the last iteration. */
  readout?: RunReadout;
}

/** Mini-batch modes ('adjoint', 'local-duals', 'sweeps'): the schedule between epochs. */
export interface MiniBatchStateSnapshot {
  kind: 'mini-batch';
  /** Completed epochs. */
  iteration: number;
  /** ρ of the next epoch. */
  rho: [number, number, number];
  /** The shuffling generator after the last completed epoch. */
  rng: RandomState;
  /** The step safeguard's multiplier of the scheduled ρ and last accepted epoch loss (absent: no safeguard). */
  safeguard?: SafeguardSnapshot;
  /** Present when a readoutRefit replaced the model's (V, c) after the last epoch. */
  readout?: RunReadout;
}

/** What AdmmTrainer.exportState returns, by mode. */
export type AdmmRunSnapshot = AdmmStateSnapshot | MiniBatchStateSnapshot;

function checkRho(name: string, value: unknown): Triple {
  if (!Array.isArray(value) || value.length !== 3) throw invalidType(name, '[rho1, rho2, rho3]', value);
  return value.map((r, i) => checkNumber(`${name}[${i}]`, r, 0, Infinity, true)) as Triple;
}

/** A mini-batch snapshot, checked: the epoch count, the next ρ and the generator it continues. */
export function readMiniBatchSnapshot(
  snapshot: unknown,
  mode: string,
  name = 'snapshot'
): { iteration: number; rho: Triple; rng: Random; safeguard: SafeguardSnapshot } {
  checkObject(name, snapshot);
  if (snapshot.kind !== 'mini-batch')
    throw invalidRange(`${name}.kind`, `'mini-batch' for a trainer in mode '${mode}'`, snapshot.kind ?? 'persistent');
  return {
    iteration: checkInteger(`${name}.iteration`, snapshot.iteration, 0),
    rho: checkRho(`${name}.rho`, snapshot.rho),
    rng: Random.fromState(snapshot.rng, `${name}.rng`),
    safeguard: readSafeguardSnapshot(snapshot.safeguard, `${name}.safeguard`),
  };
}

/** The snapshot's run readout (undefined when absent), checked against `model`'s sizes. */
export function readRunReadout(
  snapshot: Record<string, unknown>,
  model: RNN,
  name = 'snapshot'
): RunReadout | undefined {
  const readout = snapshot.readout;
  if (readout === undefined) return undefined;
  checkObject(`${name}.readout`, readout);
  const V = checkFloat32Array(`${name}.readout.V`, readout.V, model.V.length);
  const c = checkFloat32Array(`${name}.readout.c`, readout.c, model.c.length);
  for (const [key, values] of [
    ['V', V],
    ['c', c],
  ] as const)
    for (let i = 0; i < values.length; i++)
      if (values[i] - values[i] !== 0)
        throw invalidRange(`${name}.readout.${key}`, `finite — element ${i} is ${values[i]}`);
  return { V: V.slice(), c: c.slice() };
}
