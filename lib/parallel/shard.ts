/**
 * One shard of the persistent loop (docs/ALGORITHM.md, "The parallel decomposition"): the
 * auxiliaries a, s, o and duals of its samples, and every block that touches only them — 2 (a),
 * 3 (s), 5 (o), 6 (duals) — plus its parts of the Grams of blocks 1 and 4, and the true-loss
 * safeguard's steps on them (a resync to the forward pass, a rescale of the duals). It runs the very
 * blocks of the single-process loop (lib/admm/persistent/blocks.ts) on its own state, with the
 * published weights in place of the model's, so a synchronous sharded run is the chunked run with
 * one chunk per shard, bit for bit. A shard too large for whole caches sweeps its rows in chunks,
 * as the single-process loop does (automaticChunkSize). It knows nothing of transports: `answer`
 * turns one publication into one contribution, and `runShard` loops over any ShardTransport.
 */
import type { LossSteps, TargetLayout } from '../data';
import { type LossSummary, summariseLoss } from '../loss';
import { native, type NativeInputs, type NativeShape } from '../native';
import { automaticChunkSize } from '../admm/options';
import {
  type BlockConfig,
  ascendDuals,
  inputGram,
  outputGram,
  rescaleDuals,
  sweepOutputs,
  sweepStates,
} from '../admm/persistent/blocks';
import { resynchronise, scaleRho } from '../admm/persistent/safeguard';
import { walkDuals } from '../admm/persistent/dual-walk';
import type { Triple } from '../admm/rho';
import { applySnapshot, takeSnapshot } from '../admm/persistent/snapshot';
import type { AdmmStateSnapshot } from '../admm/snapshot';
import { AdmmState } from '../admm/persistent/state';
import { checkInteger } from '../validate';
import { type WeightViews, emptyWeights, readWeights } from './layout';
import { type Answer, type Publication, type ShardTransport, answerTo } from './transport';

/** What a shard needs to start: its samples (rows of the data set, contiguous) and the loss layout. */
export interface ShardData {
  /** The shard's shape: N is its number of sequences. */
  shape: NativeShape;
  inputs: NativeInputs;
  targets: TargetLayout;
  lossSteps: LossSteps;
  /** Sequences per chunk of the shard's sweeps; default: as the single-process loop chunks N (automaticChunkSize). */
  chunkRows?: number;
}

/** What a shard of any mode does with a publication (PersistentShard, MiniBatchShard). */
export interface ShardCore {
  answer(p: Publication): Promise<Answer>;
}

/**
 * Values of a 'duals' contribution's body: 5 norms per constraint, then ‖μ1_t‖² per step, then
 * (when the publication asks for it with scalar `prefetch` = 1) the next iteration's block-1 Gram.
 */
export const NORM_FIELDS = 5;

/** The sharded loop runs the exact update only (options.parallel refuses 'linearized'). */
const EXACT: BlockConfig = { linearized: false };

export class PersistentShard implements ShardCore {
  private st: AdmmState | undefined;
  private readonly weights: WeightViews;
  /** The ρ the shard's scaled duals are scaled for (a publication at another ρ rescales them first). */
  private dualRho: Triple = [1, 1, 1];

  constructor(
    readonly index: number,
    readonly data: ShardData
  ) {
    if (data.chunkRows !== undefined) checkInteger('data.chunkRows', data.chunkRows, 1);
    this.weights = emptyWeights(data.shape);
  }

  get sequences(): number {
    return this.data.shape.N;
  }

  /** Sequences per chunk of the sweeps of a shard of this shape (its N: whole), as the single-process loop chooses. */
  static chunkRows(shape: NativeShape): number {
    return automaticChunkSize(shape.N, shape.T, shape.h) ?? shape.N;
  }

  /** Bytes of the state of a shard of this shape (allocated at its first publication). */
  static bytesFor(shape: NativeShape): number {
    return AdmmState.bytesFor(shape, PersistentShard.chunkRows(shape), true);
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
    const st = this.newState([1, 1, 1]);
    applySnapshot(st, snapshot);
    this.dualRho = [...st.rho];
    this.st = st;
  }

  /** Runs the publication's phase on this shard's samples; its contribution, without shard and token. */
  async answer(p: Publication): Promise<Answer> {
    const rho: Triple = [p.scalars.rho1, p.scalars.rho2, p.scalars.rho3];
    readWeights(p.body, this.weights);
    const fresh = this.st === undefined;
    const st = this.st ?? (await this.start(rho));
    // The caches XU, P and tanh a were built with the weights of an earlier publication (or none).
    st.xuFresh = st.pFresh = st.taFresh = false;
    const scale = rho.map((r, i) => this.dualRho[i] / r) as Triple;
    if (scale.some((f) => f !== 1)) await rescaleDuals(st, scale);
    this.dualRho = rho;
    st.rho = rho;
    const reply = answerTo(p);
    switch (p.phase) {
      case 'uwb': {
        // The safeguard's reference at the run's start: o is the forward pass of these weights.
        const start = p.scalars.startLoss === 1 ? forwardScalars(summariseLoss(st.O, st.shape.K, st.targets)) : {};
        // A run's first publication asks fresh shards for the dual walk (a restored shard has its duals).
        if (fresh && p.scalars.walk !== undefined) await this.walk(st, p);
        return reply(start, (await inputGram(st)).sum.slice());
      }
      case 'vc': {
        const [changeA, changeS] = await sweepStates(st, this.weights, EXACT);
        return reply({ changeA, changeS }, (await outputGram(st)).sum.slice());
      }
      case 'duals': {
        const next: Triple = [p.scalars.next1, p.scalars.next2, p.scalars.next3];
        const [scalars, norms] = await this.outputsAndDuals(st, rho.map((r, i) => r / next[i]) as Triple, next);
        if (p.scalars.prefetch !== 1) return reply(scalars, norms);
        // Block 1 of the next iteration reads only a, s and μ1, final now that the ascent has
        // rescaled μ to the next ρ: its Gram rides on this answer, saving a round.
        const gram = (await inputGram(st)).sum;
        const body = new Float64Array(norms.length + gram.length);
        body.set(norms);
        body.set(gram, norms.length);
        return reply(scalars, body);
      }
      case 'safeguard': {
        const factor = p.scalars.factor;
        if (!(factor > 0 && factor < Infinity))
          throw new RangeError(`shard ${this.index}: publication ${p.version} has a safeguard factor of ${factor}`);
        return reply(...(await this.applyVerdict(st, factor, p.scalars.resync === 1, p)));
      }
      default:
        throw new RangeError(`shard ${this.index}: unknown phase '${p.phase}' in publication ${p.version}`);
    }
  }

  /**
   * The coordinator's safeguard verdict on the iteration just run (persistent/safeguard.ts, the
   * single-process loop's steps in its order): a rejected one resynchronises a, s, o to the
   * published (previous) weights; then the scaled duals are divided by `factor` and ρ multiplied.
   * With scalar `walk`, the dual walk is due after the iteration (options.dualWalk.every): a, s, o
   * back to the forward pass of the published weights and fresh duals from there, as the
   * single-process loop does after its verdict. Answers the next iteration's block-1 Gram, and
   * after a rejection the true loss of its rows.
   */
  private async applyVerdict(
    st: AdmmState,
    factor: number,
    resync: boolean,
    p: Publication
  ): Promise<[Record<string, number>, Float64Array]> {
    if (resync) await resynchronise(st, this.weights);
    // st.rho is this publication's ρ (answer() set both): the duals follow ρ's new scale.
    await scaleRho(st, factor);
    this.dualRho = st.rho;
    const scalars = resync ? forwardScalars(summariseLoss(st.O, st.shape.K, st.targets)) : {};
    if (p.scalars.walk !== undefined) {
      await resynchronise(st, this.weights);
      await this.walk(st, p);
    }
    return [scalars, (await inputGram(st)).sum.slice()];
  }

  /** The local dual walk on this shard's rows (dual-walk.ts), with the publication's settings. */
  private async walk(st: AdmmState, p: Publication): Promise<void> {
    const { walk: scale, walkSweeps: sweeps, walkGamma: gamma } = p.scalars;
    const bad = (what: string, v: unknown) =>
      new RangeError(`shard ${this.index}: publication ${p.version} has a walk ${what} of ${v}`);
    if (!(scale > 0 && scale < Infinity)) throw bad('scale', scale);
    if (!(Number.isInteger(sweeps) && sweeps >= 1 && sweeps <= 1000)) throw bad('sweeps', sweeps);
    if (!(gamma > 0 && gamma < Infinity)) throw bad('gamma', gamma);
    await walkDuals(st, this.weights, scale, { sweeps, gamma });
  }

  /** The shard's state at ρ, chunked as the single-process loop would chunk these rows, with the weight Grams. */
  private newState(rho: Triple): AdmmState {
    const { shape, inputs, targets, lossSteps } = this.data;
    const sweep = { chunkSize: this.data.chunkRows ?? PersistentShard.chunkRows(shape), weightGrams: true };
    return new AdmmState(shape, inputs, targets, lossSteps, rho, 0, sweep);
  }

  /** Auxiliaries from one forward pass with the first publication's weights; duals zero. */
  private async start(rho: Triple): Promise<AdmmState> {
    const st = this.newState(rho);
    await resynchronise(st, this.weights);
    this.dualRho = rho;
    this.st = st;
    return st;
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
    const w = this.weights;
    const changeO = await sweepOutputs(st, w);
    const forwardPass = native.forwardAsync({ shape: st.shape, ...st.inputs, ...w, O: st.forwardOutputs });
    const norms = ascendDuals(st, w, scale, true).catch(async (e: unknown) => {
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
      ...forwardScalars(forward),
    };
    return [scalars, body];
  }
}

/** A loss summary of the shard's rows as the scalars the coordinator sums (in shard order) into the true loss. */
function forwardScalars(s: LossSummary): Record<string, number> {
  return { forwardSum: s.sum, forwardCount: s.count, forwardCorrect: s.correct };
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
