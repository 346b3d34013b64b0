/**
 * Recovery checkpoints of a sharded run (issue 17): the files, not Redis, are the run's record.
 * In mode 'persistent', at every `every`-th iteration k each shard writes its rows' auxiliaries
 * and duals (`shard-<i>-<k>.safetensors`) while answering the iteration's last round ('duals', or
 * with the true-loss safeguard 'safeguard', after its verdict), and once every shard has answered,
 * the coordinator writes the weights, ρ and the safeguard's state (`coordinator.safetensors`): that
 * file names the checkpoint a rollback returns to, so a shard file is never used before all of its
 * iteration exist. A mini-batch mode's shards hold no state between batches: its checkpoint is
 * the coordinator's file alone (mini-batch-coordinator.ts), with the step safeguard's state in
 * its `sharded` record. Both are ordinary admmirnn checkpoints (saveCheckpoint: atomic;
 * readCheckpoint: bounded), with a `sharded` record saying whose file it is. The directory must be shared by the coordinator and every worker (a PVC in Kubernetes) under
 * the same path.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { readCheckpoint, saveCheckpoint } from '../checkpoint';
import type { LoadedCheckpoint, ShardedRunInfo, TaskInfo } from '../checkpoint/format';
import type { LossName, LossSteps } from '../data';
import { RNN, type RNNWeights } from '../rnn';
import type { PersistentGuardState } from '../admm/persistent/safeguard';
import type { Triple } from '../admm/rho';
import type { SafeguardSnapshot } from '../admm/step-safeguard';
import { emptyWeights, readWeights } from './layout';
import { RedisTransportError } from './redis/errors';
import { PersistentShard, type ShardCore, type ShardData } from './shard';
import type { Answer, Publication } from './transport';

/** Which run a recovery file belongs to: a file of another run or configuration is never restored. */
export interface RunIdentity {
  run: string;
  shards: number;
  configHash: string;
}

const COORDINATOR_FILE = 'coordinator.safetensors';
const SHARD_FILE = /^shard-(\d{1,4})-(\d{1,16})\.safetensors$/;

export function shardFile(dir: string, shard: number, iteration: number): string {
  return path.join(dir, `shard-${shard}-${iteration}.safetensors`);
}

export function coordinatorFile(dir: string): string {
  return path.join(dir, COORDINATOR_FILE);
}

function mismatch(file: string, what: string): RedisTransportError {
  return new RedisTransportError(`${file} ${what}: not this run's recovery checkpoint`, 'ERR_CONFIG_MISMATCH');
}

/** Checks a file's `sharded` record against the run (and the shard and iteration expected). */
function checkIdentity(file: string, info: ShardedRunInfo | undefined, id: RunIdentity, shard?: number): void {
  if (!info) throw mismatch(file, 'has no sharded-run record');
  if (info.run !== id.run) throw mismatch(file, `belongs to run ${info.run}`);
  if (info.shards !== id.shards) throw mismatch(file, `was written by a run of ${info.shards} shards`);
  if (info.configHash !== id.configHash) throw mismatch(file, `has configuration ${info.configHash}`);
  if (info.shard !== shard) throw mismatch(file, info.shard === undefined ? 'is not a shard file' : 'is another file');
}

/** The checkpoint in `file`, or undefined when no checkpoint has been committed there yet. */
async function readIfPresent(file: string): Promise<LoadedCheckpoint | undefined> {
  try {
    await fs.access(file);
  } catch {
    return undefined;
  }
  return readCheckpoint(file);
}

export interface CoordinatorState {
  iteration: number;
  rho: Triple;
  weights: RNNWeights;
  /** The coordinator's safeguard: scale (factor) on ρ, floor, last accepted loss (absent: a run without it). */
  safeguard?: SafeguardSnapshot;
}

/** The persistent safeguard's state as snapshots keep it (persistent/snapshot.ts: the last accepted loss as epochLoss). */
export function guardSnapshot(guard: PersistentGuardState): SafeguardSnapshot {
  return { scale: guard.scale, ...(guard.loss === undefined ? {} : { epochLoss: guard.loss }) };
}

/** The coordinator's side: its own file in `dir`. */
export class CoordinatorCheckpoints {
  readonly file: string;

  constructor(
    readonly dir: string,
    private readonly id: RunIdentity
  ) {
    this.file = coordinatorFile(dir);
  }

  /** Commits checkpoint `iteration`: every shard's file of it is written (they answered its 'duals' round). */
  async save(model: RNN, iteration: number, rho: Triple, safeguard?: SafeguardSnapshot): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    const { inputSize, hiddenSize, outputSize } = model;
    await saveCheckpoint(this.file, {
      model,
      config: { inputSize, hiddenSize, outputSize },
      trainer: { kind: 'admm', options: {}, iteration },
      sharded: { ...this.id, iteration, rho: [...rho], ...(safeguard && { safeguard }) },
    });
  }

  /** The last committed checkpoint, or undefined when there is none yet. */
  async load(): Promise<CoordinatorState | undefined> {
    const saved = await readIfPresent(this.file);
    if (!saved) return undefined;
    checkIdentity(this.file, saved.sharded, this.id);
    const { iteration, rho, safeguard } = saved.sharded!;
    return { iteration, rho, weights: saved.model.weights(), ...(safeguard && { safeguard }) };
  }
}

/** The iteration of the last committed checkpoint in `dir` for `run` (undefined: none), for the CLI's count. */
export async function committedIteration(dir: string, run: string): Promise<number | undefined> {
  const file = coordinatorFile(dir);
  const saved = await readIfPresent(file);
  if (!saved) return undefined;
  if (saved.sharded?.run !== run) throw mismatch(file, `belongs to run ${saved.sharded?.run ?? '(none)'}`);
  return saved.sharded.iteration;
}

/** What a shard file records about the data, so the file is a checkpoint `admmirnn info` can read. */
export interface ShardTask {
  sequenceLength: number;
  loss: LossName;
  lossSteps: LossSteps;
  inputs: 'dense' | 'ids';
}

/**
 * A persistent shard that checkpoints and rolls back. It answers nothing (scalar `unrestored`,
 * empty body) until the coordinator's first 'restore' publication, which every run with recovery
 * starts with and every rollback sends: iteration 0 starts the shard afresh, iteration k > 0
 * loads its file of checkpoint k. A 'duals' (or 'safeguard') publication with scalar `checkpoint` = 1 makes it
 * write its file of that iteration before it answers, and remove its files older than scalar
 * `committed` (the coordinator's last committed checkpoint, which no rollback goes behind).
 */
export class RecoverableShard implements ShardCore {
  private shard: PersistentShard | undefined;

  constructor(
    readonly index: number,
    private readonly data: ShardData,
    private readonly dir: string,
    private readonly id: RunIdentity,
    private readonly task: ShardTask
  ) {}

  async answer(p: Publication): Promise<Answer> {
    const reply = (scalars: Record<string, number>): Answer => ({
      iteration: p.iteration,
      phase: p.phase,
      version: p.version,
      scalars,
      body: new Float64Array(0),
    });
    if (p.phase === 'restore') {
      await this.restore(p.iteration);
      return reply({});
    }
    if (!this.shard) return reply({ unrestored: 1 });
    const answer = await this.shard.answer(p);
    // Without the safeguard the 'duals' round ends the iteration; with it, the 'safeguard' round does.
    if ((p.phase === 'duals' || p.phase === 'safeguard') && p.scalars.checkpoint === 1) {
      await this.save(p);
      await this.removeOlder(p.scalars.committed ?? 0);
    }
    return answer;
  }

  private async restore(iteration: number): Promise<void> {
    const shard = new PersistentShard(this.index, this.data);
    if (iteration > 0) {
      const file = shardFile(this.dir, this.index, iteration);
      const saved = await readCheckpoint(file);
      checkIdentity(file, saved.sharded, this.id, this.index);
      if (saved.sharded!.iteration !== iteration) throw mismatch(file, `is of iteration ${saved.sharded!.iteration}`);
      shard.restoreState(saved.admmState);
    }
    this.shard = shard;
  }

  /** Its rows' state after the 'duals' round of `p.iteration`, with that round's weights. */
  private async save(p: Publication): Promise<void> {
    const { d, h, K } = this.data.shape;
    const snapshot = this.shard!.exportState()!;
    const weights = emptyWeights(this.data.shape);
    readWeights(p.body, weights);
    const config = { inputSize: d, hiddenSize: h, outputSize: K };
    const model = RNN.withWeights(config, weights);
    const task: TaskInfo = { source: `shard ${this.index} of run ${this.id.run}`, ...this.task };
    await fs.mkdir(this.dir, { recursive: true });
    await saveCheckpoint(shardFile(this.dir, this.index, p.iteration), {
      model,
      config,
      task,
      trainer: { kind: 'admm', options: {}, iteration: p.iteration },
      admmState: { ...snapshot, iteration: p.iteration },
      sharded: { ...this.id, shard: this.index, iteration: p.iteration, rho: snapshot.rho },
    });
  }

  private async removeOlder(committed: number): Promise<void> {
    for (const name of await fs.readdir(this.dir)) {
      const match = SHARD_FILE.exec(name);
      if (match && Number(match[1]) === this.index && Number(match[2]) < committed)
        await fs.rm(path.join(this.dir, name), { force: true });
    }
  }
}
