/**
 * The one place that loads the native addon and types it: every op (the ADMM kernels, the
 * resynchronised modes' and BPTT's) is typed here, and every other module imports `native` from
 * here. The binding validates its arguments again (sizes before memory), but callers inside
 * this library pass buffers they have already checked. The addon's `internal` object (test
 * hooks, the benchmarks' row-blocked sgemm) is kept off `native`: lib/internal/test-hooks.ts.
 */
import path from 'node:path';

/** Model and data sizes, as the native kernels see them. */
export interface NativeShape {
  N: number;
  T: number;
  d: number;
  h: number;
  K: number;
  everyStep: boolean;
}

/** Dense inputs `x` [N, T, d] or token ids `ids` [N, T]. */
export type NativeInputs = { x: Float32Array; ids?: undefined } | { ids: Int32Array; x?: undefined };

export interface WeightStepArgs {
  beta?: number;
  eta?: number;
  linearized?: boolean;
  theta?: number;
}

export interface ChangeResult {
  /** Σ (Δ variable)² of the block. */
  change: number;
  /** θ accepted by backtracking (linearised variant), else the θ passed in. */
  theta: number;
}

type Sync<A, R> = (args: A) => R;
type Twin<Name extends string, A, R> = { [K in Name]: Sync<A, R> } & { [K in `${Name}Async`]: (args: A) => Promise<R> };

/** The five weight arrays of the model, as every whole-model op reads them. */
export type WeightArgs = { U: Float32Array; W: Float32Array; b: Float32Array; V: Float32Array; c: Float32Array };

export type InputProjectionArgs = {
  shape: NativeShape;
  U: Float32Array;
  b: Float32Array;
  out: Float32Array;
} & NativeInputs;
export type RecurrentAffineArgs = {
  shape: NativeShape;
  XU: Float32Array;
  S: Float32Array;
  W: Float32Array;
  out: Float32Array;
};
export type ReadoutArgs = { shape: NativeShape; S: Float32Array; V: Float32Array; c: Float32Array; out: Float32Array };
export type ForwardArgs = {
  shape: NativeShape;
  A?: Float32Array;
  S?: Float32Array;
  O: Float32Array;
} & WeightArgs &
  NativeInputs;
export type SolveUWbArgs = {
  shape: NativeShape;
  S: Float32Array;
  A: Float32Array;
  M1: Float32Array;
  scratch: Float32Array;
  U: Float32Array;
  W: Float32Array;
  b: Float32Array;
  rho1: number;
} & WeightStepArgs &
  NativeInputs;
export type SolveVcArgs = {
  shape: NativeShape;
  S: Float32Array;
  O: Float32Array;
  M3: Float32Array;
  V: Float32Array;
  c: Float32Array;
  rho3: number;
} & WeightStepArgs;
/** Chunked sweeps: add one chunk's Gram (lower triangle) and right-hand side into G, R. */
export type AccumulateUWbArgs = {
  shape: NativeShape;
  S: Float32Array;
  A: Float32Array;
  M1: Float32Array;
  scratch: Float32Array;
  G: Float32Array;
  R: Float32Array;
} & NativeInputs;
export type AccumulateVcArgs = {
  shape: NativeShape;
  S: Float32Array;
  O: Float32Array;
  M3: Float32Array;
  G: Float32Array;
  R: Float32Array;
};
/** Solve a weight block from accumulated G, R (read only). */
export type SolveUWbFromGramArgs = {
  shape: NativeShape;
  G: Float32Array;
  R: Float32Array;
  U: Float32Array;
  W: Float32Array;
  b: Float32Array;
  rho1: number;
} & WeightStepArgs;
export type SolveVcFromGramArgs = {
  shape: NativeShape;
  G: Float32Array;
  R: Float32Array;
  V: Float32Array;
  c: Float32Array;
  rho3: number;
} & WeightStepArgs;
export type TanhArgs = { n: number; A: Float32Array; out: Float32Array };
export type AStepArgs = {
  n: number;
  P: Float32Array;
  M1: Float32Array;
  S: Float32Array;
  M2: Float32Array;
  A: Float32Array;
  TA: Float32Array;
  rho1: number;
  rho2: number;
  linearized?: boolean;
  theta?: number;
  /**
   * Exact step: 'reference' (default, block 2) or 'shortcuts' (the local dual walk's: Newton stopped
   * on its error bound, a possibly non-convex element kept at its warm start's minimiser when a
   * convexity bound proves it global). Same minimisers to float rounding.
   */
  finish?: 'reference' | 'shortcuts';
};
export type SStepArgs = {
  shape: NativeShape;
  A: Float32Array;
  TA: Float32Array;
  M1: Float32Array;
  M2: Float32Array;
  XU: Float32Array;
  O: Float32Array;
  M3: Float32Array;
  W: Float32Array;
  V: Float32Array;
  c: Float32Array;
  S: Float32Array;
  out: Float32Array;
  rho1: number;
  rho2: number;
  rho3: number;
  linearized?: boolean;
  theta?: number;
};
type TargetArgs =
  { loss: 'softmax-cross-entropy'; labels: Int32Array } | { loss: 'squared-error'; values: Float32Array };
export type OStepArgs = {
  shape: NativeShape;
  S: Float32Array;
  V: Float32Array;
  c: Float32Array;
  M3: Float32Array;
  O: Float32Array;
  rho3: number;
} & TargetArgs;
export type AdjointMultipliersArgs = {
  shape: NativeShape;
  S: Float32Array;
  O: Float32Array;
  W: Float32Array;
  V: Float32Array;
  rho1: number;
  rho3: number;
  M1: Float32Array;
  M3: Float32Array;
  stepNorms?: Float32Array;
} & TargetArgs;
export type LocalDualWalkArgs = WeightArgs & {
  shape: NativeShape;
  /** Forward states (read); the walk's auxiliary states go to Saux. */
  S: Float32Array;
  Saux: Float32Array;
  /** Forward pre-activations and outputs in, the walk's auxiliaries out. */
  A: Float32Array;
  O: Float32Array;
  M1: Float32Array;
  M3: Float32Array;
  stepNorms?: Float32Array;
  rho1: number;
  rho2: number;
  rho3: number;
  sweeps: number;
  gamma: number;
  /**
   * A stop flag on a SharedArrayBuffer (Int32Array of one element): set non-zero (Atomics.store)
   * while an async walk runs, the walk stops at its next step, its outputs partly written.
   */
  cancel?: Int32Array;
} & TargetArgs &
  NativeInputs;
/**
 * C = A B, row-major: blocks of 1,024 rows of C side by side on the BLAS threads, each one
 * single-threaded OpenBLAS call (the same bits with any thread count).
 */
export type SgemmArgs = { m: number; n: number; k: number; A: Float32Array; B: Float32Array; C: Float32Array };

/** What both BPTT ops read: data, targets, weights and an optional mini-batch. */
export type BpttLossArgs = WeightArgs & {
  shape: NativeShape;
  /** Mini-batch: sample indices in [0, N) and their count (default: every sample in order). */
  batch?: Int32Array;
  batchSize?: number;
} & NativeInputs &
  TargetArgs;

export type BpttGradientsArgs = BpttLossArgs & {
  /** Outputs, overwritten with the gradients of scale · Σ R over the batch's loss terms. */
  gU: Float32Array;
  gW: Float32Array;
  gb: Float32Array;
  gV: Float32Array;
  gc: Float32Array;
  /** Output [T]: ‖∂L/∂s_t‖ over the batch (Frobenius norm), t = 1..T. */
  stepNorms?: Float32Array;
  /** Multiplies the gradients (not the reported loss); default 1, the summed loss. */
  scale?: number;
};

export interface BpttGradientsResult {
  /** Σ R over the batch's loss terms (unscaled: the scale of lib/loss.ts). */
  loss: number;
  /** Correct arg-max predictions (cross-entropy only, else 0). */
  correct: number;
  /** Loss terms: batch size × loss steps. */
  count: number;
}

export interface ThreadCounts {
  blas: number;
  elementwise: number;
}

/** The addon's exports, typed. */
export type NativeBinding = Twin<'inputProjection', InputProjectionArgs, void> &
  Twin<'recurrentAffine', RecurrentAffineArgs, void> &
  Twin<'readout', ReadoutArgs, void> &
  Twin<'forward', ForwardArgs, void> &
  Twin<'solveUWb', SolveUWbArgs, number> &
  Twin<'solveVc', SolveVcArgs, number> &
  Twin<'accumulateUWb', AccumulateUWbArgs, void> &
  Twin<'solveUWbFromGram', SolveUWbFromGramArgs, number> &
  Twin<'accumulateVc', AccumulateVcArgs, void> &
  Twin<'solveVcFromGram', SolveVcFromGramArgs, number> &
  Twin<'tanh', TanhArgs, void> &
  Twin<'aStep', AStepArgs, ChangeResult> &
  Twin<'sStep', SStepArgs, ChangeResult> &
  Twin<'oStep', OStepArgs, number> &
  Twin<'sgemm', SgemmArgs, void> &
  Twin<'adjointMultipliers', AdjointMultipliersArgs, void> &
  Twin<'localDualWalk', LocalDualWalkArgs, void> &
  /** BPTT's gradients of a batch, and its forward half alone (loss, hits and count). */
  Twin<'bpttGradients', BpttGradientsArgs, BpttGradientsResult> &
  Twin<'bpttLoss', BpttLossArgs, BpttGradientsResult> &
  /** Bytes the kernels' per-thread scratch buffers hold, every thread's (native/scratch.h). */
  Twin<'scratchBytes', Record<string, never>, number> &
  /** Frees every thread's scratch buffers between kernels; returns the bytes freed. */
  Twin<'releaseScratch', Record<string, never>, number> & {
    getThreads(): ThreadCounts;
    setThreads(counts: Partial<ThreadCounts>): ThreadCounts;
    napiVersion: number;
  };

/** The BPTT ops of the binding (admmirnn/native has typed them apart since 0.x; `native` has them too). */
export type BpttBinding = Pick<NativeBinding, 'bpttGradients' | 'bpttGradientsAsync' | 'bpttLoss' | 'bpttLossAsync'>;

/** The addon's `internal` object (native/binding_internal.cpp), reached through lib/internal/test-hooks.ts. */
export type InternalBinding = Twin<'sgemmThreaded', SgemmArgs, void> & {
  /** c(|q|) = max over t of −(1−t²)(1−3t²+2t|q|), the a-step's convexity threshold. */
  convexityThreshold(args: { q: number }): number;
  /**
   * Worker 1 of every later parallelBlocks ('blocks') or parallelChunks ('chunks') fork throws
   * std::bad_alloc (kind 'out-of-memory', the default) or std::runtime_error ('internal').
   */
  injectFault(args: { site: 'none' | 'blocks' | 'chunks'; kind?: 'out-of-memory' | 'internal' }): void;
};

/**
 * OpenBLAS's idle workers spin (sched_yield) for 2^28 cycles, ~0.1 s, after every product
 * before they sleep. The ADMM blocks alternate products with elementwise passes of tens of
 * milliseconds, where those spinning workers take a core from the elementwise threads.
 * 2^20 cycles (~0.3 ms) still bridges the microsecond gaps between BPTT's products. OpenBLAS
 * reads the variable once, when the addon loads it; a value the user set is kept.
 */
export const OPENBLAS_THREAD_TIMEOUT = '20';

type Addon = NativeBinding & { internal: InternalBinding };

function load(): Addon {
  process.env.OPENBLAS_THREAD_TIMEOUT ??= OPENBLAS_THREAD_TIMEOUT;
  // A specific build (the sanitizer build of scripts/asan.sh) can be chosen explicitly.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an addon chosen at run time
  if (process.env.ADMMIRNN_ADDON) return require(path.resolve(process.env.ADMMIRNN_ADDON)) as Addon;
  // dist/lib/native.js and lib/native.ts both sit two levels below the package root.
  const root = path.resolve(__dirname, '..', '..');
  const candidates = [root, path.resolve(__dirname, '..')];
  const errors: string[] = [];
  for (const dir of candidates) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- an addon chosen at run time
      return require('node-gyp-build')(dir) as Addon;
    } catch (e) {
      errors.push(`${dir}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(
    'admmirnn: could not load the native addon (no matching prebuild in prebuilds/ and no build/Release/admmirnn.node).\n' +
      `Tried:\n  ${errors.join('\n  ')}\n` +
      'Build it with `npm rebuild admmirnn` (needs cmake, a C++17 compiler and OpenBLAS: ' +
      'apt-get install -y libopenblas-dev cmake pkg-config).'
  );
}

/** The frame lines of a captured stack (after its first line, the header). */
function frames(stack = ''): string {
  const header = stack.indexOf('\n');
  return header < 0 ? '' : stack.slice(header);
}

/**
 * An async twin rejects from a libuv callback, with no JavaScript frame on the stack, so the
 * error's stack would be its message alone. As sharp does, every call records its caller's stack
 * and a rejection carries it: `err.stack` shows the user's frame. The promise returned is derived
 * from the op's (a rejection nobody handles is still reported as unhandled).
 */
function withCallerStacks<B extends object>(binding: B): B {
  const wrapped: Record<string, unknown> = { ...(binding as Record<string, unknown>) };
  for (const [name, op] of Object.entries(binding)) {
    if (!name.endsWith('Async') || typeof op !== 'function') continue;
    const call = (args: unknown): Promise<unknown> => {
      const caller: { stack?: string } = {};
      Error.captureStackTrace(caller, call);
      return (op as (args: unknown) => Promise<unknown>)(args).then(undefined, (e: unknown) => {
        if (e instanceof Error) e.stack = `${e.name}: ${e.message}${frames(caller.stack)}`;
        throw e;
      });
    };
    Object.defineProperty(call, 'name', { value: name });
    wrapped[name] = call;
  }
  return wrapped as B;
}

const { internal, ...addon } = load();

export const native: NativeBinding = withCallerStacks(addon);

/** The addon's test hooks and bench-only ops: import them from lib/internal/test-hooks.ts, nowhere else. */
export const internalBinding: InternalBinding = withCallerStacks(internal);
