/**
 * The coordinator of a sharded run of a mini-batch mode ('adjoint', 'local-duals', 'sweeps'): one
 * epoch = the shuffled mini-batches of the single-process mode (same generator, same batches), each
 * one round — every shard runs the mode's multiplier step on its slice of the batch and answers
 * with the slice's Grams (mini-batch-shard.ts); the slices are summed in shard order (float64) and
 * the proximally anchored (U, W, b) and (V, c) solves run on the sums — then one 'evaluate' round
 * for the true loss. Synchronous runs have the single-process step safeguard (step-safeguard.ts, the
 * same StepSafeguard driven the same way): the 'batch' answers carry each slice's true loss before
 * the update, a 'loss' round its loss after (batchObjective), and an epoch whose training loss rose
 * is undone and run again. Bounded staleness over batches (ready.ts; a stale answer is a slice of an
 * earlier batch, at most τ batches old) has no safeguard: its update mixes slices of several weight
 * versions, so no objective of one version judges it. The shards hold nothing between batches but
 * their data, so a recovery checkpoint (recovery.ts) is the coordinator's file alone: weights, ρ,
 * the safeguard's state and the epoch count, from which the batch generator is replayed.
 */
import { native, type NativeShape } from '../native';
import { Random, type RandomState } from '../random';
import type { RNN } from '../rnn';
import { epochBatches } from '../training/batches';
import type { ResolvedTrainerOptions } from '../admm/options';
import type { MiniBatchIterationRecord } from '../admm/record';
import { limitStep } from '../admm/resync/engine';
import { type Triple, nextRho } from '../admm/rho';
import { StepSafeguard } from '../admm/step-safeguard';
import { type EpochLoss, GuardedBatches, guardedBatch, guardedEpoch } from '../admm/guarded-batch';
import { weightDecay } from '../admm/persistent/residuals';
import { StepClip } from '../admm/step-clip';
import { copyWeights } from '../training/rollback';
import { type CoordinatorRecovery, awaitReplacement } from './coordinator';
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
  /** The step safeguard and its moves on the weights (options.trainer.safeguard; synchronous runs only). */
  private readonly guarded: GuardedBatches | undefined;
  /** Step clipping (options.trainer.stepClip), as in one process. */
  private readonly clip: StepClip | undefined;

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
    const safeguard = options.trainer.safeguard;
    if (safeguard && options.staleness > 0)
      throw new RangeError('a mini-batch coordinator under bounded staleness (options.staleness > 0) has no safeguard');
    this.guarded = safeguard ? new GuardedBatches(model, new StepSafeguard(safeguard)) : undefined;
    const clip = options.trainer.stepClip;
    this.clip = clip === false ? undefined : new StepClip(clip);
  }

  private get guard(): StepSafeguard | undefined {
    return this.guarded?.guard;
  }

  /**
   * Publishes the weights (and `extra`) for `phase`, and collects the answers the readiness rule
   * takes (at `staleness`, the run's unless given).
   */
  private async exchange(
    phase: string,
    scalars: Record<string, number>,
    extra: ArrayLike<number>,
    signal: AbortSignal | undefined,
    aborted: () => Error,
    staleness = this.options.staleness
  ): Promise<Contribution[]> {
    if (signal?.aborted) throw aborted();
    const lost = await this.transport.lostShards();
    if (lost.length) throw this.transport.lostError(lost);
    const version = ++this.version,
      k = ++this.round,
      w = this.model.weights();
    const body = new Float64Array(weightsLength(w) + extra.length);
    writeWeights(w, body);
    body.set(extra, weightsLength(w));
    await this.transport.publish({ version, iteration: k, phase, scalars, body });
    const shards = this.options.shards;
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
    if (!saved) return recovery.checkpoints.save(this.model, 0, this.rho, this.guard?.snapshot());
    this.restore(saved);
    recovery.onRecovery?.(`continuing from the checkpoint of iteration ${saved.iteration}`);
  }

  /**
   * The run as at checkpoint `saved`: its weights, ρ, safeguard state and epochs, the generator as
   * after that many epochs.
   */
  private restore(saved: CoordinatorState): void {
    const o = this.options.trainer;
    this.model.setWeightsUnchecked(saved.weights);
    this.rho = [...saved.rho];
    this.completed = saved.iteration;
    // A file without the safeguard's state (written by a run without it): the epoch loss is measured afresh.
    this.guard?.restart(saved.safeguard ?? { scale: 1 });
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
        await awaitReplacement(this.transport, recovery, e, signal, aborted);
        this.restore((await recovery.checkpoints.load())!);
        this.abandoned = this.version;
        recovery.onRecovery?.(`rolled back to the checkpoint of iteration ${this.completed}`);
      }
    }
  }

  /** One epoch; on a failure the ρ, generator and safeguard state are put back as they were before it. */
  private async attempt(signal: AbortSignal | undefined, aborted: () => Error): Promise<MiniBatchIterationRecord> {
    const saved = { rho: this.rho, rng: this.rng.getState(), guard: this.guard?.snapshot() };
    try {
      return await this.runEpoch(signal, aborted);
    } catch (e) {
      this.rho = saved.rho;
      this.rng = Random.fromState(saved.rng);
      if (saved.guard) this.guard!.restart(saved.guard);
      throw e;
    }
  }

  private async runEpoch(signal: AbortSignal | undefined, aborted: () => Error): Promise<MiniBatchIterationRecord> {
    const started = performance.now(),
      o = this.options.trainer;
    const rho: Triple = [...this.rho];
    // The epoch rule as one process applies it (resync/run.ts).
    const guard = this.guard;
    const generator = {
      state: () => this.rng.getState(),
      rewind: (s: RandomState) => (this.rng = Random.fromState(s)),
    };
    const { pass, forward } = await guardedEpoch(
      guard,
      this.model,
      generator,
      () => this.pass(rho, signal, aborted),
      () => this.evaluate(signal, aborted)
    );
    this.rho = nextRho(o.rhoPolicy, rho);
    const recovery = this.options.recovery;
    if (recovery && (this.completed + 1) % recovery.every === 0)
      await recovery.checkpoints.save(this.model, this.completed + 1, this.rho, guard?.snapshot());
    this.completed++;
    const seconds = (performance.now() - started) / 1000;
    return {
      kind: 'mini-batch',
      iteration: this.completed,
      loss: forward.loss,
      accuracy: forward.accuracy,
      auxiliaryLoss: pass.auxiliaryLoss,
      rho,
      stepSignal: pass.stepSignal,
      ...(guard ? { safeguard: guard.takeEpoch(rho) } : {}),
      seconds,
      elapsed: seconds,
    };
  }

  /** One pass over the epoch's shuffled batches at the scheduled ρ `rho`. */
  private async pass(rho: Triple, signal: AbortSignal | undefined, aborted: () => Error): Promise<EpochPass> {
    const T = this.shape.T;
    const batches = epochBatches(this.shape.N, this.options.trainer.batchSize, this.rng);
    this.guarded?.startEpoch();
    this.clip?.startEpoch();
    const signalSum = new Float64Array(T);
    let auxSum = 0,
      auxCount = 0;
    for (const batch of batches) {
      // The multiplier step's figures of the batch's last attempt, as one process reports them.
      const parts = await this.batch(batch, rho, signal, aborted);
      const stepSq = new Float64Array(T),
        offset = this.uwb.sum.length + this.vc.sum.length;
      for (const c of parts) {
        for (let t = 0; t < T; t++) stepSq[t] += c.body[offset + t];
        auxSum += c.scalars.auxiliarySum;
        auxCount += c.scalars.auxiliaryCount;
      }
      for (let t = 0; t < T; t++) signalSum[t] += Math.sqrt(stepSq[t]);
    }
    return {
      stepSignal: Array.from(signalSum, (v) => v / batches.length),
      auxiliaryLoss: auxSum / auxCount,
    };
  }

  /** One batch: the update at ρ, through the step safeguard when there is one (as resync/engine.ts). */
  private async batch(
    batch: Int32Array,
    rho: Triple,
    signal: AbortSignal | undefined,
    aborted: () => Error
  ): Promise<Contribution[]> {
    let parts: Contribution[] = [];
    await guardedBatch(
      this.guarded,
      rho,
      async (tried, scale, judged) => {
        const result = await this.update(batch, tried, scale, signal, aborted);
        parts = result.parts;
        const after = judged ? await this.batchObjective(batch, signal, aborted) : NaN;
        return { before: result.before, after };
      },
      () => this.batchObjective(batch, signal, aborted)
    );
    return parts;
  }

  /**
   * One 'batch' round at ρ `rho` and proximal anchor η × `etaScale`, and the weight solves on the
   * slices' summed Grams: the shards' answers, and the batch objective at the weights before.
   */
  private async update(
    batch: Int32Array,
    rho: Triple,
    etaScale: number,
    signal: AbortSignal | undefined,
    aborted: () => Error
  ): Promise<{ parts: Contribution[]; before: number }> {
    const model = this.model,
      o = this.options.trainer;
    const scalars = { rho1: rho[0], rho2: rho[1], rho3: rho[2] };
    const parts = await this.exchange('batch', scalars, batch, signal, aborted);
    const B = batch.length,
      shape = { ...this.shape, N: B };
    this.uwb.reset();
    this.vc.reset();
    const nu = this.uwb.sum.length,
      nv = this.vc.sum.length;
    let lossSum = 0;
    for (const c of parts) {
      this.uwb.addPacked(c.body.subarray(0, nu));
      this.vc.addPacked(c.body.subarray(nu, nu + nv));
      lossSum += c.scalars.lossSum;
    }
    const step = { beta: o.beta * B, eta: o.eta * B * etaScale };
    // Only with the safeguard, whose rounds are synchronous (every slice at these weights).
    const before = this.guarded ? lossSum + weightDecay(model, step.beta) : NaN;
    const { U, W, b } = model;
    const start = this.clip ? copyWeights(model) : undefined;
    const old = o.trustRegion === undefined ? undefined : { U: U.slice(), W: W.slice(), b: b.slice() };
    await native.solveUWbFromGramAsync({ shape, ...this.uwb.rounded(), U, W, b, rho1: rho[0], ...step });
    if (old) limitStep(old, model, o.trustRegion!);
    await native.solveVcFromGramAsync({ shape, ...this.vc.rounded(), V: model.V, c: model.c, rho3: rho[2], ...step });
    if (start) this.clip!.apply(model, start, etaScale);
    return { parts, before };
  }

  /**
   * The batch objective at the model's current weights (whatever the caller set them to: an
   * update's result, a point on the step): one synchronous 'loss' round, in which every shard sums
   * the true loss of its slice of `batch`; the sums are added in shard order in float64, then the
   * weight decay β/2 (‖U‖² + ‖W‖² + ‖V‖²) at β = beta × batch size. Any trial point of the step
   * safeguard is one call.
   */
  async batchObjective(batch: Int32Array, signal: AbortSignal | undefined, aborted: () => Error): Promise<number> {
    const parts = await this.exchange('loss', {}, batch, signal, aborted, 0);
    let lossSum = 0;
    for (const c of parts) lossSum += c.scalars.lossSum;
    return lossSum + weightDecay(this.model, this.options.trainer.beta * batch.length);
  }

  /** The true forward-pass loss over the training set at the model's weights (an 'evaluate' round). */
  private async evaluate(signal: AbortSignal | undefined, aborted: () => Error): Promise<EpochLoss> {
    const evaluated = await this.exchange('evaluate', {}, [], signal, aborted);
    const f = { sum: 0, count: 0, correct: 0 };
    for (const c of evaluated) {
      f.sum += c.scalars.forwardSum;
      f.count += c.scalars.forwardCount;
      f.correct += c.scalars.forwardCorrect;
    }
    return { loss: f.sum / f.count, accuracy: this.options.classification ? f.correct / f.count : NaN };
  }
}

interface EpochPass {
  stepSignal: number[];
  auxiliaryLoss: number;
}
