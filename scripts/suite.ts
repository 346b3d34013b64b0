/**
 * npm run suite — every ADMM mode, BpttTrainer (Adam, SGD) and the readout-only floor on seven
 * tasks of different kinds, each run under the same wall-clock training budget (issue 16's
 * instrument for choosing defaults). Writes <out>/suite.json (every run with its per-iteration
 * curves and check results) and <out>/REPORT.md.
 *
 *   npm run suite -- [--quick] [--tasks mnist,text,...] [--methods adjoint,adam,...]
 *                    [--budget SECONDS] [--clock wall|cpu] [--seeds N] [--hidden H] [--out DIR] [--note TEXT]
 *                    [--report-only] [--append]
 *
 * Full (default): h = 128, 30 s per run, 3 seeds, results/suite/. --quick: small data, h = 32,
 * 5 s per run, 1 seed, results/quick/suite/ (git-ignored). Explicit options override either.
 * --clock cpu budgets CPU seconds of this process instead of wall-clock seconds (for a machine
 * other jobs share); --note adds a sentence to the report's header; --report-only rewrites the
 * report (and the summaries in suite.json) from a saved suite.json without training. --append adds
 * the runs of --methods to the saved suite.json in --out (same size, budget, clock and h, at most its seeds;
 * the saved floors are reused; runs of the same method are replaced), so a long suite can be
 * measured in parts, e.g. the mini-batch methods while a change to another mode is still under way.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stopAscentWorkers } from '../lib';
import { QUICK_RESULTS } from './ablation/report';
import { CLOCKS, type Clock } from './suite/budget';
import { type RunSummary, summarise } from './suite/checks';
import { DEFAULT_METHODS, suiteMethod } from './suite/methods';
import { type SuiteResults, renderSuite } from './suite/report';
import { type SuiteRun, readoutFloor, runSuiteMethod } from './suite/runner';
import { TASK_NAMES, type TaskName, buildTask, taskInfo } from './suite/tasks';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    tasks: { type: 'string', default: TASK_NAMES.join(',') },
    methods: { type: 'string', default: DEFAULT_METHODS.join(',') },
    budget: { type: 'string' },
    clock: { type: 'string', default: 'wall' },
    seeds: { type: 'string' },
    hidden: { type: 'string' },
    out: { type: 'string' },
    note: { type: 'string' },
    'report-only': { type: 'boolean', default: false },
    append: { type: 'boolean', default: false },
  },
});

function positive(option: string, value: string | undefined, fallback: number, integer: boolean): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (!(v > 0) || !Number.isFinite(v) || (integer && !Number.isInteger(v)))
    throw new RangeError(`--${option} must be a positive ${integer ? 'integer' : 'number'}, got '${value}'`);
  return v;
}

function list<T extends string>(option: string, value: string, allowed: readonly T[]): T[] {
  return value.split(',').map((x) => {
    if (!(allowed as readonly string[]).includes(x))
      throw new RangeError(`--${option}: unknown name '${x}' (choose from ${allowed.join(', ')})`);
    return x as T;
  });
}

const mark = (c: boolean | null) => (c === null ? '·' : c ? '✓' : '✗');

function logLine(run: SuiteRun, s: RunSummary): string {
  const last = run.points[run.points.length - 1]?.loss ?? NaN;
  return [
    `${run.task.padEnd(15)} seed ${run.seed}  ${run.method.padEnd(12)} it ${String(s.iterations).padStart(4)}`,
    `${run.trainSeconds.toFixed(1).padStart(5)} s  loss ${run.initialLoss.toFixed(3)} → ${last.toFixed(3)}`,
    `test ${s.final.toFixed(4)} (best ${s.best.toFixed(4)})`,
    `checks ${mark(s.lossCheck)}${mark(s.testCheck)}${mark(s.floorCheck)}`,
    run.status,
  ].join('  ');
}

/** Rewrites REPORT.md from a saved suite.json: summaries and task descriptions recomputed by the current code. */
function reportOnly(out: string): void {
  const results = JSON.parse(fs.readFileSync(path.join(out, 'suite.json'), 'utf8')) as SuiteResults;
  results.clock ??= 'wall'; // results saved before the clock option existed
  results.runs = results.runs.map((r) => ({ ...r, clock: r.clock ?? results.clock, summary: summarise(r) }));
  results.tasks = results.tasks.map((t) => ({
    ...taskInfo(buildTask(t.name as TaskName, results.quick ? 'quick' : 'full'), t.buildSeconds),
    floors: t.floors,
  }));
  if (values.note) results.note = values.note;
  fs.writeFileSync(path.join(out, 'suite.json'), JSON.stringify(results, null, 1));
  fs.writeFileSync(path.join(out, 'REPORT.md'), renderSuite(results));
  console.log(`rewrote ${path.join(out, 'REPORT.md')} from ${path.join(out, 'suite.json')}`);
}

/** The saved results in `out` that `fresh`'s runs are added to; a RangeError if they were measured differently. */
function appendTo(out: string, fresh: SuiteResults): SuiteResults {
  const file = path.join(out, 'suite.json');
  if (!fs.existsSync(file)) throw new RangeError(`--append: no ${file} to add to`);
  const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as SuiteResults;
  for (const key of ['quick', 'hidden', 'budgetSeconds', 'clock'] as const)
    if (saved[key] !== fresh[key])
      throw new RangeError(`--append: ${file} has ${key} ${saved[key]}, this run ${fresh[key]}`);
  // Fewer seeds are allowed (the report counts each method's own runs); more would need new floors.
  if (fresh.seeds > saved.seeds)
    throw new RangeError(`--append: ${file} has seeds ${saved.seeds}, this run asks for ${fresh.seeds}`);
  return {
    ...saved,
    command: `${saved.command}; ${fresh.command} --append`,
    methods: [...new Set([...saved.methods, ...fresh.methods])],
    ...(fresh.note ? { note: fresh.note } : {}),
    loadAverage: { start: Math.max(saved.loadAverage.start, fresh.loadAverage.start), end: saved.loadAverage.end },
  };
}

async function main(): Promise<void> {
  const quick = values.quick!;
  const budgetSeconds = positive('budget', values.budget, quick ? 5 : 30, false);
  const seeds = positive('seeds', values.seeds, quick ? 1 : 3, true);
  const hidden = positive('hidden', values.hidden, quick ? 32 : 128, true);
  const tasks = list('tasks', values.tasks!, TASK_NAMES);
  const [clock] = list<Clock>('clock', values.clock!, CLOCKS);
  const methods = values.methods!.split(',').map(suiteMethod);
  const out = values.out ?? (quick ? path.join(QUICK_RESULTS, 'suite') : path.join('results', 'suite'));
  if (values['report-only']) return reportOnly(out);
  const flags = [
    quick ? '--quick' : '',
    values.tasks === TASK_NAMES.join(',') ? '' : `--tasks ${values.tasks}`,
    values.methods === DEFAULT_METHODS.join(',') ? '' : `--methods ${values.methods}`,
    values.budget ? `--budget ${values.budget}` : '',
    clock === 'wall' ? '' : `--clock ${clock}`,
    values.seeds ? `--seeds ${values.seeds}` : '',
    values.hidden ? `--hidden ${values.hidden}` : '',
    values.out ? `--out ${values.out}` : '',
  ].filter(Boolean);
  const started = performance.now(),
    loadStart = os.loadavg()[0];
  const fresh: SuiteResults = {
    command: `npm run suite${flags.length ? ` -- ${flags.join(' ')}` : ''}`,
    machine: `${os.cpus()[0].model}, ${os.cpus().length} CPUs, Node ${process.version}`,
    date: new Date().toISOString(),
    quick,
    hidden,
    budgetSeconds,
    clock,
    seeds,
    methods: methods.map((m) => m.key),
    loadAverage: { start: loadStart, end: loadStart },
    wallSeconds: 0,
    tasks: [],
    runs: [],
    ...(values.note ? { note: values.note } : {}),
  };
  const results = values.append ? appendTo(out, fresh) : fresh;
  const wallBefore = results.wallSeconds;
  fs.mkdirSync(out, { recursive: true });
  // Saved after every run, so an interrupted suite keeps what it measured.
  const save = () => {
    results.wallSeconds = wallBefore + (performance.now() - started) / 1000;
    results.loadAverage.end = os.loadavg()[0];
    fs.writeFileSync(path.join(out, 'suite.json'), JSON.stringify(results, null, 1));
    fs.writeFileSync(path.join(out, 'REPORT.md'), renderSuite(results));
  };
  for (const name of tasks as TaskName[]) {
    const built = performance.now();
    const task = buildTask(name, quick ? 'quick' : 'full');
    const saved = results.tasks.find((t) => t.name === name);
    const info = saved ?? taskInfo(task, (performance.now() - built) / 1000);
    if (!saved) results.tasks.push(info);
    for (let seed = 0; seed < seeds; seed++) {
      if (info.floors[seed] === undefined) info.floors[seed] = readoutFloor(task, hidden, seed);
      const floor = info.floors[seed];
      const reference = `${task.reference.what}: ${task.reference.value.toFixed(4)}`;
      console.log(`${name.padEnd(15)} seed ${seed}  readout-only floor ${floor.toFixed(4)}  (${reference})`);
      for (const method of methods) {
        const run = await runSuiteMethod(task, method, { hidden, budgetSeconds, clock, seed, floor });
        const summary = summarise(run);
        const same = (r: SuiteRun) => r.task === run.task && r.seed === run.seed && r.method === run.method;
        results.runs = [...results.runs.filter((r) => !same(r)), { ...run, summary }];
        save();
        console.log(logLine(run, summary));
      }
    }
  }
  save();
  await stopAscentWorkers();
  const written = `${path.join(out, 'suite.json')} and ${path.join(out, 'REPORT.md')}`;
  console.log(`wrote ${written} (${results.wallSeconds.toFixed(0)} s)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
