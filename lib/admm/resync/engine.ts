/**
 * Resynchronised mini-batch ADMM (docs/ALGORITHM.md, "The resynchronised modes"). For every mini-batch:
 *   1. a forward pass sets a, s, o (every constraint holds: no stale auxiliaries);
 *   2. the multipliers are estimated at that point (multipliers.ts), by one of three modes —
 *      - 'adjoint': closed form (KKT) — numerically the BPTT adjoints, so this mode DOES
 *        propagate adjoints through time ("ProxProp through time");
 *      - 'local-duals': the gradient-free local dual walk (no gradient formula);
 *      - 'sweeps': a few of the persistent loop's sweeps (o, s, a, duals) on the batch;
 *   3. (U, W, b) and (V, c) are solved exactly as regularised, proximally anchored least
 *      squares of a + μ1 and o + μ3 on the forward (or auxiliary) states, with an optional
 *      trust region on ‖ΔW‖.
 * ρ grows geometrically per epoch: here it acts as an inverse step size.
 */
import { type TargetLayout } from '../../data';
import { summariseLoss } from '../../loss';
import { native, type NativeInputs, type NativeShape } from '../../native';
import type { Random } from '../../random';
import type { RNN } from '../../rnn';
import { epochBatches } from '../../training/batches';
import { BatchGatherer } from './gather';
import { BatchMultipliers } from './multipliers';
import type { Triple } from '../rho';
import { yieldToEventLoop } from '../../yielding';
import { sharedFloats } from '../../in-shared-memory';
import { type SafeguardSettings, StepSafeguard } from '../step-safeguard';
import { GuardedBatches, guardedBatch, interpolateWeights } from '../guarded-batch';
import { weightDecay } from '../persistent/residuals';
import { StepClip } from '../step-clip';
import { copyWeights } from '../../training/rollback';
import type { DualWalkSettings } from '../persistent/dual-walk';

export type ResyncMode = 'adjoint' | 'local-duals' | 'sweeps';

export interface ResyncSettings {
  mode: ResyncMode;
  batchSize: number;
  /** Per-sample proximal weight: η = eta · batch size. */
  eta: number;
  /** Per-sample weight decay: β = beta · batch size. */
  beta: number;
  regressors: 'forward' | 'auxiliary';
  /** Largest ‖ΔW‖_F / ‖W‖_F accepted per solve (the step is scaled back); undefined: none. */
  trustRegion: number | undefined;
  /** Longest batch step, as a multiple of the epoch's running mean step length (step-clip.ts); false: none. */
  stepClip: number | false;
  /** local-duals: repetitions per step and dual step size. */
  localSweeps: number;
  gamma: number;
  /** sweeps: persistent-loop sweeps per batch, after the local dual walk unless dualWalk is false. */
  sweeps: number;
  dualWalk: DualWalkSettings | false;
  /** The step safeguard's settings; false: none (step-safeguard.ts). */
  safeguard: SafeguardSettings | false;
}

export interface EpochSummary {
  /** Mean over batches of the per-step signal reaching step t (‖λ2_t‖, or ρ1‖μ1_t‖ for the dual modes). */
  stepSignal: number[];
  /** Mean loss per loss term of the auxiliary outputs (after the multiplier estimation). */
  auxiliaryLoss: number;
  batches: number;
}

export class ResyncEngine {
  private readonly gatherer: BatchGatherer;
  private readonly hidden: {
    A: Float32Array;
    S: Float32Array;
    M1: Float32Array;
    scratch: Float32Array;
  };
  private readonly outputs: { O: Float32Array; M3: Float32Array; check: Float32Array };
  private readonly multipliers: BatchMultipliers;
  private readonly L: number;
  /** The step safeguard and its moves on the weights (undefined when options.safeguard is false). */
  private readonly guarded: GuardedBatches | undefined;
  /** Step clipping (undefined when options.stepClip is false). */
  private readonly clip: StepClip | undefined;

  /** The step safeguard (undefined when options.safeguard is false). */
  get safeguard(): StepSafeguard | undefined {
    return this.guarded?.guard;
  }

  /**
   * Bytes an engine allocates for these sizes: the batch buffers and the multipliers' own
   * (the 'sweeps' mode's states: one per batch size, the full one and the last, smaller batch).
   */
  static bytesFor(
    shape: NativeShape,
    settings: { mode: string; batchSize: number },
    denseInputs: boolean,
    regression: boolean
  ): number {
    const { T, d, h, K } = shape,
      B = Math.min(settings.batchSize, shape.N),
      L = shape.everyStep ? T : 1;
    const floats = B * T * (denseInputs ? d : 1) + B * L * (regression ? K : 1) + 4 * B * T * h + 3 * B * L * K + T;
    return 4 * floats + BatchMultipliers.bytesFor({ ...shape, N: B }, settings.mode, 2);
  }

  constructor(
    private readonly model: RNN,
    private readonly shape: NativeShape,
    inputs: NativeInputs,
    targets: TargetLayout,
    private readonly settings: ResyncSettings
  ) {
    const { T, d, h, K } = shape,
      B = Math.min(settings.batchSize, shape.N);
    this.L = shape.everyStep ? T : 1;
    const targetStride = targets.loss === 'squared-error' ? this.L * K : this.L;
    this.gatherer = new BatchGatherer(inputs, targets, inputs.x ? T * d : T, targetStride, B);
    const n = B * T * h;
    // On shared memory, so that the async kernels work on them in place (in-shared-memory.ts).
    this.hidden = {
      A: sharedFloats(n),
      S: sharedFloats(n),
      M1: sharedFloats(n),
      scratch: sharedFloats(n),
    };
    const no = B * this.L * K;
    this.outputs = { O: sharedFloats(no), M3: sharedFloats(no), check: sharedFloats(no) };
    this.guarded = settings.safeguard ? new GuardedBatches(model, new StepSafeguard(settings.safeguard)) : undefined;
    this.clip = settings.stepClip === false ? undefined : new StepClip(settings.stepClip);
    this.multipliers = new BatchMultipliers(settings, shape, B);
  }

  /** One pass over the shuffled mini-batches at penalty ρ. */
  async epoch(rho: Triple, rng: Random, signal: AbortSignal | undefined, aborted: () => Error): Promise<EpochSummary> {
    const { T } = this.shape;
    const signalSum = new Float64Array(T);
    let auxSum = 0,
      auxCount = 0;
    const batches = epochBatches(this.shape.N, this.settings.batchSize, rng);
    this.guarded?.startEpoch();
    this.clip?.startEpoch();
    for (const indices of batches) {
      if (signal?.aborted) throw aborted();
      const summary = await this.batch(indices, rho);
      for (let t = 0; t < T; t++) signalSum[t] += this.multipliers.stepNorms[t];
      auxSum += summary.auxLoss;
      auxCount += summary.count;
      await yieldToEventLoop();
    }
    return {
      stepSignal: Array.from(signalSum, (v) => v / batches.length),
      auxiliaryLoss: auxSum / auxCount,
      batches: batches.length,
    };
  }

  private view<T extends Float32Array>(a: T, n: number): T {
    return a.subarray(0, n) as T;
  }

  /** One mini-batch: the update at ρ, through the step safeguard when there is one. */
  private async batch(indices: Int32Array, rho: Triple): Promise<{ auxLoss: number; count: number }> {
    const { inputs, targets } = this.gatherer.gather(indices);
    const B = indices.length;
    let result = { auxLoss: 0, count: 0, before: 0, after: 0 };
    await guardedBatch(
      this.guarded,
      rho,
      async (tried, scale, judged) => (result = await this.update(B, inputs, targets, tried, scale, judged)),
      () => this.objective(B, inputs, targets)
    );
    return result;
  }

  /** The batch objective at the model's weights: summed loss of the true forward pass + weight decay. */
  private async objective(B: number, inputs: NativeInputs, targets: TargetLayout): Promise<number> {
    const shape: NativeShape = { ...this.shape, N: B };
    const check = this.view(this.outputs.check, B * this.L * shape.K);
    await native.forwardAsync({ shape, ...inputs, ...this.model.weights(), O: check });
    return summariseLoss(check, shape.K, targets).sum + weightDecay(this.model, this.settings.beta * B);
  }

  /**
   * Forward pass, multipliers and weight solves on a gathered batch of B sequences, with the
   * proximal anchor η × `etaScale`; with `measure`, also the batch objective (summed true loss +
   * weight decay) before and after.
   */
  private async update(
    B: number,
    inputs: NativeInputs,
    targets: TargetLayout,
    rho: Triple,
    etaScale: number,
    measure: boolean
  ): Promise<{ auxLoss: number; count: number; before: number; after: number }> {
    const model = this.model,
      s = this.settings;
    const shape: NativeShape = { ...this.shape, N: B };
    const nh = B * shape.T * shape.h,
      no = B * this.L * shape.K;
    const A = this.view(this.hidden.A, nh),
      S = this.view(this.hidden.S, nh),
      M1 = this.view(this.hidden.M1, nh);
    const O = this.view(this.outputs.O, no),
      M3 = this.view(this.outputs.M3, no);
    await native.forwardAsync({ shape, ...inputs, ...model.weights(), A, S, O });
    const beta = s.beta * B;
    const objective = measure ? summariseLoss(O, shape.K, targets).sum + weightDecay(model, beta) : NaN;
    const regressors = await this.multipliers.estimate({ shape, inputs, targets, A, S, O, M1, M3 }, model, rho);
    const auxLoss = summariseLoss(O, shape.K, targets).sum;

    const start = this.clip ? copyWeights(model) : undefined;
    const old =
      s.trustRegion === undefined ? undefined : { U: model.U.slice(), W: model.W.slice(), b: model.b.slice() };
    await native.solveUWbAsync({
      shape,
      ...inputs,
      S: regressors,
      A,
      M1,
      scratch: this.view(this.hidden.scratch, nh),
      U: model.U,
      W: model.W,
      b: model.b,
      rho1: rho[0],
      beta,
      eta: s.eta * B * etaScale,
    });
    if (old) limitStep(old, model, s.trustRegion!);
    await native.solveVcAsync({
      shape,
      S: regressors,
      O,
      M3,
      V: model.V,
      c: model.c,
      rho3: rho[2],
      beta,
      eta: s.eta * B * etaScale,
    });
    if (start) this.clip!.apply(model, start, etaScale);
    if (!measure) return { auxLoss, count: B * this.L, before: NaN, after: NaN };
    return { auxLoss, count: B * this.L, before: objective, after: await this.objective(B, inputs, targets) };
  }
}

/** Trust region: scales the (U, W, b) step back so ‖ΔW‖_F ≤ radius · ‖W_old‖_F. */
export function limitStep(
  before: { U: Float32Array; W: Float32Array; b: Float32Array },
  model: RNN,
  radius: number
): void {
  let dw = 0,
    w = 0;
  for (let i = 0; i < model.W.length; i++) {
    dw += (model.W[i] - before.W[i]) ** 2;
    w += before.W[i] ** 2;
  }
  const limit = radius * Math.sqrt(w);
  if (Math.sqrt(dw) <= limit || dw === 0) return;
  // The point at limit/‖ΔW‖ on each of U, W, b's segments (the model's own weights are the segments' ends).
  interpolateWeights(model, before, model.weights(), limit / Math.sqrt(dw));
}
