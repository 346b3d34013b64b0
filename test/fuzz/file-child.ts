/**
 * Runs crafted file cases in one process: `node --expose-gc dist/test/fuzz/file-child.js <dir> <names JSON>`.
 * For each case it prints `{"start": name}`, lays the files out under `dir`, calls the reader
 * once, and prints how it ended, the time the call took and its peak RSS above the RSS just
 * before it (Linux: the peak is reset before each case through /proc/self/clear_refs).
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadCharacterText, loadLabelledText, loadTfjsModel, readCheckpoint, readNpy } from '../../lib';
import type { FileCase } from './file-case';
import { FILE_CASES, writeCase } from './file-cases';

export interface FileCaseRun {
  name: string;
  ok: boolean;
  errorName?: string;
  message?: string;
  /** Every path the case made (a refusal must name one of them). */
  paths: string[];
  bytes: number;
  /** Wall time of the call, and the CPU time (user + system) the process spent in it. */
  ms: number;
  cpuMs: number;
  /** Peak RSS during the call minus the RSS just before it, in bytes. */
  rssRise: number;
}

const READERS: Record<FileCase['kind'], (file: string) => unknown> = {
  checkpoint: (file) => readCheckpoint(file),
  npy: (file) => readNpy(file),
  tfjs: (file) => loadTfjsModel(file),
  text: (file) => loadCharacterText(file, { sequenceLength: 8 }),
  labelled: (file) => loadLabelledText(file),
};

/** Resets the kernel's peak-RSS mark of this process; false where that is not possible. */
function resetPeak(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** Peak RSS since the last reset (VmHWM), or over the process's life where /proc is missing. */
function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    /* not Linux */
  }
  return process.resourceUsage().maxRSS * 1024;
}

async function runCase(c: FileCase, dir: string): Promise<FileCaseRun> {
  const { entry, paths, bytes } = writeCase(c, dir);
  (globalThis as { gc?: () => void }).gc?.();
  resetPeak();
  const before = process.memoryUsage.rss();
  const started = performance.now(),
    cpu = process.cpuUsage();
  let outcome: Pick<FileCaseRun, 'ok' | 'errorName' | 'message'>;
  try {
    await READERS[c.kind](entry);
    outcome = { ok: true };
  } catch (e) {
    outcome = { ok: false, errorName: (e as Error)?.name, message: String((e as Error)?.message ?? e) };
  }
  const ms = performance.now() - started,
    used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  return { name: c.name, ...outcome, paths, bytes, ms, cpuMs, rssRise: peakRss() - before };
}

async function main(): Promise<void> {
  const dir = process.argv[2],
    names = JSON.parse(process.argv[3]) as string[];
  for (const name of names) {
    const c = FILE_CASES.find((x) => x.name === name);
    if (!c) throw new Error(`no file case named ${JSON.stringify(name)}`);
    fs.writeSync(1, JSON.stringify({ start: name }) + '\n');
    const caseDir = fs.mkdtempSync(path.join(dir, 'case-'));
    fs.writeSync(1, JSON.stringify(await runCase(c, caseDir)) + '\n');
    fs.rmSync(caseDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`file case harness error: ${(e as Error).stack}\n`);
  process.exitCode = 2;
});
