/** Runs the fuzz loop in a child process and reports how it ended (a signal means a crash). */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export interface FuzzRun {
  seed: number;
  /** The child's summary line, when it got to print one. */
  summary?: {
    calls: number;
    baselineCalls: number;
    accepted: number;
    rejected: number;
    numericStatus: number;
    violations: number;
    examples: string[];
  };
  status: number | null;
  signal: NodeJS.Signals | null;
  /** On a crash: the case that was running (from a --trace rerun). */
  crashedAt?: string;
  stderr: string;
}

const CHILD = path.join(__dirname, 'child.js');

export function runFuzz(seed: number, calls: number, execArgv: string[] = []): FuzzRun {
  const run = spawnSync(process.execPath, [...execArgv, CHILD, '--seed', String(seed), '--calls', String(calls)], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const line = run.stdout.trim().split('\n').pop();
  const result: FuzzRun = { seed, status: run.status, signal: run.signal, stderr: run.stderr.slice(-4000) };
  try {
    if (line) result.summary = JSON.parse(line);
  } catch {
    /* no summary: the child died */
  }
  if (run.signal || (run.status !== 0 && run.status !== 1)) {
    const traced = spawnSync(
      process.execPath,
      [...execArgv, CHILD, '--seed', String(seed), '--calls', String(calls), '--trace'],
      { encoding: 'utf8', maxBuffer: 256 << 20 }
    );
    result.crashedAt = traced.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('#'))
      .pop();
  }
  return result;
}
