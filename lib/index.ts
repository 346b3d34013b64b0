/**
 * admmirnn — train recurrent neural networks with ADMM (ADMMiRNN), on a C++/OpenBLAS core.
 *
 * @module admmirnn
 */
export { RNN } from './rnn';
export type {
  RNNConfig,
  InitOptions,
  PredictOptions,
  EvaluateOptions,
  Evaluation,
  RNNData,
  RNNWeights,
  WeightName,
} from './rnn';
export type { InitScheme } from './init';
export type { SequenceInputs, TrainingData, LossName, LossSteps } from './data';
export { AdmmTrainer } from './admm/trainer';
export type { AdmmTrainerOptions, AdmmMode, FitOptions, RhoPolicy } from './admm/options';
export type { ParallelOptions, RedisParallelOptions, ThreadParallelOptions } from './parallel/options';
export { refitReadout } from './readout';
export type { ReadoutOptions } from './readout';
export type {
  AdmmIterationRecord,
  AdmmRecordBase,
  PersistentIterationRecord,
  MiniBatchIterationRecord,
  FitResult,
  FitStatus,
} from './admm/record';
export type { AdmmState } from './admm/persistent/state';
export { AdmmError, TrainerError } from './errors';
export { DEFAULT_MEMORY_FRACTION, getMemoryLimit, setMemoryLimit } from './memory-limit';
export type { AdmmErrorCode, TrainerErrorCode } from './errors';
export { Random } from './random';
export { loadMnist10k } from './mnist';
export type { MnistSplit } from './mnist';
// The raw bindings (`native`, `bpttNative`) are the `admmirnn/native` entry (lib/native-entry.ts).
export type { ThreadCounts } from './native';

import { native } from './native';
import type { ThreadCounts } from './native';

/**
 * Threads of the products (`blas`: row blocks side by side, or OpenBLAS's own threading) and of
 * the elementwise work (`elementwise`: native elementwise kernels, and the worker threads of
 * the TypeScript dual ascent), process-wide. See README "Threads".
 */
export function getThreads(): ThreadCounts {
  return native.getThreads();
}

export function setThreads(counts: Partial<ThreadCounts>): ThreadCounts {
  return native.setThreads(counts);
}
export { stopAscentWorkers } from './admm/ascent/pool';
export { nativeScratchBytes, releaseNativeScratch } from './native-memory';
export { BpttTrainer } from './bptt/trainer';
export type { BpttTrainerOptions, BpttFitOptions } from './bptt/options';
export type { BpttEpochRecord, BpttFitResult } from './bptt/record';
export type {
  OptimizerOptions,
  OptimizerKind,
  SgdOptions,
  MomentumOptions,
  AdagradOptions,
  RmspropOptions,
  AdamOptions,
} from './bptt/optimizer-options';
export { createOptimizer } from './bptt/optimizers';
export type { Optimizer, OptimizerState } from './bptt/optimizers';
export type { BpttStateSnapshot } from './bptt/trainer';
export { globalNorm, clipGradNorm } from './bptt/clipping';
export type { AdmmStateSnapshot, MiniBatchStateSnapshot, AdmmRunSnapshot, RunReadout } from './admm/snapshot';
export type { RandomState } from './random';
export {
  saveCheckpoint,
  readCheckpoint,
  encodeCheckpoint,
  decodeCheckpoint,
  encodeSafetensors,
  decodeSafetensors,
  writeFileAtomic,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
} from './checkpoint';
export type {
  Checkpoint,
  LoadedCheckpoint,
  ShardedRunInfo,
  TaskInfo,
  TrainerInfo,
  Tensor,
  SafetensorsContents,
  ReadCheckpointOptions,
} from './checkpoint';
export { toTfjsArtifacts, fromTfjsArtifacts, saveTfjsModel, loadTfjsModel } from './interop/tfjs';
export type { TfjsArtifacts, TfjsExportOptions, TfjsWeightSpec } from './interop/tfjs';
export { decodeNpy, encodeNpy, readNpy, MAX_NPY_HEADER_BYTES } from './npy';
export type { NpyArray } from './npy';
export { Vocabulary, PAD, characterWindows, parseLabelledText, encodePadded } from './text';
export type { LabelledText } from './text';
export { sampleText } from './sampling';
export type { SampleOptions } from './sampling';
export {
  loadCharacterText,
  loadLabelledText,
  encodeLabelledText,
  shuffleData,
  splitData,
  readUtf8File,
} from './datasets';
export type {
  CharacterText,
  CharacterTextOptions,
  LabelledData,
  LabelledTextOptions,
  ShuffleOptions,
  SplitOptions,
} from './datasets';
