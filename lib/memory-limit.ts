/**
 * The memory check made before every large allocation: a model, a trainer's state, a forward
 * pass. Their sizes come from untrusted or mistaken numbers (a checkpoint's declared sizes, a
 * hidden size of 4096 on half a million sequences), and a typed array that large is not refused
 * by V8 until it is far beyond the machine: the process would head for the OOM killer. The
 * estimate of the one allocation is compared with a limit; the process's other memory is not
 * counted. The limit belongs to this thread's instance of the library (each worker has its own).
 */
import os from 'node:os';
import { TrainerError, invalidRange, invalidType } from './errors';

/** Fraction of the machine's memory (or of the container's limit, if lower) allowed by default. */
export const DEFAULT_MEMORY_FRACTION = 0.8;

let configured: number | undefined;

/** The memory the process may use: os.totalmem(), or the cgroup limit when one is set and lower. */
function machineMemory(): number {
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  const total = os.totalmem();
  return constrained !== undefined && constrained > 0 && constrained < total ? constrained : total;
}

/** Bytes a single model, trainer state or forward pass may need (see setMemoryLimit). */
export function getMemoryLimit(): number {
  return configured ?? Math.floor(DEFAULT_MEMORY_FRACTION * machineMemory());
}

/**
 * Sets the bytes that one model, one trainer state or one forward pass may need before it is
 * refused with `TrainerError` code `ERR_OUT_OF_MEMORY` (checked before anything is allocated).
 * `Infinity` turns the check off; `null` restores the default, 80% of `os.totalmem()` (or of
 * the container's memory limit when it is lower). Returns the limit now in force.
 */
export function setMemoryLimit(bytes: number | null): number {
  if (bytes === null) configured = undefined;
  else if (typeof bytes !== 'number') throw invalidType('bytes', 'a number of bytes, Infinity or null', bytes);
  else if (!(bytes === Infinity || (Number.isSafeInteger(bytes) && bytes >= 1)))
    throw invalidRange('bytes', 'a positive integer number of bytes (at most 2^53 − 1), Infinity or null', bytes);
  else configured = bytes;
  return getMemoryLimit();
}

const formatBytes = (n: number): string => {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${Math.ceil(n / 2 ** 10)} KiB`;
};

/** Throws ERR_OUT_OF_MEMORY when `bytes`, the estimate for `what`, exceeds the limit. */
export function checkMemory(what: string, bytes: number): void {
  const limit = getMemoryLimit();
  if (!(bytes <= limit))
    throw new TrainerError(
      `${what} needs about ${formatBytes(bytes)} (estimated), more than the memory limit of ${formatBytes(limit)}` +
        (configured === undefined
          ? ` (${DEFAULT_MEMORY_FRACTION * 100}% of the machine's memory; setMemoryLimit(bytes) changes it)`
          : ' (set by setMemoryLimit)'),
      'ERR_OUT_OF_MEMORY'
    );
}
