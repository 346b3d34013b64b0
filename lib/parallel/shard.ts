/**
 * One shard of the persistent loop (docs/ALGORITHM.md, "The parallel decomposition"): the
 * auxiliaries a, s, o and duals of its samples, and every block that touches only them — 2 (a),
 * 3 (s), 5 (o), 6 (duals) — plus its parts of the Grams of blocks 1 and 4. It runs each block as
 * the chunked sweep (lib/admm/persistent/blocks.ts on a chunk view) runs one chunk, so a synchronous sharded run is the
 * chunked run with one chunk per shard, bit for bit. It knows nothing of transports: `answer`
 * turns one publication into one contribution, and `runShard` loops over any ShardTransport.
 */
import type { LossSteps, TargetLayout } from '../data';
import { summariseLoss } from '../loss';
import { native, type NativeInputs, type NativeShape } from '../native';
import { type ConstraintNorms, ascend } from '../admm/ascent/ascend';
import { rescaleDuals } from '../admm/persistent/blocks';
import type { Triple } from '../admm/rho';
import { applySnapshot, takeSnapshot } from '../admm/persistent/snapshot';
import type { AdmmStateSnapshot } from '../admm/snapshot';
import { AdmmState } from '../admm/persistent/state';
import { packGram, uwbGram, vcGram } from '../admm/persistent/gram-sum';
import { type WeightViews, emptyWeights, readWeights } from './layout';
import type { Contribution, Publication, ShardTransport } from './transport';

/** What a shard needs to start: its samples (rows of the data set, contiguous) and the loss layout. */
export interface ShardData {
  /** The shard's shape: N is its number of sequences. */
  shape: NativeShape;
  inputs: NativeInputs;
  targets: TargetLayout;
  lossSteps: LossSteps;
}

/** What a shard of any mode does with a publication (PersistentShard, AdjointShard). */
export interface ShardCore {
  answer(p: Publication): Promise<Pick<Contribution, 'iteration' | 'phase' | 'version' | 'scalars' | 'body'>>;
}

/**
 * Values of a 'duals' contribution's body: 5 norms per constraint, then ‖μ1_t‖² per step, then
 * (when the publication asks for it with scalar `prefetch` = 1) the next iteration's block-1 Gram.
 */
export const NORM_FIELDS = 5;

export class PersistentShard implements ShardCore {
  private st: AdmmState | undefined;
  private readonly weights: WeightViews;
  /** The ρ the shard's scaled duals are scaled for (a publication at another ρ rescales them first). */
  private dualRho: Triple = [1, 1, 1];
  private readonly uwb;
  private readonly vc;

  constructor(
    readonly index: number,
    readonly data: ShardData
  ) {
    this.weights = emptyWeights(data.shape);
    this.uwb = uwbGram(data.shape);
    this.vc = vcGram(data.shape);
  }

  get sequences(): number {
    return this.data.shape.N;
  }

  /** Bytes of the shard's state (allocated at its first publication). */
  static bytesFor(shape: NativeShape): number {
    return AdmmState.bytesFor(shape, shape.N, false);
  }

  /** The shard's state (undefined before its first publication). */
  get state(): AdmmState | undefined {
    return this.st;
  }

  /**
   * A copy of the shard's auxiliaries and duals for a checkpoint, with the ρ its duals are scaled
   * for (undefined before its first publication).
   */
  exportState(): AdmmStateSnapshot | undefined {
    if (!this.st) return undefined;
    return { ...takeSnapshot(this.st), rho: [...this.dualRho] };
  }

  /**
   * Continues from exportState() of this shard (same rows; checked against their sizes): a
   * replacement shard answers the next publication from it instead of a fresh forward pass.
   */
  restoreState(snapshot: unknown): void {
    const { shape, inputs, targets, lossSteps } = this.data;
    const st = new AdmmState(shape, inputs, targets, lossSteps, [1, 1, 1], 0);
    applySnapshot(st, snapshot);
    this.dualRho = [...st.rho];
    this.st = st;
  }

  /** Runs the publication's phase on this shard's samples; its contribution, without shard and token. */
  async answer(p: Publication): Promise<Pick<Contribution, 'iteration' | 'phase' | 'version' | 'scalars' | 'body'>> {
    const rho: Triple = [p.scalars.rho1, p.scalars.rho2, p.scalars.rho3];
    readWeights(p.body, this.weights);
    const st = this.st ?? (await this.start(rho));
    const scale = rho.map((r, i) => this.dualRho[i] / r) as Triple;
    if (scale.some((f) => f !== 1)) await rescaleDuals(st, scale);
    this.dualRho = rho;
    st.rho = rho;
    const reply = (scalars: Record<string, number>, body: Float64Array) => ({
      iteration: p.iteration,
      phase: p.phase,
      version: p.version,
      scalars,
      body,
    });
    switch (p.phase) {
      case 'uwb':
        return reply({}, await this.inputGram(st));
      case 'vc':
        return reply(...(await this.statesAndOutputGram(st)));
      case 'duals': {
        const next: Triple = [p.scalars.next1, p.scalars.next2, p.scalars.next3];
        const [scalars, norms] = await this.outputsAndDuals(st, rho.map((r, i) => r / next[i]) as Triple, next);
        if (p.scalars.prefetch !== 1) return reply(scalars, norms);
        // Block 1 of the next iteration reads only a, s and μ1, final now that the ascent has
        // rescaled μ to the next ρ: its Gram rides on this answer, saving a round.
        const gram = await this.inputGram(st);
        const body = new Float64Array(norms.length + gram.length);
        body.set(norms);
        body.set(gram, norms.length);
        return reply(scalars, body);
      }
      default:
        throw new RangeError(`shard ${this.index}: unknown phase '${p.phase}' in publication ${p.version}`);
    }
  }

  /** Auxiliaries from one forward pass with the first publication's weights; duals zero. */
  private async start(rho: Triple): Promise<AdmmState> {
    const { shape, inputs, targets, lossSteps } = this.data;
    const st = new AdmmState(shape, inputs, targets, lossSteps, rho, 0);
    await native.forwardAsync({ shape, ...inputs, ...this.weights, A: st.A, S: st.S, O: st.O });
    st.TA.set(st.S);
    this.dualRho = rho;
    this.st = st;
    return st;
  }

  /** XU = U x + b and P = XU + W s_{t-1}, as persistent/blocks.ts's refreshAffine. */
  private async affine(st: AdmmState): Promise<void> {
    const w = this.weights;
    await native.inputProjectionAsync({ shape: st.shape, ...st.inputs, U: w.U, b: w.b, out: st.XU });
    await native.recurrentAffineAsync({ shape: st.shape, XU: st.XU, S: st.S, W: w.W, out: st.P });
  }

  /** Block 1's part: the Gram and right-hand side of a + μ1 on [x_t; s_{t−1}; 1] over this shard. */
  private async inputGram(st: AdmmState): Promise<Float64Array> {
    const { shape, inputs, S, A, M1, P } = st;
    await native.accumulateUWbAsync({ shape, ...inputs, S, A, M1, scratch: P, ...this.uwb.part() });
    return packGram(this.uwb.G, this.uwb.R, this.uwb.m);
  }

  /** Blocks 2 and 3 with the new (U, W, b), then block 4's part. */
  private async statesAndOutputGram(st: AdmmState): Promise<[Record<string, number>, Float64Array]> {
    const w = this.weights,
      rho = st.rho;
    await this.affine(st);
    const { P, M1, S, M2, A, TA } = st;
    const a = await native.aStepAsync({ n: A.length, P, M1, S, M2, A, TA, rho1: rho[0], rho2: rho[1] });
    const s = await native.sStepAsync({
      shape: st.shape,
      A: st.A,
      TA: st.TA,
      M1: st.M1,
      M2: st.M2,
      XU: st.XU,
      O: st.O,
      M3: st.M3,
      W: w.W,
      V: w.V,
      c: w.c,
      S: st.S,
      out: st.P,
      rho1: rho[0],
      rho2: rho[1],
      rho3: rho[2],
    });
    st.S.set(st.P);
    await native.accumulateVcAsync({ shape: st.shape, S: st.S, O: st.O, M3: st.M3, ...this.vc.part() });
    return [{ changeA: a.change, changeS: s.change }, packGram(this.vc.G, this.vc.R, this.vc.m)];
  }

  /**
   * Block 5 with the new (V, c), then block 6 with `scale` (ρ/ρ_next, fused into the ascent as
   * the single-process loop fuses it) beside the true forward pass of this shard's samples.
   */
  private async outputsAndDuals(
    st: AdmmState,
    scale: Triple,
    next: Triple
  ): Promise<[Record<string, number>, Float64Array]> {
    const w = this.weights,
      rho = st.rho;
    const common = { shape: st.shape, S: st.S, V: w.V, c: w.c, M3: st.M3, O: st.O, rho3: rho[2] };
    const changeO =
      st.targets.loss === 'squared-error'
        ? await native.oStepAsync({ ...common, loss: 'squared-error', values: st.targets.values })
        : await native.oStepAsync({ ...common, loss: 'softmax-cross-entropy', labels: st.targets.labels });
    const forwardPass = native.forwardAsync({ shape: st.shape, ...st.inputs, ...w, O: st.forwardOutputs });
    const norms = this.ascend(st, scale).catch(async (e: unknown) => {
      await forwardPass.catch(() => undefined); // never leave the pass writing after a failure
      throw e;
    });
    const [measured] = await Promise.all([norms, forwardPass]);
    this.dualRho = next;
    const auxiliary = summariseLoss(st.O, st.shape.K, st.targets);
    const forward = summariseLoss(st.forwardOutputs, st.shape.K, st.targets);
    const body = new Float64Array(3 * NORM_FIELDS + st.shape.T);
    measured.forEach((n, i) =>
      body.set([n.residualSq, n.leftSq, n.rightSq, n.dualOldSq, n.dualNewSq], i * NORM_FIELDS)
    );
    body.set(measured[0].dualNewSqPerStep!, 3 * NORM_FIELDS);
    const scalars = {
      changeO,
      auxiliarySum: auxiliary.sum,
      auxiliaryCount: auxiliary.count,
      forwardSum: forward.sum,
      forwardCount: forward.count,
      forwardCorrect: forward.correct,
    };
    return [scalars, body];
  }

  /** persistent/blocks.ts's ascendView on a chunk view: tanh a rebuilt, V s + c, the three ascents. */
  private async ascend(st: AdmmState, scale: Triple): Promise<ConstraintNorms[]> {
    const w = this.weights;
    await this.affine(st);
    await native.tanhAsync({ n: st.A.length, A: st.A, out: st.TA });
    await native.readoutAsync({ shape: st.shape, S: st.S, V: w.V, c: w.c, out: st.readout });
    return [
      await ascend(st.A, st.P, st.M1, scale[0], true, { steps: st.shape.T, rowLength: st.shape.h }),
      await ascend(st.S, st.TA, st.M2, scale[1], true),
      await ascend(st.O, st.readout, st.M3, scale[2], true),
    ];
  }
}

/**
 * A shard's life over a transport: answer each publication (the newest one, when several arrived
 * while it worked: bounded staleness skips to it) until a 'stop' publication or `signal` aborts.
 */
export async function runShard(shard: ShardCore, transport: ShardTransport, signal?: AbortSignal): Promise<void> {
  let seen = 0;
  for (;;) {
    const p = await transport.nextPublication(seen, signal);
    seen = p.version;
    if (p.phase === 'stop') return;
    const started = performance.now();
    const answer = await shard.answer(p);
    const scalars = { ...answer.scalars, seconds: (performance.now() - started) / 1000 };
    await transport.contribute({ shard: transport.shard, token: transport.token, ...answer, scalars });
  }
}
