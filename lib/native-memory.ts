/**
 * The native kernels keep their data-sized temporaries (N·T rows) per thread between calls, since
 * fresh pages cost more than the kernels' arithmetic; the threads (Node's main thread, libuv's
 * pool) live as long as the process. A fit frees them when it ends; these reach them directly.
 */
import { native } from './native';

/** Bytes the kernels' scratch buffers hold now, summed over every thread (measured between kernels). */
export function nativeScratchBytes(): Promise<number> {
  return native.scratchBytesAsync({});
}

/**
 * Frees the kernels' scratch buffers on every thread, once no kernel is running (it waits for a
 * running one); the next kernel allocates afresh. Resolves to the bytes freed. `fit()` calls it
 * when it ends; call it after `step()`s of your own when the process goes on without training.
 */
export function releaseNativeScratch(): Promise<number> {
  return native.releaseScratchAsync({});
}
