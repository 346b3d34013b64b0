/**
 * The coordinator of a sharded run of a mini-batch mode ('adjoint', 'local-duals', 'sweeps'): one
 * epoch = the shuffled mini-batches of the single-process mode (same generator, same batches), each
 * one round — every shard runs the mode's multiplier step on its slice of the batch and answers
 * with the slice's Grams (mini-batch-shard.ts); the slices are summed in shard order (float64) and
 * the proximally anchored (U, W, b) and (V, c) solves run on the sums — then one 'evaluate' round
 * for the true loss. Synchronous, or bounded staleness over batches (ready.ts): a stale answer is a
 * slice of an earlier batch, at most τ batches old.
 */
import { native, type NativeShape } from '../native';
import { Random } from '../random';
import type { RNN } from '../rnn';
import { epochBatches } from '../training/batches';
import type { ResolvedTrainerOptions } from '../admm/options';
import type { MiniBatchIterationRecord } from '../admm/record';
import { limitStep } from '../admm/resync/engine';
import { type Triple, nextRho } from '../admm/rho';
import { shardLost } from './coordinator';
import { uwbGram, vcGram } from '../admm/persistent/gram-sum';
import { weightsLength, writeWeights } from './layout';
import { isReady } from './ready';
import type { Contribution, CoordinatorTransport } from './transport';

export interface MiniBatchCoordinatorOptions {
  shards: number;
  staleness: number;
  trainer: Readonly<ResolvedTrainerOptions>;
  classification: boolean;
}

export class MiniBatchCoordinator {
  rho: Triple;
  rng: Random;
  /** Epochs completed. */
  completed = 0;
  staleAnswers = 0;
  private version = 0;
  private round = 0;
  private readonly uwb;
  private readonly vc;

  constructor(
    private readonly model: RNN,
    private readonly shape: NativeShape,
    private readonly transport: CoordinatorTransport,
    private readonly options: MiniBatchCoordinatorOptions
  ) {
    this.rho = [...options.trainer.rho];
    this.rng = new Random(options.trainer.seed);
    this.uwb = uwbGram(shape);
    this.vc = vcGram(shape);
  }

  /** Publishes the weights (and `extra`) for `phase`, and collects the answers the readiness rule takes. */
  private async exchange(
    phase: string,
    scalars: Record<string, number>,
    extra: ArrayLike<number>,
    signal: AbortSignal | undefined,
    aborted: () => Error
  ): Promise<Contribution[]> {
    if (signal?.aborted) throw aborted();
    const lost = await this.transport.lostShards();
    if (lost.length) throw shardLost(lost, 'its thread or process is gone');
    const version = ++this.version,
      k = ++this.round,
      w = this.model.weights();
    const body = new Float64Array(weightsLength(w) + extra.length);
    writeWeights(w, body);
    body.set(extra, weightsLength(w));
    await this.transport.publish({ version, iteration: k, phase, scalars, body });
    const { shards, staleness } = this.options;
    const ready = (a: ReadonlyMap<number, Contribution>) => isReady(a, shards, staleness, k, version);
    const got = await this.transport.collect(k, phase, ready, signal).catch((e: unknown) => {
      if (signal?.aborted) throw aborted();
      throw e;
    });
    this.staleAnswers += got.filter((c) => c.version !== version).length;
    return got;
  }

  /** One epoch; on a failure the ρ and generator are put back as they were before it. */
  async epoch(signal: AbortSignal | undefined, aborted: () => Error): Promise<MiniBatchIterationRecord> {
    const saved = { rho: this.rho, rng: this.rng.getState() };
    try {
      return await this.runEpoch(signal, aborted);
    } catch (e) {
      this.rho = saved.rho;
      this.rng = Random.fromState(saved.rng);
      throw e;
    }
  }

  private async runEpoch(signal: AbortSignal | undefined, aborted: () => Error): Promise<MiniBatchIterationRecord> {
    const started = performance.now(),
      model = this.model,
      o = this.options.trainer,
      T = this.shape.T;
    const rho: Triple = [...this.rho];
    const batches = epochBatches(this.shape.N, o.batchSize, this.rng);
    const signalSum = new Float64Array(T);
    let auxSum = 0,
      auxCount = 0;
    for (const batch of batches) {
      const scalars = { rho1: rho[0], rho2: rho[1], rho3: rho[2] };
      const parts = await this.exchange('batch', scalars, batch, signal, aborted);
      const B = batch.length,
        shape = { ...this.shape, N: B };
      this.uwb.reset();
      this.vc.reset();
      const stepSq = new Float64Array(T),
        nu = this.uwb.sum.length,
        nv = this.vc.sum.length;
      for (const c of parts) {
        this.uwb.addPacked(c.body.subarray(0, nu));
        this.vc.addPacked(c.body.subarray(nu, nu + nv));
        for (let t = 0; t < T; t++) stepSq[t] += c.body[nu + nv + t];
        auxSum += c.scalars.auxiliarySum;
        auxCount += c.scalars.auxiliaryCount;
      }
      const { U, W, b } = model,
        step = { beta: o.beta * B, eta: o.eta * B };
      const before = o.trustRegion === undefined ? undefined : { U: U.slice(), W: W.slice(), b: b.slice() };
      await native.solveUWbFromGramAsync({ shape, ...this.uwb.rounded(), U, W, b, rho1: rho[0], ...step });
      if (before) limitStep(before, model, o.trustRegion!);
      await native.solveVcFromGramAsync({ shape, ...this.vc.rounded(), V: model.V, c: model.c, rho3: rho[2], ...step });
      for (let t = 0; t < T; t++) signalSum[t] += Math.sqrt(stepSq[t]);
    }
    this.rho = nextRho(o.rhoPolicy, rho);
    const evaluated = await this.exchange('evaluate', {}, [], signal, aborted);
    const f = { sum: 0, count: 0, correct: 0 };
    for (const c of evaluated) {
      f.sum += c.scalars.forwardSum;
      f.count += c.scalars.forwardCount;
      f.correct += c.scalars.forwardCorrect;
    }
    this.completed++;
    const seconds = (performance.now() - started) / 1000;
    return {
      kind: 'mini-batch',
      iteration: this.completed,
      loss: f.sum / f.count,
      accuracy: this.options.classification ? f.correct / f.count : NaN,
      auxiliaryLoss: auxSum / auxCount,
      rho,
      stepSignal: Array.from(signalSum, (v) => v / batches.length),
      seconds,
      elapsed: seconds,
    };
  }
}
