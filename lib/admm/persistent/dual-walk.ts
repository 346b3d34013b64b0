/**
 * The persistent loop's dual warm start (issue 16, item 4): the scaled duals μ1, μ3 estimated by
 * the gradient-free local dual walk of mode 'local-duals' (native/local_walk.cpp) at the loop's ρ,
 * from the forward point, instead of starting at zero. Block 1's targets a + μ1 then carry the
 * loss's credit from iteration 1 on, where zero duals let it reach (U, W, b) only as the dual
 * ascent accumulates it. The walk moves information back only through local solves and dual steps
 * (no adjoint recursion). The auxiliaries stay at the forward point (every constraint holds), μ2
 * is zero; `scale` multiplies the walk's duals (the step block 1 takes from them). With `every`,
 * the run resynchronises its auxiliaries to the forward pass and walks again every `every`
 * iterations.
 */
import { native, type WeightArgs } from '../../native';
import { rescaleDuals } from './blocks';
import type { AdmmState } from './state';
import { views } from './views';
import { copyInSlices, forSlices } from '../../yielding';

export interface DualWalkSettings {
  /** Factor on the walk's scaled duals. */
  scale: number;
  /** Iterations between re-walks (after a resynchronisation); 0: at the start only. */
  every: number;
}

/** Whether the walk follows iteration `k` (every `every` iterations; never with every 0). */
export function walksAfter(walk: DualWalkSettings | false | undefined, k: number): boolean {
  return walk ? walk.every > 0 && k % walk.every === 0 : false;
}

/** The walk's own settings: rounds per step and dual step size (options.localSweeps, options.gamma). */
export interface WalkSteps {
  sweeps: number;
  gamma: number;
}

/**
 * Sets μ1 and μ3 of every view by the local dual walk from the state's current point (a forward
 * pass: every constraint holds), scaled by `scale`; μ2 to zero; a, s, o are left as they were.
 * The view's caches XU and P serve as the walk's scratch (a copy of a, and its auxiliary states).
 * With `abort`, an abort of its signal stops the walk within a step of the native kernel (a flag
 * it reads) and throws `aborted()`, the duals partly walked.
 */
export async function walkDuals(
  st: AdmmState,
  weights: WeightArgs,
  scale: number,
  steps: WalkSteps,
  abort?: { signal: AbortSignal | undefined; aborted: () => Error }
): Promise<void> {
  const [rho1, rho2, rho3] = st.rho;
  const signal = abort?.signal;
  // Shared memory: the kernel runs on a pool thread while the abort's listener runs on this one.
  const cancel = signal && new Int32Array(new SharedArrayBuffer(4));
  const raise = () => void Atomics.store(cancel!, 0, 1);
  signal?.addEventListener('abort', raise);
  try {
    for (const v of views(st)) {
      if (signal?.aborted) throw abort!.aborted();
      // The walk writes its a and o: it works on copies (a in the XU cache), so a, o stay the
      // forward pass. Copied in slices: in one piece they held the event loop ~0.1 s per walk on
      // mnist10k.
      const walkA = v.XU,
        forwardO = new Float32Array(v.O.length);
      await copyInSlices(walkA, v.A);
      await copyInSlices(forwardO, v.O);
      v.xuFresh = v.pFresh = st.xuFresh = st.pFresh = false;
      try {
        await native.localDualWalkAsync({
          shape: v.shape,
          ...v.inputs,
          ...weights,
          S: v.S,
          Saux: v.P,
          A: walkA,
          O: v.O,
          M1: v.M1,
          M3: v.M3,
          rho1,
          rho2,
          rho3,
          sweeps: steps.sweeps,
          gamma: steps.gamma,
          ...v.targets,
          ...(cancel && { cancel }),
        });
      } finally {
        await copyInSlices(v.O, forwardO);
      }
      if (signal?.aborted) throw abort!.aborted(); // the kernel may have stopped part-way
      await forSlices(v.M2.length, (begin, end) => v.M2.fill(0, begin, end));
    }
  } finally {
    signal?.removeEventListener('abort', raise);
  }
  await rescaleDuals(st, [scale, 1, scale]);
}
