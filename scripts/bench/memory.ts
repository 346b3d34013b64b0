/**
 * Peak RSS per ADMM mode at a given N, each configuration measured in its own child process
 * (scripts/bench/memory-child.ts), against the theoretical bytes of weights + auxiliaries +
 * duals. The data set itself (N·T·d floats, read in place) and the process baseline (node,
 * V8, the addon and OpenBLAS buffers) are shown next to it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface MemoryRow {
  mode: string;
  N: number;
  chunk: string;
  status: string;
  seconds: number;
  baseline: number;
  peak: number;
  theoretical: number;
  dataBytes: number;
}

/**
 * Peak RSS of this process's own address space (VmHWM). Not getrusage's maxrss: Linux carries
 * the parent's RSS at fork into a child's maxrss across exec, which would charge the benchmark
 * driver's memory to every child.
 */
export function statusBytes(field: 'VmHWM' | 'VmRSS'): number {
  const line = fs
    .readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(field + ':'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) * 1024;
}

export function measureMemory(mode: string, N: number, chunkSize: number, budgetSeconds: number): MemoryRow {
  const child = spawnSync(
    process.execPath,
    [path.join(__dirname, 'memory-child.js'), mode, String(N), String(chunkSize), String(budgetSeconds)],
    { encoding: 'utf8' }
  );
  if (child.status !== 0) throw new Error(`memory child ${mode} N=${N} failed:\n${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop() as string) as MemoryRow;
}

const gb = (b: number) => (b / 2 ** 30).toFixed(2);

export function formatMemory(rows: MemoryRow[]): string[] {
  const lines = [
    '| mode | N | chunk | peak RSS GB | theoretical GB (w + aux + duals) | data GB | baseline GB | RSS / (theoretical + data) | (RSS − baseline) / (theoretical + data) | seconds |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows)
    lines.push(
      `| ${r.mode} | ${r.N} | ${r.chunk} | ${gb(r.peak)} | ${gb(r.theoretical)} | ${gb(r.dataBytes)} | ${gb(r.baseline)} | ${(r.peak / (r.theoretical + r.dataBytes)).toFixed(2)} | ${((r.peak - r.baseline) / (r.theoretical + r.dataBytes)).toFixed(2)} | ${r.seconds.toFixed(1)} |`
    );
  return lines;
}
