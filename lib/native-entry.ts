/**
 * `admmirnn/native`: the addon's raw bindings, typed — the kernels the trainers call, for
 * benchmarks and experiments. Every binding checks its arguments (sizes before memory) and throws
 * a RangeError/TypeError naming the op and the argument, so calling them directly is safe; they
 * work in place on the caller's arrays and are not a stable API across minor versions.
 *
 * @module admmirnn/native
 */
export { native, OPENBLAS_THREAD_TIMEOUT } from './native';
export type * from './native';
export { bpttNative } from './bptt/native';
export type { BpttBinding, BpttGradientsArgs, BpttGradientsResult, BpttLossArgs } from './bptt/native';
