/**
 * The auxiliaries, duals and workspaces of one ADMM run, allocated once and reused by every
 * iteration. Scaled duals μ = λ/ρ. XU = U x + b and P = XU + W s_{t-1} are caches whose
 * freshness is tracked, so each block recomputes them only when their inputs changed.
 */
import type { PersistentGuardState } from './safeguard';
import type { LossSteps, TargetLayout } from '../../data';
import type { NativeInputs, NativeShape } from '../../native';
import { sharedFloats } from '../../in-shared-memory';
import { type GramSum, packedLength, uwbGram, vcGram } from './gram-sum';
import type { Triple } from '../rho';

// The state's arrays live on SharedArrayBuffers so that the dual ascent's worker threads
// (ascent/pool.ts) and the native async kernels (in-shared-memory.ts) work on them in place.

export class AdmmState {
  readonly shape: NativeShape;
  readonly inputs: NativeInputs;
  readonly targets: TargetLayout;
  readonly lossSteps: LossSteps;
  /** Pre-activations, states, outputs of the loss steps. */
  A: Float32Array;
  S: Float32Array;
  O: Float32Array;
  /** Scaled duals of the three constraints. */
  M1: Float32Array;
  M2: Float32Array;
  M3: Float32Array;
  /** tanh(A), kept in step with A by the a-block. */
  TA: Float32Array;
  /** Caches: XU = Ux + b; P = XU + W s_{t-1} (also the scratch of the (U,W,b) block and the s-block output). */
  XU: Float32Array;
  P: Float32Array;
  /** V s + c on the loss steps (dual update), and the forward-pass outputs (true loss). */
  readout: Float32Array;
  forwardOutputs: Float32Array;
  xuFresh = false;
  pFresh = false;
  /** The whole state keeps TA in step with A (a chunked one rebuilds it per chunk view). */
  taFresh = true;
  rho: Triple;
  beta: number;
  /** θ of the linearised blocks, carried between iterations as backtracking starts. */
  theta = { uwb: 1, a: 1, s: 1, vc: 1 };
  /** Sequences per chunk of a chunked sweep (N: unchunked); TA, XU, P then hold one chunk. */
  readonly chunkRows: number;
  /** Gram and right-hand-side accumulators of the two weight blocks (exact update; none in 'sweeps'). */
  readonly grams: { uwb: GramSum; vc: GramSum } | undefined;
  /** Σ(Δ)² of the auxiliaries in the current iteration (dual residuals). */
  change: Triple = [0, 0, 0];
  iteration = 0;
  /** The true-loss safeguard's factor on ρ and last accepted loss (safeguard.ts). */
  safeguard: PersistentGuardState = { scale: 1, loss: undefined };

  /** `sweep.chunkSize`: sequences per chunk (default N, whole); `sweep.weightGrams`: allocate the Grams. */
  constructor(
    shape: NativeShape,
    inputs: NativeInputs,
    targets: TargetLayout,
    lossSteps: LossSteps,
    rho: Triple,
    beta: number,
    sweep: { chunkSize?: number; weightGrams?: boolean } = {}
  ) {
    this.shape = shape;
    this.inputs = inputs;
    this.targets = targets;
    this.lossSteps = lossSteps;
    this.rho = [...rho];
    this.beta = beta;
    const hidden = shape.N * shape.T * shape.h;
    const outputs = shape.N * (shape.everyStep ? shape.T : 1) * shape.K;
    this.A = sharedFloats(hidden);
    this.S = sharedFloats(hidden);
    this.M1 = sharedFloats(hidden);
    this.M2 = sharedFloats(hidden);
    this.chunkRows = Math.min(sweep.chunkSize ?? shape.N, shape.N);
    const chunk = this.chunkRows * shape.T * shape.h;
    this.TA = sharedFloats(chunk);
    this.XU = sharedFloats(chunk);
    this.P = sharedFloats(chunk);
    this.grams = sweep.weightGrams ? { uwb: uwbGram(shape), vc: vcGram(shape) } : undefined;
    this.O = sharedFloats(outputs);
    this.M3 = sharedFloats(outputs);
    this.readout = sharedFloats(outputs);
    this.forwardOutputs = sharedFloats(outputs);
  }

  /** The s-block wrote the new states to P: the two buffers swap roles. */
  acceptStates(): void {
    [this.S, this.P] = [this.P, this.S];
  }

  /** True when the sweeps run chunk by chunk (chunkSize < N). */
  get chunked(): boolean {
    return this.chunkRows < this.shape.N;
  }

  /**
   * Bytes a state of this shape allocates (the arrays of the constructor), and the kernels'
   * largest workspaces for it (s-step: N·h, o-step and s-step right-hand sides: N·L·K each).
   */
  static bytesFor(shape: NativeShape, chunkRows: number, weightGrams: boolean): number {
    const hidden = shape.N * shape.T * shape.h,
      chunk = Math.min(chunkRows, shape.N) * shape.T * shape.h;
    const outputs = shape.N * (shape.everyStep ? shape.T : 1) * shape.K;
    const mu = shape.d + shape.h + 1,
      mv = shape.h + 1;
    const grams = weightGrams ? mu * mu + shape.h * mu + mv * mv + shape.K * mv : 0;
    // The float64 sums of the views' Grams (gram-sum.ts).
    const sums = weightGrams ? packedLength(mu, shape.h * mu) + packedLength(mv, shape.K * mv) : 0;
    const workspace = shape.N * shape.h + 2 * outputs;
    return 4 * (4 * hidden + 3 * chunk + 4 * outputs + grams + workspace) + 8 * sums;
  }

  /** Bytes held by this state. */
  get bytes(): number {
    const arrays = [this.A, this.S, this.TA, this.M1, this.M2, this.XU, this.P, this.O, this.M3, this.readout];
    const grams = this.grams ? [this.grams.uwb, this.grams.vc].flatMap((g) => [g.G, g.R, g.sum]) : [];
    return [...arrays, this.forwardOutputs, ...grams].reduce((sum, a) => sum + a.byteLength, 0);
  }
}
