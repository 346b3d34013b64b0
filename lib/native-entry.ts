/**
 * `admmirnn/native`: the addon's raw bindings, typed — the kernels the trainers call, for
 * benchmarks and experiments. Every binding checks its arguments (sizes before memory) and throws
 * a RangeError/TypeError naming the op and the argument, so calling them directly is safe; they
 * work in place on the caller's arrays and are not a stable API across minor versions.
 *
 * @module admmirnn/native
 */
import { type NativeBinding, native } from './native';

export { native, OPENBLAS_THREAD_TIMEOUT } from './native';
export type {
  NativeBinding,
  BpttBinding,
  NativeShape,
  NativeInputs,
  WeightArgs,
  WeightStepArgs,
  ChangeResult,
  ThreadCounts,
  InputProjectionArgs,
  RecurrentAffineArgs,
  ReadoutArgs,
  ForwardArgs,
  SolveUWbArgs,
  SolveVcArgs,
  AccumulateUWbArgs,
  AccumulateVcArgs,
  SolveUWbFromGramArgs,
  SolveVcFromGramArgs,
  TanhArgs,
  AStepArgs,
  SStepArgs,
  OStepArgs,
  AdjointMultipliersArgs,
  LocalDualWalkArgs,
  SgemmArgs,
  BpttLossArgs,
  BpttGradientsArgs,
  BpttGradientsResult,
} from './native';
/** The same object as `native`, whose type includes the BPTT ops (kept for code that imports it). */
export const bpttNative: NativeBinding = native;
