/**
 * The long boundary fuzz run: `npm run fuzz [-- --calls 12000 --seed 1 --processes 4]`. Each process
 * fuzzes its own seed in a child (a crash is an exit by signal, reported with the case that
 * was running). Exits 1 on any crash or contract violation.
 */
import { runFuzz } from '../test/fuzz/spawn';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

const calls = option('calls', 12000), seed = option('seed', 1), processes = option('processes', 4);
const per = Math.ceil(calls / processes);
let total = 0, failed = false;
const started = performance.now();
for (let p = 0; p < processes; p++) {
  const run = runFuzz(seed + p, per);
  const s = run.summary;
  total += s?.calls ?? 0;
  console.log(`seed ${seed + p}: ${s ? `${s.calls} calls (${s.accepted} accepted, ${s.rejected} rejected, ${s.numericStatus} numeric statuses), ${s.violations} violations` : 'no summary'}` +
    (run.signal ? `, CRASHED with ${run.signal} at ${run.crashedAt}` : ''));
  for (const v of s?.examples ?? []) console.log(`  ${v}`);
  if (run.signal || run.status !== 0) {
    failed = true;
    if (!s) console.log(run.stderr);
  }
}
console.log(`${total} fuzzed calls in ${((performance.now() - started) / 1000).toFixed(1)} s: ${failed ? 'FAILED' : 'every call survived and kept the contract'}`);
process.exitCode = failed ? 1 : 0;
