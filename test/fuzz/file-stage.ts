/**
 * The untrusted-file stage of `npm run fuzz` (and of test/fuzz.test.ts): every crafted file case
 * run in a child process (file-child.ts), which must refuse it with a FileFormatError, RangeError
 * or TypeError naming the file (or read it, if the case is valid) without its RSS rising more
 * than `rssLimitMb` above the baseline or the call taking more than `timeLimitMs` of CPU time
 * (wall time is reported too; it depends on the machine's load). A child past 1 GiB of RSS, or
 * still in one case after `killAfterMs`, is killed, the case reported, and a new child goes on
 * with the next. Some cases also go through the CLI, which must exit 1 naming the file.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FileCase } from './file-case';
import type { FileCaseRun } from './file-child';
import { FILE_CASES, writeCase } from './file-cases';

export interface FileStageOptions {
  rssLimitMb?: number;
  /** Longest a reader call may take; `npm test` passes a hang limit instead (timing is noisy there). */
  timeLimitMs?: number;
  /**
   * Kill a child still running after this long (default 60 s): a hang detector, not a time limit
   * (the readers' time is checked in CPU time). A CLI run that takes under a second alone took
   * over 10 s while a full test run and other jobs shared the 2 cores.
   */
  killAfterMs?: number;
  /** How many invalid cases of each kind also go through the CLI (Infinity: all). */
  cliPerKind?: number;
  /** Only the cases whose name matches. */
  only?: RegExp;
}

export interface FileStageResult {
  cases: number;
  cliRuns: number;
  violations: string[];
  worstRss: { name: string; mb: number };
  worstTime: { name: string; ms: number };
  worstCpu: { name: string; ms: number };
}

const CHILD = path.join(__dirname, 'file-child.js');
const CLI = path.join(__dirname, '..', '..', '..', 'bin', 'admmirnn.js');
const KILL_RSS = 1 << 30;

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

interface NodeRun {
  status: number | null;
  stdout: string;
  stderr: string;
  killed?: string;
}

/**
 * Runs a node process to its end, killing it above 1 GiB of RSS (where /proc exists) or when
 * `killAfterMs` pass without a line on its stdout; `onLine` sees each line as it comes.
 */
function runNode(args: string[], killAfterMs: number, onLine: (line: string) => void = () => {}): Promise<NodeRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '',
      stderr = '',
      pending = '',
      killed: string | undefined;
    const kill = (why: string) => {
      killed ??= why;
      child.kill('SIGKILL');
    };
    let timer = setTimeout(() => kill(`killed, still running after ${killAfterMs / 1000} s`), killAfterMs);
    child.stdout.on('data', (b) => {
      stdout += b;
      pending += b;
      let eol: number;
      while ((eol = pending.indexOf('\n')) >= 0) {
        onLine(pending.slice(0, eol));
        pending = pending.slice(eol + 1);
        clearTimeout(timer);
        timer = setTimeout(() => kill(`killed, still running after ${killAfterMs / 1000} s`), killAfterMs);
      }
    });
    child.stderr.on('data', (b) => (stderr += b));
    const poll = setInterval(() => {
      const rss = rssOf(child.pid!);
      if (rss > KILL_RSS) kill(`killed at ${(rss / 2 ** 20).toFixed(0)} MB of RSS`);
    }, 20);
    child.on('close', (status) => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve({ status, stdout, stderr: stderr.slice(-2000), killed });
    });
  });
}

function checkRun(c: FileCase, run: FileCaseRun, rssLimit: number, timeLimitMs: number): string[] {
  const problems: string[] = [];
  if (run.bytes > 1 << 20) problems.push(`its files hold ${run.bytes} bytes, above the 1 MB of a case`);
  if (c.valid && !run.ok) problems.push(`a valid file was refused: ${run.errorName}: ${run.message}`);
  if (!c.valid) {
    if (run.ok) problems.push('was read without an error');
    else {
      if (!['FileFormatError', 'RangeError', 'TypeError'].includes(run.errorName ?? ''))
        problems.push(`refused with ${run.errorName}, not a FileFormatError/RangeError/TypeError: ${run.message}`);
      const message = run.message ?? '';
      if (!run.paths.some((p) => message.includes(p))) problems.push(`the error does not name the file: ${message}`);
      if (c.expect && !c.expect.test(message)) problems.push(`the error does not match ${c.expect}: ${message}`);
    }
  }
  if (run.rssRise > rssLimit)
    problems.push(`RSS rose ${(run.rssRise / 2 ** 20).toFixed(0)} MB (limit ${rssLimit / 2 ** 20})`);
  if (run.cpuMs > timeLimitMs) problems.push(`took ${run.cpuMs.toFixed(0)} ms of CPU time (limit ${timeLimitMs})`);
  return problems;
}

/** The CLI command that reads the case's file, writing any output into `dir`. */
function cliArgs(c: FileCase, entry: string, dir: string): string[] {
  const out = path.join(dir, 'out.st');
  switch (c.kind) {
    case 'checkpoint':
      return ['info', entry];
    case 'npy':
      return ['train', '--inputs', entry, '--targets', entry, '-n', '1', '-q', '-o', out];
    case 'tfjs':
      return ['import-tfjs', entry, out];
    case 'text':
      return ['train', '--text', entry, '--sequence-length', '8', '-n', '1', '-q', '-o', out];
    case 'labelled':
      return ['train', '--labelled', entry, '-n', '1', '-q', '-o', out];
  }
}

export async function runFileStage(options: FileStageOptions = {}): Promise<FileStageResult> {
  const rssLimit = (options.rssLimitMb ?? 200) * 2 ** 20,
    timeLimitMs = options.timeLimitMs ?? 2000;
  const killAfterMs = options.killAfterMs ?? Math.max(60_000, 3 * timeLimitMs);
  const cliPerKind = options.cliPerKind ?? Infinity;
  const result: FileStageResult = {
    cases: 0,
    cliRuns: 0,
    violations: [],
    worstRss: { name: '', mb: 0 },
    worstTime: { name: '', ms: 0 },
    worstCpu: { name: '', ms: 0 },
  };
  const names = new Set<string>();
  for (const c of FILE_CASES) {
    if (names.has(c.name)) result.violations.push(`${c.name}: two cases have this name`);
    names.add(c.name);
  }
  const cases = FILE_CASES.filter((c) => !options.only || options.only.test(c.name));
  result.cases = cases.length;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'admmirnn-file-cases-'));
  try {
    // One child for as many cases as it survives; a killed or crashed one is replaced.
    const runs = new Map<string, FileCaseRun>();
    let next = 0;
    while (next < cases.length) {
      let current: string | undefined;
      const names = JSON.stringify(cases.slice(next).map((c) => c.name));
      const child = await runNode(['--expose-gc', CHILD, root, names], killAfterMs, (line) => {
        const message = JSON.parse(line) as { start: string } | FileCaseRun;
        if ('start' in message) current = message.start;
        else {
          runs.set(message.name, message);
          current = undefined;
          next++;
        }
      });
      if (next < cases.length) {
        const why = child.killed ?? `the child exited ${child.status}`;
        result.violations.push(`${current ?? cases[next].name}: ${why} ${child.stderr}`.trim());
        next++;
      }
    }
    for (const c of cases) {
      const run = runs.get(c.name);
      if (!run) continue; // killed or crashed: reported above
      for (const problem of checkRun(c, run, rssLimit, timeLimitMs)) result.violations.push(`${c.name}: ${problem}`);
      if (run.rssRise / 2 ** 20 > result.worstRss.mb) result.worstRss = { name: c.name, mb: run.rssRise / 2 ** 20 };
      if (run.ms > result.worstTime.ms) result.worstTime = { name: c.name, ms: run.ms };
      if (run.cpuMs > result.worstCpu.ms) result.worstCpu = { name: c.name, ms: run.cpuMs };
    }
    // The CLI route: a bad file is exit 1, with an error naming it.
    const cliDone: Partial<Record<FileCase['kind'], number>> = {};
    for (const c of cases) {
      if (c.valid || (cliDone[c.kind] ?? 0) >= cliPerKind) continue;
      cliDone[c.kind] = (cliDone[c.kind] ?? 0) + 1;
      const dir = fs.mkdtempSync(path.join(root, 'cli-'));
      const { entry, paths } = writeCase(c, dir);
      const cli = await runNode([CLI, ...cliArgs(c, entry, dir)], killAfterMs);
      result.cliRuns++;
      if (cli.killed || cli.status !== 1 || !paths.some((p) => cli.stderr.includes(p)))
        result.violations.push(
          `${c.name} (CLI): ${cli.killed ?? `exit ${cli.status}`}, ` +
            `expected exit 1 naming the file: ${cli.stderr.trim()}`
        );
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  return result;
}
