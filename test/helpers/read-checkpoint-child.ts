/**
 * Child process for the bounded-cost tests: reads the checkpoint argv[2] and prints one JSON
 * line with its RSS before the read, the peak RSS of the process, the read's wall and CPU time
 * and its outcome.
 */
import fs from 'node:fs';
import { readCheckpoint } from '../../lib/checkpoint';

/**
 * The peak RSS of this process's own memory. Linux's VmHWM, not getrusage's maxRSS: after a fork
 * and exec, maxRSS starts at the parent's RSS (a test runner's hundreds of MB).
 */
function peakRss(): number {
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return hwm ? Number(hwm[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

async function main(): Promise<void> {
  const baselineBytes = process.memoryUsage().rss;
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  let error: { name: string; message: string } | undefined;
  try {
    await readCheckpoint(process.argv[2]);
  } catch (e) {
    error = { name: (e as Error).name, message: (e as Error).message.slice(0, 2000) };
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const peakBytes = peakRss();
  process.stdout.write(`${JSON.stringify({ baselineBytes, peakBytes, ms, cpuMs, error })}\n`);
}

void main();
