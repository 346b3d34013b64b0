/**
 * One shard of a mini-batch mode ('adjoint', 'local-duals', 'sweeps'; docs/ALGORITHM.md, "The
 * resynchronised modes"): for each mini-batch the coordinator publishes, the shard takes its slice
 * of the batch (splitRows of the batch, shard order), runs the forward pass and the mode's
 * multiplier step on it (the single-process engine's own, resync/multipliers.ts: per sample), and
 * answers with the slice's Grams of both weight solves; the coordinator sums the slices and solves.
 * It also evaluates the true loss on its contiguous rows of the data set after each epoch. It
 * reads any sample of the data set (the batches are drawn over all of it). For the coordinator's
 * step safeguard, a 'batch' answer carries the slice's summed true loss at the published weights
 * (`lossSum`, before the update), and a 'loss' publication (weights, then a batch) asks for that
 * sum alone at any weights the coordinator publishes: the update's result or another trial point.
 */
import type { LossSteps, TargetLayout } from '../data';
import { summariseLoss } from '../loss';
import { sharedFloats } from '../in-shared-memory';
import { native, type NativeInputs, type NativeShape } from '../native';
import { BatchGatherer } from '../admm/resync/gather';
import { BatchMultipliers, type MultiplierSettings } from '../admm/resync/multipliers';
import { packGram, uwbGram, vcGram } from '../admm/persistent/gram-sum';
import { type WeightViews, emptyWeights, readWeights, weightsLength } from './layout';
import { shardData, splitRows } from './split';
import type { Triple } from '../admm/rho';
import type { ShardCore } from './shard';
import { type Answer, type Publication, answerTo } from './transport';

export interface MiniBatchShardData {
  /** The whole data set's shape, inputs and targets (shared, not copied, on worker threads). */
  shape: NativeShape;
  inputs: NativeInputs;
  targets: TargetLayout;
  lossSteps: LossSteps;
  shards: number;
  batchSize: number;
  /** The mode and its settings of the multiplier step. */
  multipliers: MultiplierSettings;
}

export class MiniBatchShard implements ShardCore {
  private readonly weights: WeightViews;
  private readonly gatherer: BatchGatherer;
  private readonly buffers;
  private readonly multipliers: BatchMultipliers;
  private readonly uwb;
  private readonly vc;
  private readonly L: number;

  constructor(
    readonly index: number,
    readonly data: MiniBatchShardData
  ) {
    const { T, d, h, K } = data.shape;
    this.L = data.shape.everyStep ? T : 1;
    this.weights = emptyWeights(data.shape);
    // The largest slice of a batch this shard can get.
    const B = Math.ceil(Math.min(data.batchSize, data.shape.N) / data.shards),
      n = B * T * h,
      no = B * this.L * K;
    const targetStride = data.targets.loss === 'squared-error' ? this.L * K : this.L;
    this.gatherer = new BatchGatherer(data.inputs, data.targets, data.inputs.x ? T * d : T, targetStride, B);
    this.buffers = {
      A: sharedFloats(n),
      S: sharedFloats(n),
      M1: sharedFloats(n),
      scratch: sharedFloats(n),
      O: sharedFloats(no),
      M3: sharedFloats(no),
    };
    this.multipliers = new BatchMultipliers(data.multipliers, data.shape, B);
    this.uwb = uwbGram(data.shape);
    this.vc = vcGram(data.shape);
  }

  /**
   * Bytes one shard allocates: its slice's buffers and multipliers ('sweeps': a state for each of
   * the up to four slice sizes, of a full and of the last batch); the evaluation's outputs are
   * allocated per epoch.
   */
  static bytesFor(
    data: Pick<MiniBatchShardData, 'shape' | 'batchSize' | 'shards'> & { multipliers: { mode: string } },
    denseInputs: boolean
  ): number {
    const { T, d, h, K } = data.shape,
      L = data.shape.everyStep ? T : 1;
    const B = Math.ceil(Math.min(data.batchSize, data.shape.N) / data.shards);
    const evaluated = Math.ceil(data.shape.N / data.shards) * L * K;
    const multipliers = BatchMultipliers.bytesFor({ ...data.shape, N: B }, data.multipliers.mode, 4);
    return (
      4 * (B * T * (denseInputs ? d : 1) + B * L * K + 4 * B * T * h + 2 * B * L * K + T + evaluated) + multipliers
    );
  }

  async answer(p: Publication): Promise<Answer> {
    readWeights(p.body, this.weights);
    const reply = answerTo(p);
    if (p.phase === 'batch') {
      const rho: Triple = [p.scalars.rho1, p.scalars.rho2, p.scalars.rho3];
      return reply(...(await this.slice(this.sliceOf(p), rho)));
    }
    if (p.phase === 'loss') return reply({ lossSum: await this.sliceLoss(this.sliceOf(p)) }, new Float64Array(0));
    if (p.phase === 'evaluate') return reply(await this.evaluate(), new Float64Array(0));
    throw new RangeError(`mini-batch shard ${this.index}: unknown phase '${p.phase}' in publication ${p.version}`);
  }

  /** This shard's slice of the batch a 'batch' or 'loss' publication carries after the weights. */
  private sliceOf(p: Publication): Int32Array {
    const batch = Int32Array.from(p.body.subarray(weightsLength(this.weights)));
    const [begin, end] = splitRows(batch.length, this.data.shards)[this.index];
    return batch.subarray(begin, end);
  }

  /** Forward pass, the mode's multipliers and the two Grams of this shard's slice of a batch. */
  private async slice(indices: Int32Array, rho: Triple): Promise<[Record<string, number>, Float64Array]> {
    const shape: NativeShape = { ...this.data.shape, N: indices.length },
      T = shape.T;
    const body = new Float64Array(this.uwb.sum.length + this.vc.sum.length + T);
    // An empty slice: a last batch smaller than the shard count.
    if (indices.length === 0) return [{ auxiliarySum: 0, auxiliaryCount: 0, lossSum: 0 }, body];
    const nh = indices.length * T * shape.h,
      no = indices.length * this.L * shape.K;
    const { inputs, targets } = this.gatherer.gather(indices);
    const v = <A extends Float32Array>(a: A, n: number) => a.subarray(0, n) as A;
    const A = v(this.buffers.A, nh),
      S = v(this.buffers.S, nh),
      M1 = v(this.buffers.M1, nh);
    const O = v(this.buffers.O, no),
      M3 = v(this.buffers.M3, no);
    const w = this.weights;
    await native.forwardAsync({ shape, ...inputs, ...w, A, S, O });
    // The true loss before the update: the multiplier step overwrites O with the auxiliary outputs.
    const lossSum = summariseLoss(O, shape.K, targets).sum;
    const regressors = await this.multipliers.estimate({ shape, inputs, targets, A, S, O, M1, M3 }, w, rho);
    const auxiliarySum = summariseLoss(O, shape.K, targets).sum;
    const scratch = v(this.buffers.scratch, nh);
    await native.accumulateUWbAsync({ shape, ...inputs, S: regressors, A, M1, scratch, ...this.uwb.part() });
    const nu = this.uwb.sum.length,
      nv = this.vc.sum.length;
    packGram(this.uwb.G, this.uwb.R, this.uwb.m, body.subarray(0, nu));
    await native.accumulateVcAsync({ shape, S: regressors, O, M3, ...this.vc.part() });
    packGram(this.vc.G, this.vc.R, this.vc.m, body.subarray(nu, nu + nv));
    // The slices' per-step norms combine as a norm of the whole batch: squares, summed by the coordinator.
    const stepNorms = this.multipliers.stepNorms;
    for (let t = 0; t < T; t++) body[nu + nv + t] = stepNorms[t] ** 2;
    return [{ auxiliarySum, auxiliaryCount: indices.length * this.L, lossSum }, body];
  }

  /** The summed true loss of this shard's slice of a batch at the published weights (0 for an empty slice). */
  private async sliceLoss(indices: Int32Array): Promise<number> {
    if (indices.length === 0) return 0;
    const shape: NativeShape = { ...this.data.shape, N: indices.length };
    const { inputs, targets } = this.gatherer.gather(indices);
    const O = this.buffers.O.subarray(0, indices.length * this.L * shape.K);
    await native.forwardAsync({ shape, ...inputs, ...this.weights, O });
    return summariseLoss(O, shape.K, targets).sum;
  }

  /** The true forward-pass loss on this shard's contiguous rows of the data set. */
  private async evaluate(): Promise<Record<string, number>> {
    const { shape, inputs, targets, lossSteps, shards } = this.data;
    const [begin, end] = splitRows(shape.N, shards)[this.index];
    const rows = shardData(shape, inputs, targets, lossSteps, begin, end);
    if (rows.shape.N === 0) return { forwardSum: 0, forwardCount: 0, forwardCorrect: 0 };
    const O = sharedFloats(rows.shape.N * this.L * shape.K);
    await native.forwardAsync({ shape: rows.shape, ...rows.inputs, ...this.weights, O });
    const f = summariseLoss(O, shape.K, rows.targets);
    return { forwardSum: f.sum, forwardCount: f.count, forwardCorrect: f.correct };
  }
}
