/**
 * The coordinator of a sharded run of a mini-batch mode ('adjoint', 'local-duals', 'sweeps'): one
 * epoch = the shuffled mini-batches of the single-process mode (same generator, same batches), each
 * one round — every shard runs the mode's multiplier step on its slice of the batch and answers
 * with the slice's Grams (mini-batch-shard.ts); the slices are summed in shard order (float64) and
 * the proximally anchored (U, W, b) and (V, c) solves run on the sums — then one 'evaluate' round
 * for the true loss. Synchronous, or bounded staleness over batches (ready.ts): a stale answer is a
 * slice of an earlier batch, at most τ batches old. The shards hold nothing between batches but
 * their data, so a recovery checkpoint (recovery.ts) is the coordinator's file alone: weights, ρ
 * and the epoch count, from which the batch generator is replayed.
 */
import { native, type NativeShape } from '../native';
import { Random } from '../random';
import type { RNN } from '../rnn';
import { epochBatches } from '../training/batches';
import type { ResolvedTrainerOptions } from '../admm/options';
import type { MiniBatchIterationRecord } from '../admm/record';
import { limitStep } from '../admm/resync/engine';
import { type Triple, nextRho } from '../admm/rho';
import { type CoordinatorRecovery, lossReason, shardLost } from './coordinator';
import type { CoordinatorState } from './recovery';
import { uwbGram, vcGram } from '../admm/persistent/gram-sum';
import { weightsLength, writeWeights } from './layout';
import { isReady } from './ready';
import type { Contribution, CoordinatorTransport } from './transport';

export interface MiniBatchCoordinatorOptions {
  shards: number;
  staleness: number;
  trainer: Readonly<ResolvedTrainerOptions>;
  classification: boolean;
  /** Recovery checkpoints every `every`-th epoch, and the rollback to the last one when a shard is lost. */
  recovery?: CoordinatorRecovery;
}

export class MiniBatchCoordinator {
  rho: Triple;
  rng: Random;
  /** Epochs completed. */
  completed = 0;
  staleAnswers = 0;
  private version = 0;
  private round = 0;
  /** Answers to publications up to this version belong to abandoned iterates (a rollback, a restart). */
  private abandoned = 0;
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
    const ready = (a: ReadonlyMap<number, Contribution>) => isReady(this.current(a), shards, staleness, k, version);
    const got = await this.transport.collect(k, phase, ready, signal).catch((e: unknown) => {
      if (signal?.aborted) throw aborted();
      throw e;
    });
    this.staleAnswers += got.filter((c) => c.version !== version).length;
    return got;
  }

  /** The answers given since the last rollback or restart (bounded staleness could take older ones). */
  private current(arrived: ReadonlyMap<number, Contribution>): ReadonlyMap<number, Contribution> {
    if ([...arrived.values()].every((c) => c.version > this.abandoned)) return arrived;
    return new Map([...arrived].filter(([, c]) => c.version > this.abandoned));
  }

  /** With recovery: continues from the last committed checkpoint (a new run: writes checkpoint 0 first). */
  async start(): Promise<void> {
    const recovery = this.options.recovery;
    if (!recovery) return;
    this.version = this.abandoned = Math.max(this.version, (await this.transport.lastVersion?.()) ?? 0);
    const saved = await recovery.checkpoints.load();
    if (!saved) return recovery.checkpoints.save(this.model, 0, this.rho);
    this.restore(saved);
    recovery.onRecovery?.(`continuing from the checkpoint of iteration ${saved.iteration}`);
  }

  /** The run as at checkpoint `saved`: its weights, ρ and epochs, the generator as after that many epochs. */
  private restore(saved: CoordinatorState): void {
    const o = this.options.trainer;
    this.model.setWeightsUnchecked(saved.weights);
    this.rho = [...saved.rho];
    this.completed = saved.iteration;
    // Each epoch draws one shuffle of the data set: replayed, the generator is where the run had it.
    this.rng = new Random(o.seed);
    for (let e = 0; e < saved.iteration; e++) epochBatches(this.shape.N, o.batchSize, this.rng);
  }

  /**
   * One epoch. With recovery, a lost shard makes it wait for the replacement, roll back to the
   * last checkpoint and run the epochs since again (synchronous: the same iterate, bit for bit),
   * then finish this one.
   */
  async epoch(signal: AbortSignal | undefined, aborted: () => Error): Promise<MiniBatchIterationRecord> {
    const recovery = this.options.recovery;
    if (!recovery) return this.attempt(signal, aborted);
    const target = this.completed + 1;
    for (;;) {
      try {
        let record: MiniBatchIterationRecord;
        do record = await this.attempt(signal, aborted);
        while (this.completed < target);
        return record;
      } catch (e) {
        if (signal?.aborted) throw aborted();
        if ((e as { code?: unknown }).code !== 'ERR_SHARD_LOST') throw e;
        recovery.onRecovery?.(`${lossReason(e)}; waiting up to ${recovery.replacementMs} ms for replacements`);
        // Not replaced in time: the run fails with this ERR_SHARD_LOST.
        await this.transport.awaitShards!(recovery.replacementMs, signal).catch((lost: unknown) => {
          throw signal?.aborted ? aborted() : lost;
        });
        this.restore((await recovery.checkpoints.load())!);
        this.abandoned = this.version;
        recovery.onRecovery?.(`rolled back to the checkpoint of iteration ${this.completed}`);
      }
    }
  }

  /** One epoch; on a failure the ρ and generator are put back as they were before it. */
  private async attempt(signal: AbortSignal | undefined, aborted: () => Error): Promise<MiniBatchIterationRecord> {
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
    const recovery = this.options.recovery;
    if (recovery && (this.completed + 1) % recovery.every === 0)
      await recovery.checkpoints.save(model, this.completed + 1, this.rho);
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
