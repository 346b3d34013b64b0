/**
 * The coordinator of a sharded persistent loop (docs/ALGORITHM.md, "The parallel decomposition").
 * Per iteration, rounds over any CoordinatorTransport:
 *   'uwb'   shards send their block-1 Grams → Σ in shard order (float64) → solve (U, W, b);
 *   'vc'    shards run blocks 2, 3 with the new (U, W, b), send their block-4 Grams → solve (V, c);
 *   'duals' shards run blocks 5, 6 and their true forward pass, send norms and losses →
 *           ρ policy, residuals, Lagrangian, the iteration record.
 * When ρ follows a schedule (known before the residuals), the 'duals' answers also carry the next
 * iteration's block-1 Grams, so every iteration after the first takes two rounds.
 * With the true-loss safeguard (synchronous runs; persistent/safeguard.ts), the coordinator judges
 * the summed true loss as one process does; when the verdict changes the shards' state (a rejected
 * iteration, a change of the factor on ρ) or a recovery checkpoint is due, a 'safeguard' round
 * tells them (weights: the previous ones after a rejection; `resync`, `factor`), and its answers
 * carry the next block-1 Grams.
 * Synchronous (staleness 0): each round waits for every shard's answer to this very publication,
 * so the iterate is the chunked sweep's with one chunk per shard, bit for bit. Bounded staleness
 * τ > 0: a round proceeds once at least one shard answered this publication and every shard's
 * latest answer is at most τ iterations old; the others' latest answers stand in for theirs.
 */
import { AdmmError } from '../errors';
import { native, type NativeShape } from '../native';
import type { RNN } from '../rnn';
import type { TrainingLayout } from '../training/layout';
import type { ConstraintNorms } from '../admm/ascent/ascend';
import { assembleLagrangian, weightDecay } from '../admm/persistent/residuals';
import type { ResolvedTrainerOptions } from '../admm/options';
import type { PersistentIterationRecord } from '../admm/record';
import { type Triple, nextRho, rhoIsScheduled } from '../admm/rho';
import { uwbGram, vcGram } from '../admm/persistent/gram-sum';
import { type PersistentGuardState, guardedRecord, judgeIteration, rhoBounds } from '../admm/persistent/safeguard';
import type { SafeguardSettings } from '../admm/step-safeguard';
import { type WeightCopy, copyWeights } from '../training/rollback';
import { writeWeights } from './layout';
import { type CoordinatorCheckpoints, guardSnapshot } from './recovery';
import { isReady } from './ready';
import { NORM_FIELDS } from './shard';
import { walksAfter } from '../admm/persistent/dual-walk';
import type { Contribution, CoordinatorTransport } from './transport';

export interface CoordinatorOptions {
  shards: number;
  /** 0: synchronous; τ > 0: bounded staleness of τ iterations. */
  staleness: number;
  rho: Triple;
  rhoPolicy: ResolvedTrainerOptions['rhoPolicy'];
  /** β of the whole data set (options.beta × N). */
  beta: number;
  classification: boolean;
  /** The true-loss safeguard (synchronous runs only); absent or false: none. */
  safeguard?: SafeguardSettings | false;
  /** The dual walk (options.dualWalk with the walk's localSweeps and gamma; synchronous runs only); absent: none. */
  walk?: { scale: number; every: number; sweeps: number; gamma: number };
  /** Called after every `every`-th iteration, before the record is returned (a checkpoint's cadence). */
  checkpoint?: { every: number; save: (iteration: number) => Promise<void> };
  /** Recovery checkpoints, and the rollback to the last one when a shard is lost (recovery.ts). */
  recovery?: CoordinatorRecovery;
}

/** How a run with recovery checkpoints and rolls back. */
export interface CoordinatorRecovery {
  /** Cadence: every `every`-th iteration. */
  every: number;
  checkpoints: CoordinatorCheckpoints;
  /** How long to wait for a lost shard's replacement (ms) before failing with ERR_SHARD_LOST. */
  replacementMs: number;
  /** Told of each loss and rollback (the CLI logs them). */
  onRecovery?: (message: string) => void;
}

/** A persistent run's coordinator settings from the trainer's options (β of the whole data set). */
export function coordinatorOptions(
  options: Pick<
    ResolvedTrainerOptions,
    'rho' | 'rhoPolicy' | 'beta' | 'safeguard' | 'dualWalk' | 'localSweeps' | 'gamma'
  >,
  layout: Pick<TrainingLayout, 'shape' | 'loss'>,
  shards: number,
  staleness: number
): CoordinatorOptions {
  const { rho, rhoPolicy, dualWalk } = options;
  const classification = layout.loss === 'softmax-cross-entropy';
  // Bounded staleness has no loss of one weight version to judge, nor one point for every shard
  // to walk from (options.ts refuses both there).
  const safeguard = staleness > 0 ? false : options.safeguard;
  const walk =
    dualWalk && staleness === 0 ? { ...dualWalk, sweeps: options.localSweeps, gamma: options.gamma } : undefined;
  return {
    shards,
    staleness,
    rho,
    rhoPolicy,
    beta: options.beta * layout.shape.N,
    classification,
    safeguard,
    ...(walk && { walk }),
  };
}

/**
 * Seconds per round: from publishing to the last answer needed (`wait`), of which the slowest
 * shard computed `shard` (the rest is transport and waiting), then the coordinator's own work.
 */
export interface RoundTime {
  wait: number;
  shard: number;
  solve: number;
}
export interface RoundTimes {
  uwb: RoundTime;
  vc: RoundTime;
  duals: RoundTime;
  /** Zero in an iteration without a 'safeguard' round. */
  safeguard: RoundTime;
}

export function shardLost(shards: readonly number[], why: string): AdmmError {
  const which = `shard${shards.length > 1 ? 's' : ''} ${shards.join(', ')}`;
  return new AdmmError(`parallel run: ${which} lost (${why}); the run cannot continue`, 'ERR_SHARD_LOST');
}

/** The true loss (and accuracy) of the data from the shards' loss sums, added in shard order. */
function trueLoss(parts: readonly Contribution[], classification: boolean): { loss: number; accuracy: number } {
  let sum = 0,
    count = 0,
    correct = 0;
  for (const c of parts) {
    sum += c.scalars.forwardSum;
    count += c.scalars.forwardCount;
    correct += c.scalars.forwardCorrect;
  }
  return { loss: sum / count, accuracy: classification ? correct / count : NaN };
}

/** An ERR_SHARD_LOST's message without its verdict, for a recovery that does continue. */
export const lossReason = (e: unknown) => (e as Error).message.replace(/; the run cannot continue$/, '');

/**
 * After `lost` (an ERR_SHARD_LOST) in a run with recovery: tells onRecovery and waits for the
 * replacements. Not replaced in time, the run fails with the transport's ERR_SHARD_LOST; an abort
 * meanwhile throws `aborted()`.
 */
export async function awaitReplacement(
  transport: CoordinatorTransport,
  recovery: CoordinatorRecovery,
  lost: unknown,
  signal: AbortSignal | undefined,
  aborted: () => Error
): Promise<void> {
  recovery.onRecovery?.(`${lossReason(lost)}; waiting up to ${recovery.replacementMs} ms for replacements`);
  await transport.awaitShards!(recovery.replacementMs, signal).catch((e: unknown) => {
    throw signal?.aborted ? aborted() : e;
  });
}

export class ParallelCoordinator {
  rho: Triple;
  /** Iterations completed. */
  completed = 0;
  private version = 0;
  private readonly uwb;
  private readonly vc;
  /** The next iteration's block-1 Grams, from the last 'duals' round (scheduled ρ only). */
  private prefetched: Float64Array[] | undefined;
  /** The iteration of the last committed recovery checkpoint. */
  private committed = 0;
  /** The version of the last rollback's publication (0: none). */
  private rollbackVersion = 0;
  /** With recovery: each shard's incarnation that acknowledged the last rollback. */
  private tokens: string[] | undefined;
  /** The true-loss safeguard's factor on ρ and last accepted loss (in recovery checkpoints). */
  guard: PersistentGuardState = { scale: 1, loss: undefined };
  /** Answers used that did not answer the publication of their round (bounded staleness), over the run. */
  staleAnswers = 0;
  /** Per-round times of the last iteration. */
  times: RoundTimes = {
    uwb: { wait: 0, shard: 0, solve: 0 },
    vc: { wait: 0, shard: 0, solve: 0 },
    duals: { wait: 0, shard: 0, solve: 0 },
    safeguard: { wait: 0, shard: 0, solve: 0 },
  };

  constructor(
    private readonly model: RNN,
    private readonly shape: NativeShape,
    private readonly transport: CoordinatorTransport,
    private readonly options: CoordinatorOptions
  ) {
    // Bounded staleness has no loss of one weight version for it to judge.
    if (options.safeguard && options.staleness > 0)
      throw new RangeError('a coordinator under bounded staleness (options.staleness > 0) has no safeguard');
    this.rho = [...options.rho];
    this.uwb = uwbGram(shape);
    this.vc = vcGram(shape);
  }

  /**
   * With recovery: rolls the shards back to the last committed checkpoint (a new run: writes
   * checkpoint 0 first), so every shard starts from the file checkpoint, never from whatever it held.
   */
  async start(signal?: AbortSignal): Promise<void> {
    const recovery = this.options.recovery;
    if (!recovery) return;
    this.version = Math.max(this.version, (await this.transport.lastVersion?.()) ?? 0);
    const saved = await recovery.checkpoints.load();
    if (!saved) await recovery.checkpoints.save(this.model, 0, this.rho, guardSnapshot(this.guard));
    else recovery.onRecovery?.(`continuing from the checkpoint of iteration ${saved.iteration}`);
    for (;;) {
      try {
        return await this.rollBack(signal);
      } catch (e) {
        // A shard lost before the run even started: its replacement is waited for as in a round.
        if ((e as { code?: unknown }).code !== 'ERR_SHARD_LOST' || signal?.aborted) throw e;
        recovery.onRecovery?.(`${lossReason(e)}; waiting`);
        await this.transport.awaitShards!(recovery.replacementMs, signal);
      }
    }
  }

  /**
   * Every shard back to the committed checkpoint k (its file; k = 0: afresh), the weights and ρ
   * back to the coordinator's file. Afterwards every answer must come from the incarnations that
   * acknowledged it: a shard replaced since is a lost shard.
   */
  private async rollBack(signal: AbortSignal | undefined): Promise<void> {
    const saved = (await this.options.recovery!.checkpoints.load())!;
    this.model.setWeightsUnchecked(saved.weights);
    this.rho = [...saved.rho];
    this.guard = { scale: saved.safeguard?.scale ?? 1, loss: saved.safeguard?.epochLoss };
    this.completed = this.committed = saved.iteration;
    this.prefetched = undefined;
    const version = ++this.version,
      k = saved.iteration;
    await this.transport.publish({
      version,
      iteration: k,
      phase: 'restore',
      scalars: {},
      body: writeWeights(saved.weights),
    });
    const S = this.options.shards;
    const all = (arrived: ReadonlyMap<number, Contribution>) =>
      arrived.size === S && [...arrived.values()].every((c) => c.version === version);
    const acks = await this.transport.collect(k, 'restore', all, signal);
    this.tokens = acks.map((c) => c.token);
    this.rollbackVersion = version;
  }

  /** Answers given since the last rollback: under bounded staleness an older one belongs to the abandoned iterates. */
  private sinceRollback(arrived: ReadonlyMap<number, Contribution>): ReadonlyMap<number, Contribution> {
    if ([...arrived.values()].every((c) => c.version > this.rollbackVersion)) return arrived;
    return new Map([...arrived].filter(([, c]) => c.version > this.rollbackVersion));
  }

  /**
   * One iteration; throws `aborted()` if `signal` aborts while it waits for shards. With recovery,
   * a lost shard makes it wait for the replacement, roll back to the last checkpoint and run the
   * iterations since again (deterministic: the same iterate, bit for bit), then finish this one.
   */
  async iteration(signal: AbortSignal | undefined, aborted: () => Error): Promise<PersistentIterationRecord> {
    const recovery = this.options.recovery;
    if (!recovery) return this.step(signal, aborted);
    const target = this.completed + 1;
    let lost: unknown;
    for (;;) {
      if (lost !== undefined) await awaitReplacement(this.transport, recovery, lost, signal, aborted);
      try {
        if (lost !== undefined) {
          await this.rollBack(signal);
          recovery.onRecovery?.(`rolled back to the checkpoint of iteration ${this.completed}`);
          lost = undefined;
        }
        let record: PersistentIterationRecord;
        do record = await this.step(signal, aborted);
        while (this.completed < target);
        return record;
      } catch (e) {
        if (signal?.aborted) throw aborted();
        if ((e as { code?: unknown }).code !== 'ERR_SHARD_LOST') throw e;
        lost = e;
      }
    }
  }

  private async step(signal: AbortSignal | undefined, aborted: () => Error): Promise<PersistentIterationRecord> {
    // Before any work: with prefetched Grams block 1 is solved before the first round, and an
    // abort at that round would leave the new (U, W, b) for the retried iteration to start from.
    if (signal?.aborted) throw aborted();
    const started = performance.now(),
      model = this.model,
      rho: Triple = [...this.rho],
      k = this.completed + 1;
    const guarded = this.options.safeguard ? copyWeights(model) : undefined;
    const rhoScalars = { rho1: rho[0], rho2: rho[1], rho3: rho[2] };
    /** One round; an unabortable one (the safeguard's verdict, taken: applied whole) ignores `signal`. */
    const round = async (phase: keyof RoundTimes, scalars: Record<string, number>, abortable = true) => {
      const live = abortable ? signal : undefined;
      if (live?.aborted) throw aborted();
      const lost = await this.transport.lostShards();
      if (lost.length) throw this.transport.lostError(lost);
      const version = ++this.version;
      const t0 = performance.now();
      await this.transport.publish({ version, iteration: k, phase, scalars, body: writeWeights(model.weights()) });
      const { shards, staleness } = this.options;
      const ready = (arrived: ReadonlyMap<number, Contribution>) =>
        isReady(this.sinceRollback(arrived), shards, staleness, k, version);
      const got = await this.transport.collect(k, phase, ready, live).catch((e: unknown) => {
        if (live?.aborted) throw aborted();
        throw e;
      });
      const replaced = got.filter((c) => this.tokens && c.token !== this.tokens[c.shard]).map((c) => c.shard);
      if (replaced.length) throw shardLost(replaced, 'replaced by a new incarnation');
      this.times[phase].wait = (performance.now() - t0) / 1000;
      const fresh = got.filter((c) => c.version === version);
      this.times[phase].shard = Math.max(0, ...fresh.map((c) => c.scalars.seconds ?? 0));
      this.staleAnswers += got.filter((c) => c.version !== version).length;
      return got;
    };
    const timed = async <T>(phase: keyof RoundTimes, work: () => Promise<T>) => {
      const t0 = performance.now();
      const r = await work();
      this.times[phase].solve = (performance.now() - t0) / 1000;
      return r;
    };

    // Block 1. The safeguard's reference at the start: the shards' o is their rows' forward pass.
    const startLoss = guarded !== undefined && this.guard.loss === undefined;
    const prefetched = startLoss ? undefined : this.prefetched;
    this.prefetched = undefined;
    // The dual walk: fresh shards walk on the run's first publication (a rollback to checkpoint 0
    // starts them afresh); after iteration k when k is a multiple of `every`, in the verdict's round.
    const walk = this.options.walk;
    const walkScalars = walk && { walk: walk.scale, walkSweeps: walk.sweeps, walkGamma: walk.gamma };
    const walkDue = walksAfter(walk, k);
    const uwbScalars = {
      ...rhoScalars,
      ...(startLoss && { startLoss: 1 }),
      ...(this.completed === 0 && walkScalars),
    };
    const uwbRound = prefetched ? undefined : await round('uwb', uwbScalars);
    if (startLoss) this.guard.loss = trueLoss(uwbRound!, this.options.classification).loss;
    const uwbParts = prefetched ?? uwbRound!.map((c) => c.body);
    if (prefetched) this.times.uwb.wait = this.times.uwb.shard = 0;
    this.times.safeguard = { wait: 0, shard: 0, solve: 0 };
    await timed('uwb', async () => {
      this.uwb.reset();
      for (const part of uwbParts) this.uwb.addPacked(part);
      const { U, W, b } = model,
        beta = this.options.beta;
      await native.solveUWbFromGramAsync({ shape: this.shape, ...this.uwb.rounded(), U, W, b, rho1: rho[0], beta });
    });
    // Blocks 2, 3 on the shards; block 4.
    const vcParts = await round('vc', rhoScalars);
    const change: Triple = [0, 0, 0];
    await timed('vc', async () => {
      this.vc.reset();
      for (const c of vcParts) {
        this.vc.addPacked(c.body);
        change[0] += c.scalars.changeA;
        change[1] += c.scalars.changeS;
      }
      const { V, c } = model,
        beta = this.options.beta;
      await native.solveVcFromGramAsync({ shape: this.shape, ...this.vc.rounded(), V, c, rho3: rho[2], beta });
    });
    // Blocks 5, 6 on the shards, with the scheduled ρ's rescale fused into their ascent.
    const policy = this.options.rhoPolicy,
      scheduled = rhoIsScheduled(policy);
    let next = scheduled ? nextRho(policy, rho) : rho;
    const prefetch = scheduled ? 1 : 0;
    const recovery = this.options.recovery,
      due = recovery !== undefined && k % recovery.every === 0;
    // A due checkpoint: each shard writes its file before it answers, and drops files before `committed`
    // (with the safeguard or a due walk: in the 'safeguard' round, after the verdict and the walk).
    const save: Record<string, number> = due ? { checkpoint: 1, committed: this.committed } : {};
    const lastRound = guarded !== undefined || walkDue;
    const nextScalars = { next1: next[0], next2: next[1], next3: next[2], prefetch, ...(lastRound ? {} : save) };
    const dualParts = await round('duals', { ...rhoScalars, ...nextScalars });
    const t0 = performance.now();
    const sums = { changeO: 0, auxiliarySum: 0, auxiliaryCount: 0 };
    const zero = (): ConstraintNorms => ({ residualSq: 0, leftSq: 0, rightSq: 0, dualOldSq: 0, dualNewSq: 0 });
    const norms = [zero(), zero(), zero()];
    const perStep = new Float64Array(this.shape.T);
    for (const c of dualParts) {
      for (const key of Object.keys(sums) as (keyof typeof sums)[]) sums[key] += c.scalars[key];
      norms.forEach((n, i) => {
        const at = i * NORM_FIELDS;
        n.residualSq += c.body[at];
        n.leftSq += c.body[at + 1];
        n.rightSq += c.body[at + 2];
        n.dualOldSq += c.body[at + 3];
        n.dualNewSq += c.body[at + 4];
      });
      for (let t = 0; t < perStep.length; t++) perStep[t] += c.body[3 * NORM_FIELDS + t];
    }
    change[2] = sums.changeO;
    const lagrangian = assembleLagrangian(sums.auxiliarySum, weightDecay(model, this.options.beta), rho, norms);
    const primal = norms.map((n) => Math.sqrt(n.residualSq)) as Triple;
    const relative = norms.map((n, i) => primal[i] / Math.max(Math.sqrt(n.leftSq), Math.sqrt(n.rightSq), 1e-30));
    const dual = change.map((c, i) => rho[i] * Math.sqrt(c)) as Triple;
    const multiplierNorm = Math.sqrt(norms.reduce((s, n, i) => s + rho[i] * rho[i] * n.dualNewSq, 0));
    // Residual balancing: the shards rescale their duals to the new ρ when the next publication carries it.
    if (!scheduled) next = nextRho(policy, rho, { primal, dual });
    this.rho = next;
    this.completed = k;
    if (prefetch) this.prefetched = dualParts.map((c) => c.body.subarray(3 * NORM_FIELDS + this.shape.T));
    this.times.duals.solve = (performance.now() - t0) / 1000;
    let record: PersistentIterationRecord = {
      kind: 'persistent',
      iteration: k,
      ...trueLoss(dualParts, this.options.classification),
      auxiliaryLoss: sums.auxiliarySum / sums.auxiliaryCount,
      lagrangian,
      primalResiduals: { a: relative[0], s: relative[1], o: relative[2] },
      dualResidual: Math.hypot(...dual) / Math.max(multiplierNorm, 1e-30),
      rho,
      stepSignal: Array.from(perStep, (sq) => rho[0] * Math.sqrt(sq)),
      seconds: 0,
      elapsed: 0,
    };
    const walkNow = walkDue ? walkScalars : undefined;
    if (guarded) record = await this.judge(record, guarded, round, save, walkNow);
    else if (walkNow) {
      const scalars = { rho1: next[0], rho2: next[1], rho3: next[2], factor: 1, resync: 0, ...walkNow, ...save };
      this.prefetched = (await round('safeguard', scalars, false)).map((c) => c.body);
    }
    if (due) {
      await recovery.checkpoints.save(model, k, this.rho, guardSnapshot(this.guard));
      this.committed = k;
    }
    const checkpoint = this.options.checkpoint;
    if (checkpoint && k % checkpoint.every === 0) await checkpoint.save(k);
    const seconds = (performance.now() - started) / 1000;
    return { ...record, seconds, elapsed: seconds };
  }

  /**
   * The true-loss safeguard's verdict on iteration `record` (persistent/safeguard.ts, with the
   * single process's arithmetic; `this.rho` is the next ρ before it, `previous` the weights before
   * the iteration). When the verdict changes the shards' state, `save` asks for a checkpoint
   * (which must hold the state after the verdict) or `walk` for the dual walk after it, a
   * 'safeguard' round applies them on the shards.
   */
  private async judge(
    record: PersistentIterationRecord,
    previous: WeightCopy,
    round: (phase: keyof RoundTimes, scalars: Record<string, number>, abortable: boolean) => Promise<Contribution[]>,
    save: Record<string, number>,
    walk: Record<string, number> | undefined
  ): Promise<PersistentIterationRecord> {
    const next = this.rho,
      bounds = rhoBounds(this.options.rhoPolicy);
    const { accepted, factor } = judgeIteration(
      this.guard,
      this.options.safeguard as SafeguardSettings,
      bounds,
      next,
      record.loss
    );
    if (accepted && factor === 1 && !('checkpoint' in save) && !walk)
      return guardedRecord(record, true, this.guard.scale);
    if (!accepted) this.model.setWeightsUnchecked(previous);
    if (factor !== 1) this.rho = next.map((r) => r * factor) as Triple;
    const scalars = { rho1: next[0], rho2: next[1], rho3: next[2], factor, resync: accepted ? 0 : 1, ...walk, ...save };
    // The iteration is complete once judged: an abort takes effect after it, never between the shards.
    const parts = await round('safeguard', scalars, false);
    this.prefetched = parts.map((c) => c.body);
    // A rejected iteration's loss is that of the weights kept, from the resynchronised o.
    const kept = accepted ? record : { ...record, ...trueLoss(parts, this.options.classification) };
    return guardedRecord(kept, accepted, this.guard.scale);
  }

  /** Tells every shard to stop (the transport stays open: close it separately). */
  async stop(): Promise<void> {
    const version = ++this.version,
      body = new Float64Array(0);
    await this.transport.publish({ version, iteration: this.completed, phase: 'stop', scalars: {}, body });
  }
}
