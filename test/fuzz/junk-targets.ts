/**
 * Exports without a hand-written target: each is called with junk positional arguments
 * (wrong types, detached or shared buffers, NaN, huge numbers). Nothing is compared; a call
 * must succeed or throw a TypeError/RangeError that names a parameter. File readers and
 * writers are left out (junk strings would be paths).
 */
import * as lib from '../../lib';
import type { Random } from '../../lib';
import { detached, offsetView } from './malformed';
import type { Target } from './target';

/** Exports with a target of their own in lib-targets.ts / native-targets.ts, or not functions to fuzz. */
export const COVERED_ELSEWHERE = [
  'RNN',
  'AdmmTrainer',
  'BpttTrainer',
  'Random',
  'loadMnist10k',
  'createOptimizer',
  'globalNorm',
  'clipGradNorm',
  'getThreads',
  'setThreads',
  'AdmmError',
  'TrainerError',
];
/** Touch the file system with their arguments as paths. */
export const FILE_IO = [
  'saveCheckpoint',
  'readCheckpoint',
  'writeFileAtomic',
  'saveTfjsModel',
  'loadTfjsModel',
  'readNpy',
  'loadCharacterText',
  'loadLabelledText',
  'readUtf8File',
];

const JUNK: ((rng: Random) => unknown)[] = [
  () => undefined,
  () => null,
  () => NaN,
  () => -1,
  () => 2 ** 53,
  () => 1.5,
  () => 'x',
  () => Symbol('s'),
  () => 1n,
  () => ({}),
  () => [],
  () => new Float32Array(3),
  () => detached(new Float32Array(4)),
  () => offsetView(Int32Array.of(1, 2, 3), 1, true),
  () => new Uint8Array(7),
  () => ({ inputs: new Float32Array(2), sequenceLength: -1 }),
  () => new lib.RNN({ inputSize: 1, hiddenSize: 1, outputSize: 2 }),
];

export function junkTargets(): Target[] {
  const exported = lib as unknown as Record<string, unknown>;
  return Object.keys(exported)
    .filter(
      (name) => typeof exported[name] === 'function' && !COVERED_ELSEWHERE.includes(name) && !FILE_IO.includes(name)
    )
    .map((name): Target => ({
      name: `junk ${name}`,
      junk: true,
      // Up to the declared parameters only: optional trailing ones (labels for messages) stay default.
      make: (rng) => ({
        args: Array.from({ length: rng.int((exported[name] as () => void).length + 1) }, () =>
          JUNK[rng.int(JUNK.length)](rng)
        ),
      }),
      // Classes are constructed, functions called.
      call: (p) => {
        const f = exported[name] as (...a: unknown[]) => unknown;
        return /^[A-Z]/.test(name)
          ? new (f as unknown as new (...a: unknown[]) => unknown)(...(p.args as unknown[]))
          : f(...(p.args as unknown[]));
      },
      fields: () => [],
    }));
}
