/**
 * The persistent run's snapshot: auxiliaries, duals, tanh(A), ρ, θ, β, the iteration count and the
 * true-loss safeguard's scale
 * (the caches XU and P are rebuilt, and no block reads them before recomputing them at the start
 * of an iteration).
 */
import { invalidRange, invalidType } from '../../errors';
import { native } from '../../native';
import { checkFloat32Array, checkInteger, checkNumber, checkObject } from '../../validate';
import { type AdmmStateSnapshot, SNAPSHOT_ARRAYS } from '../snapshot';
import { readSafeguardSnapshot } from '../step-safeguard';
import type { AdmmState } from './state';

/** TA for the whole data set: a chunked state holds one chunk of it, so it is rebuilt from A. */
function wholeTanh(st: AdmmState): Float32Array {
  if (!st.chunked) return st.TA.slice();
  const out = new Float32Array(st.A.length);
  native.tanh({ n: out.length, A: st.A, out });
  return out;
}

export function takeSnapshot(st: AdmmState): AdmmStateSnapshot {
  return {
    kind: 'persistent',
    A: st.A.slice(),
    S: st.S.slice(),
    TA: wholeTanh(st),
    M1: st.M1.slice(),
    M2: st.M2.slice(),
    O: st.O.slice(),
    M3: st.M3.slice(),
    iteration: st.iteration,
    rho: [...st.rho],
    theta: { ...st.theta },
    beta: st.beta,
    safeguard: {
      scale: st.safeguard.scale,
      ...(st.safeguard.loss === undefined ? {} : { epochLoss: st.safeguard.loss }),
    },
  };
}

/** Checks every field against `st`'s sizes, then copies the snapshot into it. */
export function applySnapshot(st: AdmmState, snapshot: unknown, name = 'snapshot'): void {
  checkObject(name, snapshot);
  if (snapshot.kind !== undefined && snapshot.kind !== 'persistent')
    throw invalidRange(`${name}.kind`, "'persistent' (or absent) for a trainer in mode 'persistent'", snapshot.kind);
  for (const key of SNAPSHOT_ARRAYS)
    checkFloat32Array(`${name}.${key}`, snapshot[key], (key === 'TA' ? st.A : st[key]).length);
  if (!Array.isArray(snapshot.rho) || snapshot.rho.length !== 3)
    throw invalidType(`${name}.rho`, '[rho1, rho2, rho3]', snapshot.rho);
  const rho = snapshot.rho.map((r, i) => checkNumber(`${name}.rho[${i}]`, r, 0, Infinity, true)) as [
    number,
    number,
    number,
  ];
  checkObject(`${name}.theta`, snapshot.theta);
  const theta = { uwb: 0, a: 0, s: 0, vc: 0 };
  for (const k of Object.keys(theta) as (keyof typeof theta)[])
    theta[k] = checkNumber(`${name}.theta.${k}`, snapshot.theta[k], 0, Infinity, true);
  const beta = checkNumber(`${name}.beta`, snapshot.beta, 0);
  const iteration = checkInteger(`${name}.iteration`, snapshot.iteration, 0);
  const safeguard = readSafeguardSnapshot(snapshot.safeguard, `${name}.safeguard`);
  for (const key of SNAPSHOT_ARRAYS) {
    const values = snapshot[key] as Float32Array;
    for (let i = 0; i < values.length; i++)
      if (values[i] - values[i] !== 0) throw invalidRange(`${name}.${key}`, `finite — element ${i} is ${values[i]}`);
  }
  // A chunked state keeps no whole TA: every sweep rebuilds it from A before reading it.
  for (const key of SNAPSHOT_ARRAYS) if (key !== 'TA' || !st.chunked) st[key].set(snapshot[key] as Float32Array);
  st.rho = rho;
  st.theta = theta;
  st.beta = beta;
  st.iteration = iteration;
  st.safeguard = { scale: safeguard.scale, loss: safeguard.epochLoss };
  st.xuFresh = false;
  st.pFresh = false;
}
