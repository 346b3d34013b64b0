/**
 * The fuzz loop, run in its own process (a crash shows as an exit by signal, not a dead test
 * runner): `node dist/test/fuzz/child.js --seed 1 --calls 1000 [--trace]`. Prints one JSON
 * summary line on stdout; exits 1 when any call broke the contract. --trace writes each case
 * to stderr before running it, so the last line names the call that crashed; --only REGEX keeps
 * the targets whose name matches.
 */
import { writeSync } from 'node:fs';
import { Random } from '../../lib';
import { type Outcome, checkOutcome } from './check';
import { junkTargets } from './junk-targets';
import { libTargets } from './lib-targets';
import { mutate } from './malformed';
import { nativeTargets } from './native-targets';
import { type Params, type Target, getPath, snapshotValue } from './target';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

async function run(target: Target, params: Params, afterCall?: () => void): Promise<Outcome> {
  let pending: unknown;
  try {
    pending = target.call(params);
  } catch (error) {
    return { ok: false, error, thrownSync: true };
  }
  afterCall?.();
  try {
    const result = await pending;
    const snapshot = snapshotValue(result);
    for (const out of target.outputs ?? []) snapshotValue(getPath(params, out), snapshot);
    return { ok: true, snapshot };
  } catch (error) {
    return { ok: false, error, thrownSync: false };
  }
}

async function main(): Promise<void> {
  const seed = option('seed', 1),
    calls = option('calls', 1000),
    trace = process.argv.includes('--trace');
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : '';
  const targets = [...nativeTargets(), ...libTargets(), ...junkTargets()].filter((t) => new RegExp(only).test(t.name));
  const rng = new Random(seed);
  const violations: string[] = [];
  const tally = { calls: 0, baselineCalls: 0, accepted: 0, rejected: 0, numericStatus: 0, targets: targets.length };
  const perTarget: Record<string, number> = {};
  for (let i = 0; i < calls; i++) {
    const target = targets[i < targets.length ? i : rng.int(targets.length)]; // every target at least once
    const caseSeed = rng.nextUint32();
    if (target.junk) {
      const params = target.make(new Random(caseSeed));
      if (trace) writeSync(2, `#${i} ${target.name} seed ${caseSeed}: junk arguments\n`);
      const outcome = await run(target, params);
      tally.calls++;
      perTarget[target.name] = (perTarget[target.name] ?? 0) + 1;
      outcome.ok ? tally.accepted++ : tally.rejected++;
      const violation = checkOutcome(target, { label: 'junk', expect: 'any', names: [], params }, outcome, []);
      if (violation) violations.push(`#${i} ${target.name} (junk arguments, case seed ${caseSeed}): ${violation}`);
      continue;
    }
    // Type-only targets are only ever expected to reject: no baseline to compare with.
    const base: Outcome = target.typeOnly
      ? { ok: true, snapshot: [] }
      : await run(target, target.make(new Random(caseSeed)));
    if (!target.typeOnly) tally.baselineCalls++;
    if (!base.ok) {
      violations.push(
        `#${i} ${target.name}: the valid base call failed: ${String((base.error as Error)?.message ?? base.error)}`
      );
      continue;
    }
    const m = mutate(target, target.make(new Random(caseSeed)), rng);
    if (trace) writeSync(2, `#${i} ${target.name} seed ${caseSeed}: ${m.label}\n`);
    const outcome = await run(target, m.params, m.afterCall);
    tally.calls++;
    perTarget[target.name] = (perTarget[target.name] ?? 0) + 1;
    if (outcome.ok) tally.accepted++;
    else if (typeof (outcome.error as { code?: unknown })?.code === 'string') tally.numericStatus++;
    else tally.rejected++;
    const violation = checkOutcome(target, m, outcome, base.snapshot);
    if (violation) violations.push(`#${i} ${target.name} (${m.label}, case seed ${caseSeed}): ${violation}`);
  }
  process.stdout.write(
    JSON.stringify({ seed, ...tally, perTarget, violations: violations.length, examples: violations.slice(0, 40) }) +
      '\n'
  );
  process.exitCode = violations.length ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`fuzz harness error: ${(e as Error).stack}\n`);
  process.exitCode = 2;
});
