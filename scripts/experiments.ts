/**
 * npm run experiments — the paper's claims, tested on real data in one command:
 * (a) ADMMiRNN modes vs BPTT SGD/Momentum/Adagrad/RMSProp/Adam on mnist10k and next-character
 * Metamorphosis, (b) initialisation sensitivity, (c) the adding problem (long-range dependence,
 * per-step signal vs BPTT's per-step gradient norms). Writes results/experiments-<suite>.json,
 * the experiments-* sections of EXPERIMENTS.md and docs/figures/*.svg.
 *
 *   npm run experiments -- [--quick] [--suites comparison,init,adding] [--methods NAME,NAME] [--report-only]
 *                          [--out FILE] [--figures DIR]
 *
 * --report-only regenerates the report and the figures from the saved results without training.
 * --quick writes to results/quick/ (its JSON, EXPERIMENTS.md and figures/; --out / --figures override)
 * so a quick check never overwrites the committed full run. --methods (names as in the tables, e.g.
 * 'ADMM persistent (exact),ADMM local-duals') re-runs only those methods and replaces their runs in
 * the saved results, keeping every other run: a change to one mode is re-measured without the rest.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { QUICK_RESULTS, replaceSection } from './ablation/report';
import { writeCharts } from './experiments/charts';
import { renderExperiments } from './experiments/report';
import type { RunRecord } from './experiments/runner';
import { byName } from './experiments/methods';
import { type SavedParts, describePart, partsAfterRerun, partsOf } from './experiments/parts';
import { SIZES, addingSuite, comparisonSuite, initSuite, onlyMethods } from './experiments/suites';
import { finalTest, stability, stepRatio } from './experiments/verdicts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    suites: { type: 'string', default: 'comparison,init,adding' },
    methods: { type: 'string' },
    'report-only': { type: 'boolean', default: false },
    out: { type: 'string' },
    figures: { type: 'string' },
  },
});

const SUITES = ['comparison', 'init', 'adding'] as const;
type Suite = (typeof SUITES)[number];
const resultsFile = (suite: Suite, quick: boolean) =>
  path.join(quick ? QUICK_RESULTS : 'results', `experiments-${suite}.json`);

function log(r: RunRecord): void {
  const p = r.points[r.points.length - 1];
  console.log(
    `${r.suite.padEnd(10)} ${r.dataset.padEnd(13)} ${r.method.padEnd(29)} ${String(r.config.init.scheme === 'normal' ? `σ=${r.config.init.scale}` : r.config.init.scheme).padEnd(10)}  it ${String(r.points.length).padStart(3)}  ${(p?.seconds ?? 0).toFixed(1).padStart(5)} s  loss ${r.initialLoss.toFixed(3)} → ${(p?.loss ?? NaN).toFixed(3)}  test ${finalTest(r).toFixed(4)}  ratio ${stepRatio(r).toExponential(1)}  ${r.status} (${stability(r).why})`
  );
}

const runKey = (r: RunRecord) => JSON.stringify([r.dataset, r.method, r.config.init]);

/** A saved suite's file: its runs and when they were measured. */
interface SavedSuite extends SavedParts {
  runs: RunRecord[];
}

/** The saved suite of `file`, and its runs with those `fresh` re-measured replaced in place (new ones appended). */
function merged(file: string, fresh: RunRecord[]): { runs: RunRecord[]; saved: SavedSuite } {
  if (!fs.existsSync(file)) throw new RangeError(`--methods: no saved results ${file} to merge into`);
  const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as SavedSuite;
  const byKey = new Map(fresh.map((r) => [runKey(r), r]));
  const out = saved.runs.map((r) => byKey.get(runKey(r)) ?? r);
  const kept = new Set(saved.runs.map(runKey));
  return { runs: [...out, ...fresh.filter((r) => !kept.has(runKey(r)))], saved };
}

async function main(): Promise<void> {
  const quick = values.quick!,
    sizes = SIZES[quick ? 'quick' : 'full'];
  const out = values.out ?? (quick ? path.join(QUICK_RESULTS, 'EXPERIMENTS.md') : 'EXPERIMENTS.md');
  const figures = values.figures ?? (quick ? path.join(QUICK_RESULTS, 'figures') : path.join('docs', 'figures'));
  const suites = values.suites!.split(',').map((s) => {
    if (!(SUITES as readonly string[]).includes(s))
      throw new Error(`--suites: unknown suite ${s} (choose from ${SUITES.join(', ')})`);
    return s as Suite;
  });
  const machine = `${os.cpus()[0].model}, ${os.cpus().length} CPUs, Node ${process.version}`;
  const methods = values.methods?.split(',');
  if (methods) byName(methods); // an unknown name fails here, before any training
  onlyMethods(methods);
  const command = `npm run experiments --${quick ? ' --quick' : ''}${values.suites === 'comparison,init,adding' ? '' : ` --suites ${values.suites}`}`;
  fs.mkdirSync(path.dirname(resultsFile(SUITES[0], quick)), { recursive: true });
  if (!values['report-only']) {
    const run = {
      comparison: () => comparisonSuite(sizes.comparison, log),
      init: () => initSuite(sizes.init, log),
      adding: () => addingSuite(sizes.adding, log),
    };
    for (const suite of suites) {
      const started = Date.now(),
        load = os.loadavg();
      const fresh = await run[suite]();
      const earlier = methods ? merged(resultsFile(suite, quick), fresh) : undefined;
      // The load average says whether other jobs shared the CPUs (budgets are CPU seconds).
      const date = new Date().toISOString(),
        loadAverage = { start: load, end: os.loadavg() };
      const part = { methods: methods?.join(', ') ?? 'all', date, loadAverage };
      const payload = {
        command,
        machine,
        quick,
        date,
        seconds: (Date.now() - started) / 1000,
        loadAverage,
        parts: earlier ? partsAfterRerun(earlier.saved, methods!, part) : [part],
        sizes: sizes[suite],
        runs: earlier?.runs ?? fresh,
      };
      fs.writeFileSync(resultsFile(suite, quick), JSON.stringify(payload, null, 1));
      console.log(`wrote ${resultsFile(suite, quick)} (${payload.seconds.toFixed(0)} s)`);
    }
  }
  // The report covers every suite whose results exist for this mode, freshly run or saved earlier.
  const runs: RunRecord[] = [];
  let date = '';
  const loads: string[] = [];
  for (const suite of SUITES) {
    const file = resultsFile(suite, quick);
    if (!fs.existsSync(file)) continue;
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as SavedSuite;
    runs.push(...saved.runs);
    date = date > saved.date ? date : saved.date;
    loads.push(`${suite} ${partsOf(saved).map(describePart).join(', then ')}`);
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const sections = renderExperiments(runs, {
    figures: path.relative(path.dirname(out), figures).split(path.sep).join('/') || '.',
    command: `npm run experiments --${quick ? ' --quick' : ''}`,
    machine: `${machine}; 1-minute load average at start→end of each suite: ${loads.join(', ') || 'not recorded'} (budgets are CPU seconds, so other jobs stretch the wall time, not the compute)`,
    date,
    quick,
  });
  for (const [name, body] of Object.entries(sections)) replaceSection(out, name, body);
  const charts = await writeCharts(runs, figures);
  console.log(`wrote ${Object.keys(sections).length} sections of ${out} and ${charts.length} charts in ${figures}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
