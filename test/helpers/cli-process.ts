/**
 * The CLI as a child process in a working directory, for the tests that run several at once
 * (Redis workers and coordinators): its output collected, its end (code and signal) as a promise.
 * Also the small dense problem those tests train (x.npy, y.npy: N = 24, T = 5, d = 3).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { encodeNpy } from '../../lib/npy';

const bin = path.resolve(__dirname, '..', '..', '..', 'bin', 'admmirnn.js');

export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  ended: Promise<Ended>;
  /** What it wrote to stderr so far. */
  stderr(): string;
}

/** `admmirnn ...args` started in `cwd`. */
export function startCli(cwd: string, args: string[], env: NodeJS.ProcessEnv = process.env): CliProcess {
  const child = spawn(process.execPath, [bin, ...args], { cwd, env });
  let stdout = '',
    stderr = '';
  child.stdout.on('data', (b) => (stdout += b));
  child.stderr.on('data', (b) => (stderr += b));
  const ended = new Promise<Ended>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  );
  return { child, ended, stderr: () => stderr };
}

/** Writes x.npy ([24, 5, 3], sin(i)) and y.npy (the sign of each sequence's first value) into `dir`. */
export function writeTinyProblem(dir: string): { x: Float32Array; y: Int32Array; N: number; T: number; d: number } {
  const N = 24,
    T = 5,
    d = 3;
  const x = Float32Array.from({ length: N * T * d }, (_, i) => Math.sin(i));
  const y = Int32Array.from({ length: N }, (_, n) => (x[n * T * d] > 0 ? 1 : 0));
  fs.writeFileSync(path.join(dir, 'x.npy'), encodeNpy(x, [N, T, d]));
  fs.writeFileSync(path.join(dir, 'y.npy'), encodeNpy(y, [N]));
  return { x, y, N, T, d };
}
