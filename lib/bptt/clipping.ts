/** Global gradient norm and norm clipping, as torch.nn.utils.clip_grad_norm_ (L2 over all parameters). */
import { invalidType } from '../errors';
import { checkFloat32Array, checkNumber } from '../validate';

function checkGrads(grads: unknown): asserts grads is readonly Float32Array[] {
  if (!Array.isArray(grads)) throw invalidType('grads', 'an array of Float32Arrays', grads);
  grads.forEach((g, i) => checkFloat32Array(`grads[${i}]`, g));
}

/** ‖(g_1, …, g_n)‖₂ over every element of every array, in float64. */
export function globalNorm(grads: readonly Float32Array[]): number {
  checkGrads(grads);
  let sum = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sum += g[i] * g[i];
  return Math.sqrt(sum);
}

/**
 * Scales the gradients in place by min(1, maxNorm / (norm + 1e-6)) — torch's formula, including
 * its 1e-6 — and returns the norm before clipping (what clip_grad_norm_ returns).
 */
export function clipGradNorm(grads: readonly Float32Array[], maxNorm: number): number {
  checkNumber('maxNorm', maxNorm, 0, Infinity, true);
  const norm = globalNorm(grads);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= coef;
  return norm;
}
