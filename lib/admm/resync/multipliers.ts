/**
 * Step 2 of a resynchronised mini-batch (engine.ts): the multipliers μ1, μ3 at the batch's forward
 * point, by the run's mode, with the weights fixed. The single-process engine and a sharded run's
 * shards (lib/parallel/mini-batch-shard.ts, on their slices of each batch) both call this: every
 * mode works sample by sample — the closed form per sample, the local walk per sample, and the
 * persistent loop's blocks 2, 3, 5, 6 per sample — so a slice's multipliers are the batch's rows.
 */
import type { TargetLayout } from '../../data';
import { native, type NativeInputs, type NativeShape } from '../../native';
import { sharedFloats } from '../../in-shared-memory';
import {
  type BlockWeights,
  ascendDuals,
  updateOutputs,
  updatePreactivations,
  updateStates,
} from '../persistent/blocks';
import { AdmmState } from '../persistent/state';
import { walkDuals } from '../persistent/dual-walk';
import type { Triple } from '../rho';
import type { ResyncSettings } from './engine';

/** What the multiplier step of each mode needs of the settings. */
export type MultiplierSettings = Pick<
  ResyncSettings,
  'mode' | 'regressors' | 'localSweeps' | 'gamma' | 'sweeps' | 'dualWalk'
>;

/** A gathered batch after its forward pass; the 'local-duals' and 'sweeps' modes move A and O to their auxiliaries. */
export interface ForwardPoint {
  shape: NativeShape;
  inputs: NativeInputs;
  targets: TargetLayout;
  A: Float32Array;
  S: Float32Array;
  O: Float32Array;
  /** Written: the scaled multipliers. */
  M1: Float32Array;
  M3: Float32Array;
}

export class BatchMultipliers {
  /** Per step of the last batch: ‖μ1_t‖ ('adjoint'), ρ1‖μ1_t‖ (the dual modes). */
  readonly stepNorms: Float32Array;
  /** 'local-duals': the walk's auxiliary states (batch capacity). */
  private readonly Saux: Float32Array | undefined;
  /** 'sweeps': the persistent loop's state, one per batch size met (the gathered views of that size). */
  private readonly sweepStates = new Map<number, AdmmState>();

  /** For batches of up to `capacity` sequences of `shape`'s T and h. */
  constructor(
    private readonly settings: Readonly<MultiplierSettings>,
    shape: Pick<NativeShape, 'T' | 'h'>,
    capacity: number
  ) {
    this.stepNorms = sharedFloats(shape.T);
    if (settings.mode === 'local-duals') this.Saux = sharedFloats(capacity * shape.T * shape.h);
  }

  /**
   * Bytes the multipliers allocate for batches of up to `shape.N` sequences: 'local-duals' its
   * auxiliary states and the walk's workspaces (N·T·h and ten N·h), 'sweeps' one state for each
   * of the `sizes` batch sizes it meets.
   */
  static bytesFor(shape: NativeShape, mode: string, sizes: number): number {
    const { N, T, h, K } = shape;
    if (mode === 'local-duals') return 4 * (2 * N * T * h + 10 * N * h + N * K);
    return mode === 'sweeps' ? sizes * AdmmState.bytesFor(shape, N, false) : 0;
  }

  /**
   * The multipliers of `batch` at ρ (into M1, M3, stepNorms): the regressors the weight solves
   * then use (the forward states, or the auxiliary ones with regressors 'auxiliary').
   */
  async estimate(batch: ForwardPoint, weights: BlockWeights, rho: Triple): Promise<Float32Array> {
    const { shape, inputs, targets, A, S, O, M1, M3 } = batch,
      s = this.settings;
    if (s.mode === 'adjoint') {
      await adjointMultipliers({ shape, S, O, targets }, weights, rho[0], rho[2], {
        M1,
        M3,
        stepNorms: this.stepNorms,
      });
      return S;
    }
    if (s.mode === 'local-duals') {
      const Saux = this.Saux!.subarray(0, S.length);
      await native.localDualWalkAsync({
        shape,
        ...inputs,
        U: weights.U,
        W: weights.W,
        b: weights.b,
        V: weights.V,
        c: weights.c,
        S,
        Saux,
        A,
        O,
        M1,
        M3,
        stepNorms: this.stepNorms,
        rho1: rho[0],
        rho2: rho[1],
        rho3: rho[2],
        sweeps: s.localSweeps,
        gamma: s.gamma,
        ...targets,
      });
      return s.regressors === 'auxiliary' ? Saux : S;
    }
    return this.globalSweeps(batch, weights, rho);
  }

  /**
   * Variant C: the persistent loop's sweeps (o, s, a, duals) on the batch with the weights fixed,
   * from zero duals or, with the dual walk, from the walk's.
   */
  private async globalSweeps(batch: ForwardPoint, weights: BlockWeights, rho: Triple): Promise<Float32Array> {
    const { shape, inputs, targets } = batch;
    let st = this.sweepStates.get(shape.N);
    if (!st) {
      // The state keeps views of the gathered batch: the same views for every batch of this size.
      st = new AdmmState(shape, inputs, targets, shape.everyStep ? 'every' : 'last', rho, 0);
      this.sweepStates.set(shape.N, st);
    }
    st.rho = [...rho];
    st.A.set(batch.A);
    st.S.set(batch.S);
    st.TA.set(batch.S);
    st.O.set(batch.O);
    st.M1.fill(0);
    st.M2.fill(0);
    st.M3.fill(0);
    if (this.settings.dualWalk) await this.walkDuals(st, weights, this.settings.dualWalk.scale);
    st.xuFresh = st.pFresh = false;
    const cfg = { linearized: false };
    for (let k = 0; k < this.settings.sweeps; k++) {
      await updateOutputs(st, st, weights);
      await updateStates(st, st, weights, cfg);
      await updatePreactivations(st, st, weights, cfg);
      await ascendDuals(st, weights, [1, 1, 1], true);
    }
    const { T, h } = shape;
    for (let t = 0; t < T; t++) {
      let sq = 0;
      for (let n = 0; n < shape.N; n++) for (let i = 0; i < h; i++) sq += st.M1[(n * T + t) * h + i] ** 2;
      this.stepNorms[t] = rho[0] * Math.sqrt(sq);
    }
    batch.A.set(st.A);
    batch.O.set(st.O);
    batch.M1.set(st.M1);
    batch.M3.set(st.M3);
    return this.settings.regressors === 'auxiliary' ? st.S : batch.S;
  }

  /**
   * μ1, μ3 of the sweep state by the persistent loop's dual walk (dual-walk.ts: 'local-duals''s
   * walk at the same ρ from the forward point, times `scale`; a, s, o stay the forward point, μ2 zero).
   */
  private walkDuals(st: AdmmState, weights: BlockWeights, scale: number): Promise<void> {
    const { U, W, b, V, c } = weights;
    const steps = { sweeps: this.settings.localSweeps, gamma: this.settings.gamma };
    return walkDuals(st, { U, W, b, V, c }, scale, steps);
  }
}

/** Mode 'adjoint''s multipliers of a batch at its forward pass (S, O): closed form (KKT) μ1, μ3; ‖μ1_t‖ per step. */
export async function adjointMultipliers(
  batch: { shape: NativeShape; S: Float32Array; O: Float32Array; targets: TargetLayout },
  weights: { readonly W: Float32Array; readonly V: Float32Array },
  rho1: number,
  rho3: number,
  out: { M1: Float32Array; M3: Float32Array; stepNorms: Float32Array }
): Promise<void> {
  const { shape, S, O, targets } = batch;
  await native.adjointMultipliersAsync({
    shape,
    S,
    O,
    W: weights.W,
    V: weights.V,
    rho1,
    rho3,
    ...out,
    ...targets,
  });
}
