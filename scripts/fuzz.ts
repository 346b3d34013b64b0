/**
 * The long boundary fuzz run: `npm run fuzz [-- --calls 12000 --seed 1 --processes 4]`;
 * `--files-only` runs only the file stage, `--cases REGEX` only its cases whose name matches.
 * Each process fuzzes its own seed in a child (a crash is an exit by signal, reported with the
 * case that was running). Then the untrusted-file stage: every crafted checkpoint, .npy, tfjs
 * and text file through its reader (≤ 200 MB of RSS above the baseline, ≤ 2 s of CPU time) and
 * through the CLI (exit 1 naming the file). Exits 1 on any crash or contract violation.
 */
import { runFileStage } from '../test/fuzz/file-stage';
import { runFuzz } from '../test/fuzz/spawn';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

async function main(): Promise<void> {
  const calls = option('calls', 12000),
    seed = option('seed', 1),
    processes = option('processes', 4);
  const filesOnly = process.argv.includes('--files-only');
  const per = Math.ceil(calls / processes);
  let total = 0,
    failed = false;
  const started = performance.now();
  for (let p = 0; p < processes && !filesOnly; p++) {
    const run = runFuzz(seed + p, per);
    const s = run.summary;
    total += s?.calls ?? 0;
    const counts =
      s &&
      `${s.calls} calls (${s.accepted} accepted, ${s.rejected} rejected, ` +
        `${s.numericStatus} numeric statuses), ${s.violations} violations`;
    const crash = run.signal ? `, CRASHED with ${run.signal} at ${run.crashedAt}` : '';
    console.log(`seed ${seed + p}: ${counts ?? 'no summary'}${crash}`);
    for (const v of s?.examples ?? []) console.log(`  ${v}`);
    if (run.signal || run.status !== 0) {
      failed = true;
      if (!s) console.log(run.stderr);
    }
  }
  if (!filesOnly)
    console.log(
      `${total} fuzzed calls in ${((performance.now() - started) / 1000).toFixed(1)} s: ` +
        (failed ? 'FAILED' : 'every call survived and kept the contract')
    );

  const filesStarted = performance.now();
  const at = process.argv.indexOf('--cases');
  const only = at < 0 ? undefined : new RegExp(process.argv[at + 1]);
  const files = await runFileStage({ rssLimitMb: 200, timeLimitMs: 2000, only });
  for (const v of files.violations) console.log(`  ${v}`);
  const seconds = ((performance.now() - filesStarted) / 1000).toFixed(1);
  console.log(
    `${files.cases} crafted files (${files.cliRuns} also through the CLI) in ${seconds} s: ` +
      (files.violations.length ? `${files.violations.length} violations, FAILED` : 'each refused or read as it should')
  );
  console.log(`  worst RSS rise ${files.worstRss.mb.toFixed(1)} MB (${files.worstRss.name}); limit 200 MB`);
  console.log(`  worst CPU time ${files.worstCpu.ms.toFixed(0)} ms (${files.worstCpu.name}); limit 2000 ms`);
  console.log(`  worst wall time ${files.worstTime.ms.toFixed(0)} ms (${files.worstTime.name})`);
  process.exitCode = failed || files.violations.length ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 2;
});
