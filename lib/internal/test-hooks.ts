/**
 * The one door to what the tests and the benchmarks need and the library does not. No package
 * entry point exports it (package.json `exports` refuses deep imports); nothing here acts unless
 * a test or a benchmark calls it.
 * - `nativeHooks.convexityThreshold({ q })`: the a-step's c(|q|), checked against a float64 scan;
 * - `nativeHooks.injectFault({ site, kind })`: 'blocks' | 'chunks' makes worker 1 of every later
 *   parallelBlocks / parallelChunks fork throw std::bad_alloc (kind 'out-of-memory', the default)
 *   or std::runtime_error ('internal'): a failure on a worker thread must become the kernel's
 *   error (ERR_OUT_OF_MEMORY, ERR_INTERNAL), not std::terminate; 'none' turns it off.
 *   Process-wide: call it in a child process of its own;
 * - `nativeHooks.sgemmThreaded(Async)`: sgemm as one OpenBLAS call on OpenBLAS's own threads,
 *   which the addon otherwise keeps off (scripts/bench: the reference rate beside the row-blocked
 *   `native.sgemm`);
 * - `ascentWorkerScript.path`: the script the dual-ascent workers run (a missing one shows
 *   workers that cannot start), and `ascentWorkersUnavailable()`, why they could not.
 *
 * The native hooks are the addon's `internal` object, which lib/native.ts keeps off `native` (so
 * admmirnn/native does not carry them); the fault switch is an atomic the addon reads once per
 * fork, not an environment variable, so no setting outside a test can turn it on.
 */
import { type InternalBinding, internalBinding } from '../native';

export const nativeHooks: InternalBinding = internalBinding;
export { ascentWorkerScript, ascentWorkersUnavailable } from '../admm/ascent/pool';
