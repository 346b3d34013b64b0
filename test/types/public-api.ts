/**
 * The public types as a consumer sees them: imported by package name through the exports map, so
 * they are the emitted dist/lib/*.d.ts (run `npm run build:ts` first; `npm test` does). A change
 * to any type pinned here fails `npm run test:types`: update the expectation only on purpose, and
 * say so in CHANGELOG.md.
 */
import * as lib from 'admmirnn';
import type {
  AdmmError,
  AdmmErrorCode,
  TrainerError,
  TrainerErrorCode,
  AdmmIterationRecord,
  AdmmMode,
  AdmmRunSnapshot,
  AdmmStateSnapshot,
  BpttStateSnapshot,
  MiniBatchStateSnapshot,
  MiniBatchIterationRecord,
  ParallelOptions,
  RedisParallelOptions,
  ThreadParallelOptions,
  PersistentIterationRecord,
  ReadCheckpointOptions,
  AdmmTrainer,
  AdmmTrainerOptions,
  BpttEpochRecord,
  BpttFitOptions,
  BpttFitResult,
  BpttTrainer,
  BpttTrainerOptions,
  Checkpoint,
  FitOptions,
  FitResult,
  FitStatus,
  InitOptions,
  InitScheme,
  LoadedCheckpoint,
  OptimizerOptions,
  RhoPolicy,
  RNN,
  RNNConfig,
  ShardedRunInfo,
  TaskInfo,
  ThreadCounts,
  TrainerInfo,
  TrainingData,
} from 'admmirnn';
import type { Equal, Expect } from './assert';

type Triple = [number, number, number];
type Weight = 'U' | 'W' | 'b' | 'V' | 'c';
type Hook<R> = (record: R) => void | boolean | Promise<void | boolean>;

/** The names of the values the main entry (CommonJS types) exports. */
export type MainExports = keyof typeof lib;

/** Every value the main entry exports: the raw bindings are not among them (they are admmirnn/native). */
export type Exports = Expect<
  Equal<
    MainExports,
    | 'RNN'
    | 'AdmmTrainer'
    | 'refitReadout'
    | 'AdmmError'
    | 'TrainerError'
    | 'Random'
    | 'loadMnist10k'
    | 'getThreads'
    | 'setThreads'
    | 'stopAscentWorkers'
    | 'nativeScratchBytes'
    | 'releaseNativeScratch'
    | 'BpttTrainer'
    | 'createOptimizer'
    | 'globalNorm'
    | 'clipGradNorm'
    | 'saveCheckpoint'
    | 'readCheckpoint'
    | 'encodeCheckpoint'
    | 'decodeCheckpoint'
    | 'encodeSafetensors'
    | 'decodeSafetensors'
    | 'writeFileAtomic'
    | 'CHECKPOINT_FORMAT'
    | 'CHECKPOINT_VERSION'
    | 'toTfjsArtifacts'
    | 'fromTfjsArtifacts'
    | 'saveTfjsModel'
    | 'loadTfjsModel'
    | 'decodeNpy'
    | 'encodeNpy'
    | 'readNpy'
    | 'MAX_NPY_HEADER_BYTES'
    | 'setMemoryLimit'
    | 'getMemoryLimit'
    | 'DEFAULT_MEMORY_FRACTION'
    | 'Vocabulary'
    | 'PAD'
    | 'characterWindows'
    | 'parseLabelledText'
    | 'encodePadded'
    | 'sampleText'
    | 'loadCharacterText'
    | 'loadLabelledText'
    | 'encodeLabelledText'
    | 'shuffleData'
    | 'splitData'
    | 'readUtf8File'
  >
>;

// The model.
export type Model = [
  Expect<Equal<ConstructorParameters<typeof RNN>, [config: RNNConfig]>>,
  Expect<Equal<RNNConfig, { inputSize: number; hiddenSize: number; outputSize: number; init?: InitOptions }>>,
  Expect<Equal<InitOptions, { scheme?: InitScheme; scale?: number; seed?: number }>>,
  Expect<Equal<InitScheme, 'normal' | 'uniform' | 'glorot' | 'orthogonal'>>,
  Expect<Equal<Parameters<typeof RNN.withWeights>, [config: RNNConfig, weights: Record<Weight, Float32Array>]>>,
  Expect<Equal<ReturnType<RNN['predict']>, Float32Array>>,
  Expect<Equal<ReturnType<RNN['predictAsync']>, Promise<Float32Array>>>,
  Expect<Equal<ReturnType<RNN['evaluate']>, { loss: number; accuracy: number; count: number }>>,
  Expect<Equal<Pick<RNN, Weight>, { readonly [K in Weight]: Float32Array }>>,
];

// The ADMM trainer: options, fit options, per-iteration records and the fit result.
/** The record's safeguard entry (options.safeguard), in both kinds of record. */
type SafeguardRecord = {
  rejections: number;
  momentum?: number;
  skipped: number;
  epochRejections: number;
  epochSkipped: boolean;
  rho: Triple;
  rhoMax: Triple;
  scale: number;
};

export type Admm = [
  Expect<Equal<ConstructorParameters<typeof AdmmTrainer>, [model: RNN, options?: AdmmTrainerOptions]>>,
  Expect<Equal<AdmmMode, 'persistent' | 'adjoint' | 'local-duals' | 'sweeps'>>,
  Expect<
    Equal<
      RhoPolicy,
      | { kind: 'fixed' }
      | { kind: 'geometric'; factor: number; max?: number }
      | { kind: 'residual-balancing'; mu?: number; tau?: number; min?: number; max?: number }
    >
  >,
  Expect<
    Equal<
      AdmmTrainerOptions,
      {
        mode?: AdmmMode;
        loss?: 'softmax-cross-entropy' | 'squared-error';
        lossSteps?: 'last' | 'every';
        rho?: number | readonly [number, number, number];
        rhoPolicy?: RhoPolicy;
        beta?: number;
        batchSize?: number;
        eta?: number;
        regressors?: 'forward' | 'auxiliary';
        trustRegion?: number;
        stepClip?: number | false;
        localSweeps?: number;
        gamma?: number;
        sweeps?: number;
        safeguard?:
          | boolean
          | {
              backoff?: number;
              relax?: number;
              momentum?: number;
              maxAttempts?: number;
              maxScale?: number;
              epochTolerance?: number;
              maxEpochAttempts?: number;
              batches?: boolean;
            };
        warmStart?: 'readout' | 'none';
        dualWalk?: boolean | { scale?: number; every?: number };
        seed?: number;
        readoutRefit?: boolean;
        update?: 'exact' | 'linearized';
        chunkSize?: number;
        parallel?: ParallelOptions;
      }
    >
  >,
  Expect<Equal<ThreadParallelOptions, { workers: number; staleness?: number; transport?: 'threads' }>>,
  Expect<
    Equal<
      RedisParallelOptions,
      {
        transport: 'redis';
        url: string;
        run: string;
        shards: number;
        staleness?: number;
        data?: Record<string, unknown>;
        checkpoints?: { dir: string; every: number };
        replacementMs?: number;
        leaseMs?: number;
        onRecovery?: (message: string) => void;
      }
    >
  >,
  Expect<Equal<ParallelOptions, ThreadParallelOptions | RedisParallelOptions>>,
  Expect<Equal<AdmmTrainer['close'], () => Promise<void>>>,
  Expect<
    Equal<
      FitOptions,
      {
        maxIterations?: number;
        tolerance?: { primal: number; dual: number };
        plateau?: { patience: number; minDelta?: number };
        signal?: AbortSignal;
        onIteration?: Hook<AdmmIterationRecord>;
        resume?: boolean;
      }
    >
  >,
  Expect<
    Equal<
      AdmmIterationRecord,
      | {
          kind: 'persistent';
          iteration: number;
          loss: number;
          accuracy: number;
          auxiliaryLoss: number;
          lagrangian: number;
          primalResiduals: { a: number; s: number; o: number };
          dualResidual: number;
          rho: Triple;
          stepSignal?: number[];
          safeguard?: SafeguardRecord;
          theta?: { uwb: number; a: number; s: number; vc: number };
          seconds: number;
          elapsed: number;
        }
      | {
          kind: 'mini-batch';
          iteration: number;
          loss: number;
          accuracy: number;
          auxiliaryLoss: number;
          rho: Triple;
          stepSignal?: number[];
          safeguard?: SafeguardRecord;
          seconds: number;
          elapsed: number;
        }
    >
  >,
  Expect<Equal<AdmmIterationRecord, PersistentIterationRecord | MiniBatchIterationRecord>>,
  Expect<Equal<Awaited<ReturnType<AdmmTrainer['step']>>, PersistentIterationRecord>>,
  Expect<Equal<Awaited<ReturnType<AdmmTrainer['epoch']>>, MiniBatchIterationRecord>>,
  Expect<
    Equal<FitStatus, 'max-iterations' | 'converged' | 'plateau' | 'aborted' | 'stopped' | 'diverged' | 'singular'>
  >,
  Expect<
    Equal<
      FitResult,
      {
        status: FitStatus;
        message: string;
        history: AdmmIterationRecord[];
        seconds: number;
        refit?: { loss: number; accuracy: number };
      }
    >
  >,
  Expect<Equal<Parameters<AdmmTrainer['fit']>, [data: TrainingData, options?: FitOptions]>>,
  Expect<Equal<ReturnType<AdmmTrainer['fit']>, Promise<FitResult>>>,
  Expect<Equal<ReturnType<AdmmTrainer['iterate']>, AsyncGenerator<AdmmIterationRecord, FitResult, void>>>,
  Expect<Equal<ReturnType<AdmmTrainer['exportState']>, AdmmRunSnapshot>>,
  Expect<Equal<AdmmRunSnapshot, AdmmStateSnapshot | MiniBatchStateSnapshot>>,
];

// The BPTT trainer.
export type Bptt = [
  Expect<Equal<ConstructorParameters<typeof BpttTrainer>, [model: RNN, options?: BpttTrainerOptions]>>,
  Expect<
    Equal<
      BpttTrainerOptions,
      {
        loss?: 'softmax-cross-entropy' | 'squared-error';
        lossSteps?: 'last' | 'every';
        optimizer?: OptimizerOptions;
        batchSize?: number;
        shuffle?: boolean;
        seed?: number;
        clipGradNorm?: number;
      }
    >
  >,
  Expect<Equal<OptimizerOptions['kind'], 'sgd' | 'momentum' | 'adagrad' | 'rmsprop' | 'adam'>>,
  Expect<
    Equal<
      BpttFitOptions,
      {
        maxIterations?: number;
        plateau?: { patience: number; minDelta?: number };
        signal?: AbortSignal;
        onIteration?: Hook<BpttEpochRecord>;
        resume?: boolean;
      }
    >
  >,
  Expect<
    Equal<
      BpttEpochRecord,
      {
        iteration: number;
        loss: number;
        accuracy: number;
        batchLoss: number;
        gradientNorm: number;
        maxGradientNorm: number;
        clippedBatches: number;
        stepGradientNorms: number[];
        seconds: number;
        trainSeconds: number;
        elapsed: number;
      }
    >
  >,
  Expect<Equal<BpttFitResult, { status: FitStatus; message: string; history: BpttEpochRecord[]; seconds: number }>>,
  Expect<Equal<ReturnType<BpttTrainer['fit']>, Promise<BpttFitResult>>>,
];

// Checkpoints.
export type Checkpoints = [
  Expect<Equal<typeof lib.saveCheckpoint, (path: string, checkpoint: Checkpoint) => Promise<void>>>,
  Expect<
    Equal<typeof lib.readCheckpoint, (path: string, options?: ReadCheckpointOptions) => Promise<LoadedCheckpoint>>
  >,
  Expect<Equal<ReadCheckpointOptions, { maxBytes?: number }>>,
  Expect<Equal<typeof lib.encodeCheckpoint, (checkpoint: Checkpoint) => Buffer>>,
  Expect<Equal<typeof lib.decodeCheckpoint, (file: Buffer, name?: string) => LoadedCheckpoint>>,
  Expect<
    Equal<
      keyof Checkpoint,
      'model' | 'config' | 'vocabulary' | 'task' | 'trainer' | 'admmState' | 'bpttState' | 'sharded'
    >
  >,
  Expect<Equal<Checkpoint['sharded'], ShardedRunInfo | undefined>>,
  Expect<
    Equal<
      ShardedRunInfo,
      {
        run: string;
        shards: number;
        shard?: number;
        iteration: number;
        rho: [number, number, number];
        configHash: string;
        safeguard?: { scale: number; floor?: number; epochLoss?: number };
      }
    >
  >,
  Expect<Equal<Checkpoint['model'], RNN>>,
  Expect<Equal<Checkpoint['config'], RNNConfig>>,
  Expect<Equal<Checkpoint['admmState'], AdmmRunSnapshot | undefined>>,
  Expect<Equal<Checkpoint['bpttState'], BpttStateSnapshot | undefined>>,
  Expect<Equal<Omit<LoadedCheckpoint, keyof Checkpoint>, { metadata: Record<string, string>; bytes: number }>>,
  Expect<
    Equal<
      TaskInfo,
      {
        source: string;
        sequenceLength: number;
        loss: 'softmax-cross-entropy' | 'squared-error';
        lossSteps: 'last' | 'every';
        inputs: 'dense' | 'ids';
        labels?: string[];
      }
    >
  >,
  Expect<Equal<TrainerInfo, { kind: 'admm' | 'bptt'; options: Record<string, unknown>; iteration: number }>>,
];

// Errors and threads.
export type Errors = [
  Expect<
    Equal<
      AdmmErrorCode,
      | 'ERR_BUSY'
      | 'ERR_NOT_INITIALISED'
      | 'ERR_WRONG_MODE'
      | 'ERR_CHUNKED_STATE'
      | 'ERR_NON_FINITE'
      | 'ERR_NOT_POSITIVE_DEFINITE'
      | 'ERR_OUT_OF_MEMORY'
      | 'ERR_INTERNAL'
      | 'ERR_SHARD_LOST'
      | 'ERR_PARALLEL_STATE'
    >
  >,
  Expect<Equal<AdmmError['code'], AdmmErrorCode>>,
  Expect<Equal<ConstructorParameters<typeof AdmmError>, [message: string, code: AdmmErrorCode]>>,
  Expect<AdmmError extends Error ? true : false>,
  Expect<Equal<TrainerErrorCode, AdmmErrorCode>>,
  Expect<AdmmError extends TrainerError ? true : false>,
  Expect<Equal<TrainerError['code'], TrainerErrorCode>>,
  Expect<Equal<ThreadCounts, { blas: number; elementwise: number }>>,
  Expect<Equal<typeof lib.setThreads, (counts: Partial<ThreadCounts>) => ThreadCounts>>,
];
