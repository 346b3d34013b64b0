/** What a fit needs to undo a failed iteration: a copy of the weights, and where NaN/Inf appeared. */
import type { RNN, WeightName } from '../rnn';

export type WeightCopy = Record<WeightName, Float32Array>;

export function copyWeights(model: RNN): WeightCopy {
  const w = model.weights();
  return { U: w.U.slice(), W: w.W.slice(), b: w.b.slice(), V: w.V.slice(), c: w.c.slice() };
}

/** The first non-finite value, as `name = value` or `name[i] = value`; undefined if all are finite. */
export function firstNonFinite(values: Record<string, number | Float32Array>): string | undefined {
  for (const [name, v] of Object.entries(values)) {
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return `${name} = ${v}`;
    } else {
      for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return `${name}[${i}] = ${v[i]}`;
    }
  }
  return undefined;
}
