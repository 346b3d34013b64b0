/**
 * The admmirnn checkpoint, version 1: a safetensors file.
 *
 * Tensors (little-endian):
 * - `model.U` F32 [h, d], `model.W` F32 [h, h], `model.b` F32 [h], `model.V` F32 [K, h], `model.c` F32 [K];
 * - `vocabulary` I32 [d] — Unicode code points, one per token id (character models only);
 * - `admm.A`, `admm.S`, `admm.TA`, `admm.M1`, `admm.M2` F32 [N, T, h] and `admm.O`, `admm.M3`
 *   F32 [N, L, K] (L = T with the loss at every step, else 1) — the persistent ADMM run state (optional);
 * - `admm.V` F32 [K, h], `admm.c` F32 [K] — the readout a run continues from after a readoutRefit
 *   (optional; see run-state.ts);
 * - `bptt.<weight>.<k>` F32, shaped like `model.<weight>` — the BPTT optimizer's state buffers (optional).
 *
 * `__metadata__` (all values strings; JSON where noted):
 * - `format` = "admmirnn.checkpoint", `version` = "1" (readers refuse other versions);
 * - `model` JSON { inputSize, hiddenSize, outputSize, init? };
 * - `task` JSON (optional) { source, sequenceLength, loss, lossSteps, inputs: "dense" | "ids", labels? };
 * - `trainer` JSON (optional) { kind: "admm" | "bptt", options, iteration };
 * - `admm` JSON: persistent { iteration, rho, theta, beta } (with the state tensors), or mini-batch
 *   { kind: "mini-batch", iteration, rho, rng: { words, spareNormal? } } (epochs, next ρ, shuffling generator);
 * - `bptt` JSON (optional) { iteration, steps, buffers, rng } — the BPTT run state;
 * - `sharded` JSON (optional) { run, shards, shard?, iteration, rho, configHash, safeguard? } — a sharded run's
 *   recovery checkpoint (lib/parallel/recovery.ts): the coordinator's file (no `shard`; the model
 *   tensors hold the weights after iteration `iteration`, `rho` the next iteration's ρ) or shard
 *   `shard`'s file (its rows' persistent state in the `admm.*` tensors, taken at the same iteration);
 * - `sha256` hex digest of the data section (detects corruption), `created` ISO time, `generator`.
 */
import type { AdmmRunSnapshot } from '../admm/snapshot';
import type { SafeguardSnapshot } from '../admm/step-safeguard';
import type { BpttStateSnapshot } from '../bptt/trainer';
import type { LossName, LossSteps } from '../data';
import type { RNN, RNNConfig } from '../rnn';
import type { Vocabulary } from '../text';

export const CHECKPOINT_FORMAT = 'admmirnn.checkpoint';
export const CHECKPOINT_VERSION = 1;

/**
 * Largest iteration count a checkpoint holds, on write and on read: 2^52, so a count read back
 * can still be incremented exactly (2^53 − 1 + 1 is no longer a safe integer) and whatever the
 * writer accepts the reader accepts too.
 */
export const MAX_ITERATION = 2 ** 52;

/**
 * Largest checkpoint header, on write and on read: enough for the metadata and a million class
 * labels, well below the safetensors limit (100 MB), as parsing a header of many small entries
 * costs over ten times its size in memory.
 */
export const MAX_CHECKPOINT_HEADER_BYTES = 2 ** 24;

/** What data the model was trained on, so eval / predict / sample can encode new inputs alike. */
export interface TaskInfo {
  /** Where the training data came from, e.g. 'mnist10k', 'text', 'labelled', 'npy'. */
  source: string;
  sequenceLength: number;
  loss: LossName;
  lossSteps: LossSteps;
  /** Dense vectors [T, d] or token ids [T]. */
  inputs: 'dense' | 'ids';
  /** Class names by class id (labelled text). */
  labels?: string[];
}

export interface TrainerInfo {
  kind: 'admm' | 'bptt';
  /** The trainer's resolved options (JSON-safe), to rebuild the same trainer on resume. */
  options: Record<string, unknown>;
  /** Completed iterations (ADMM) or epochs (BPTT). */
  iteration: number;
}

export interface Checkpoint {
  model: RNN;
  /** The configuration the model was created with (sizes and init). */
  config: RNNConfig;
  vocabulary?: Vocabulary;
  task?: TaskInfo;
  trainer?: TrainerInfo;
  /** The ADMM run state, for an exact resume (a persistent or a mini-batch snapshot, by mode). */
  admmState?: AdmmRunSnapshot;
  /** The BPTT run state (epochs, optimizer, shuffling generator), for an exact resume. */
  bpttState?: BpttStateSnapshot;
  /** A sharded run's recovery checkpoint: whose file this is and where the run was. */
  sharded?: ShardedRunInfo;
}

/** What a sharded run's recovery checkpoint records beside the weights (and a shard's state). */
export interface ShardedRunInfo {
  /** The run's name (options.parallel.run). */
  run: string;
  shards: number;
  /** The shard whose state the file holds; absent in the coordinator's file. */
  shard?: number;
  /** Iterations completed when it was taken. */
  iteration: number;
  /** ρ of the next iteration (the coordinator's). */
  rho: [number, number, number];
  /** The run's configuration hash: a file of another configuration is never restored. */
  configHash: string;
  /** The coordinator's safeguard: its scale (factor) on ρ, floor and last accepted loss (absent: none). */
  safeguard?: SafeguardSnapshot;
}

/** What readCheckpoint returns: the checkpoint plus the file's raw metadata. */
export interface LoadedCheckpoint extends Checkpoint {
  metadata: Record<string, string>;
  /** Bytes of the file. */
  bytes: number;
}
