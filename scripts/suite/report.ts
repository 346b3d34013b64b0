/**
 * The suite's markdown report from its results (pure: results in, markdown out): the command
 * that regenerates it, a summary matrix (task × method → final test metric, with the floor),
 * then per task a table of every method with the stability checks as pass/fail columns.
 */
import { resolveTrainerOptions } from '../../lib/admm/options';
import type { Clock } from './budget';
import { CHECKS, type Check, type RunSummary, gain } from './checks';
import type { SuiteRun } from './runner';
import type { SuiteTask } from './tasks';

export interface TaskInfo {
  name: string;
  kind: string;
  description: string;
  metric: SuiteTask['metric'];
  higherIsBetter: boolean;
  reference: SuiteTask['reference'];
  checkScale: number;
  train: number;
  test: number;
  T: number;
  inputSize: number;
  outputSize: number;
  lossSteps: string;
  /** Readout-only floor per seed. */
  floors: number[];
  /** Seconds to build the task (loading or generating). */
  buildSeconds: number;
}

export interface SuiteResults {
  command: string;
  machine: string;
  date: string;
  quick: boolean;
  hidden: number;
  budgetSeconds: number;
  clock: Clock;
  seeds: number;
  methods: string[];
  /** 1-minute load average at the start and end: budgets are wall-clock seconds on a shared machine. */
  loadAverage: { start: number; end: number };
  wallSeconds: number;
  tasks: TaskInfo[];
  runs: (SuiteRun & { summary: RunSummary })[];
  /** Added to the report header (e.g. a caveat about the machine's load). */
  note?: string;
}

const METRIC_NAME: Record<SuiteTask['metric'], string> = {
  accuracy: 'test accuracy',
  'cross-entropy': 'held-out nats/char',
  mse: 'test MSE',
};
const digits = (metric: SuiteTask['metric']) => (metric === 'mse' ? 4 : 3);
const fmt = (v: number | undefined, d = 3) =>
  v === undefined || Number.isNaN(v) ? '—' : Number.isFinite(v) ? v.toFixed(d) : String(v);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / Math.max(1, xs.length - 1));
/** Signed to `d` digits; a value that rounds to zero gets no sign. */
function signed(v: number, d: number): string {
  if (!Number.isFinite(v)) return '—';
  const text = Math.abs(v).toFixed(d);
  return Number(text) === 0 ? text : `${v > 0 ? '+' : '−'}${text}`;
}
const row = (cells: string[]) => `| ${cells.join(' | ')} |`;

/** mean ± sd over seeds (just the value for one seed). */
function spread(xs: number[], d: number): string {
  return xs.length === 1 ? fmt(xs[0], d) : `${fmt(mean(xs), d)} ± ${fmt(sd(xs), d)}`;
}

/** "passed/decided" over runs, with the undecided ones counted as open. */
function tally(values: Check[]): string {
  const decided = values.filter((v) => v !== null),
    open = values.length - decided.length;
  return `${decided.filter((v) => v).length}/${decided.length}${open ? ` (${open} open)` : ''}`;
}

/** One check: ✓ / ✗ detail / open for one run, the tally for several seeds. */
function checkCell(values: Check[], detail: () => string): string {
  if (values.length > 1) return tally(values);
  return values[0] === null ? 'open' : values[0] ? '✓' : `✗ ${detail()}`.trim();
}

const CHECK_HEADERS = ['loss rise ≤ 2%', 'test drop ≤ 0.03 after it 3', 'floor + 0.10 ≤ 60 it'];
export const METHOD_HEADERS = [
  'method',
  'final',
  'best',
  'iterations',
  'train s',
  'wall s',
  'vs floor',
  'vs Adam',
  ...CHECK_HEADERS,
  'ρ1 first → last',
  'end',
];

export function methodRows(task: TaskInfo, runs: SuiteResults['runs'], methods: string[]): string[] {
  const d = digits(task.metric);
  const adam = runs.filter((r) => r.method === 'adam').map((r) => r.summary.final);
  return methods.flatMap((m) => {
    const rs = runs.filter((r) => r.method === m);
    if (!rs.length) return [];
    const s = rs.map((r) => r.summary),
      one = s[0];
    const final = mean(s.map((x) => x.final));
    const vsAdam = m === 'adam' || !adam.length ? '—' : signed(gain(rs[0], final, mean(adam)), d);
    const rises = () => (one.lossRises ? `${one.lossRises}× (max +${fmt(100 * one.maxLossRise, 0)}%)` : rs[0].status);
    const loss = checkCell(
      s.map((x) => x.lossCheck),
      rises
    );
    const test = checkCell(
      s.map((x) => x.testCheck),
      () => `−${fmt(one.maxTestDrop, d)}`
    );
    const done = () => (one.iterations < CHECKS.floorWithin ? `(${one.iterations} it)` : '');
    let floor = checkCell(
      s.map((x) => x.floorCheck),
      done
    );
    if (s.length === 1 && one.floorIteration) floor += ` it ${one.floorIteration}`;
    const rho = rs[0].family === 'admm' && one.rho1 ? `${fmt(one.rho1[0], 2)} → ${fmt(one.rho1[1], 2)}` : '—';
    const ends = rs.map((r) => (r.status === 'aborted' || r.status === 'stopped' ? 'budget' : r.status));
    return [
      row([
        rs[0].label,
        spread(
          s.map((x) => x.final),
          d
        ),
        spread(
          s.map((x) => x.best),
          d
        ),
        spread(
          s.map((x) => x.iterations),
          0
        ),
        fmt(mean(rs.map((r) => r.trainSeconds)), 1),
        fmt(mean(rs.map((r) => r.wallSeconds)), 1),
        signed(mean(s.map((x) => x.gainOverFloor)), d),
        vsAdam,
        loss,
        test,
        floor,
        rho,
        [...new Set(ends)].join(', '),
      ]),
    ];
  });
}

function taskSection(task: TaskInfo, results: SuiteResults): string[] {
  const runs = results.runs.filter((r) => r.task === task.name);
  const d = digits(task.metric);
  const unit = task.metric === 'mse' ? ` (MSE thresholds × ${fmt(task.checkScale, 4)}, the predict-the-mean MSE)` : '';
  const where = task.lossSteps === 'every' ? 'every step' : 'the last step';
  return [
    `### ${task.name} — ${task.kind}`,
    '',
    [
      `${task.description}. ${task.train} train / ${task.test} test sequences, T = ${task.T},`,
      `input ${task.inputSize}, output ${task.outputSize}, loss at ${where}.`,
      `Metric: ${METRIC_NAME[task.metric]}, ${task.higherIsBetter ? 'higher' : 'lower'} is better.`,
      `**Readout-only floor ${spread(task.floors, d)}**;`,
      `${task.reference.what}: ${fmt(task.reference.value, d)}${unit}.`,
    ].join(' '),
    '',
    row(METHOD_HEADERS),
    `|${METHOD_HEADERS.map(() => '---').join('|')}|`,
    ...methodRows(task, runs, results.methods),
    '',
  ];
}

const labelOf = (results: SuiteResults, m: string) => results.runs.find((r) => r.method === m)?.label ?? m;

/** Mean final metric of `method` on `task` (undefined if it did not run there). */
function meanFinal(results: SuiteResults, task: string, method: string): number | undefined {
  const rs = results.runs.filter((r) => r.task === task && r.method === method);
  return rs.length ? mean(rs.map((r) => r.summary.final)) : undefined;
}

function summaryMatrix(results: SuiteResults): string[] {
  const labels = results.methods.map((m) => labelOf(results, m));
  const lines = [row(['task', 'metric', 'floor', ...labels]), `|---|---|---|${labels.map(() => '---').join('|')}|`];
  for (const task of results.tasks) {
    const d = digits(task.metric);
    const cells = results.methods.map((m) => {
      const final = meanFinal(results, task.name, m);
      return final === undefined ? '—' : fmt(final, d);
    });
    const metric = `${METRIC_NAME[task.metric]} (${task.higherIsBetter ? '↑' : '↓'})`;
    lines.push(row([task.name, metric, fmt(mean(task.floors), d), ...cells]));
  }
  return lines;
}

/** Per method over every task and seed: how many runs passed each check (of those it decided). */
function checkTotals(results: SuiteResults): string[] {
  const lines = [row(['method', ...CHECK_HEADERS, 'runs']), '|---|---|---|---|---|'];
  for (const m of results.methods) {
    const s = results.runs.filter((r) => r.method === m).map((r) => r.summary);
    if (!s.length) continue;
    const counts = [s.map((x) => x.lossCheck), s.map((x) => x.testCheck), s.map((x) => x.floorCheck)].map(tally);
    lines.push(row([labelOf(results, m), ...counts, String(s.length)]));
  }
  return lines;
}

/** The suite's method key of the library's default ADMM mode. */
const DEFAULT_MODE: string = resolveTrainerOptions({}).mode;

/** A mode's mean final metric on a task against BPTT Adam's, and issue 16's item-3 target on it. */
interface AgainstAdam {
  ours: number;
  adam: number;
  /** ours − Adam, signed so that + is better. */
  diff: number;
  /** The allowed shortfall: 0.01 accuracy, 0.02 nats/char; undefined for MSE (no target). */
  margin: number | undefined;
  met: boolean | undefined;
}

function againstAdam(results: SuiteResults, task: TaskInfo, method: string): AgainstAdam | undefined {
  const ours = meanFinal(results, task.name, method),
    adam = meanFinal(results, task.name, 'adam');
  if (ours === undefined || adam === undefined) return undefined;
  const diff = task.higherIsBetter ? ours - adam : adam - ours;
  const margin = task.metric === 'accuracy' ? 0.01 : task.metric === 'cross-entropy' ? 0.02 : undefined;
  return { ours, adam, diff, margin, met: margin === undefined ? undefined : diff >= -margin };
}

/** Of the tasks with a target, on how many `method` meets it: [met, judged]. */
function targetsMet(results: SuiteResults, method: string): [number, number] {
  let met = 0,
    judged = 0;
  for (const task of results.tasks) {
    const a = againstAdam(results, task, method);
    if (a?.met === undefined) continue;
    judged++;
    if (a.met) met++;
  }
  return [met, judged];
}

/**
 * Issue 16's item 3: per task, the default mode against BPTT Adam at the same budget. The target
 * is final accuracy ≥ Adam's − 0.01 on classification and held-out nats/char ≤ Adam's + 0.02 on
 * text; MSE tasks are shown but have no target.
 */
function defaultAgainstAdam(results: SuiteResults): string[] {
  const lines = [
    row(['task', 'metric', `default ('${DEFAULT_MODE}')`, 'BPTT Adam', 'default − Adam (+ better)', 'target', 'met']),
    '|---|---|---|---|---|---|---|',
  ];
  for (const task of results.tasks) {
    const a = againstAdam(results, task, DEFAULT_MODE);
    if (!a) continue;
    const d = digits(task.metric);
    const target =
      a.margin === undefined ? '— (MSE: no target)' : `${task.higherIsBetter ? '≥ Adam −' : '≤ Adam +'} ${a.margin}`;
    lines.push(
      row([
        task.name,
        METRIC_NAME[task.metric],
        fmt(a.ours, d),
        fmt(a.adam, d),
        signed(a.diff, d),
        target,
        a.met === undefined ? '—' : a.met ? '✓' : '✗',
      ])
    );
  }
  const [met, judged] = targetsMet(results, DEFAULT_MODE);
  return [...lines, '', `Met on ${met} of ${judged} tasks with a target (means over seeds).`];
}

/**
 * How the default mode is chosen on the whole suite, by the default's stated promises in order: every
 * run passing item 2's stability checks, then the tasks on which it meets item 3's target against
 * BPTT Adam, then its rank among the ADMM modes on every task (by mean final metric, 1 = best)
 * averaged over the tasks.
 */
function modeRanking(results: SuiteResults): string[] {
  const modes = results.methods.filter((m) => results.runs.some((r) => r.method === m && r.family === 'admm'));
  const ranks = new Map<string, number[]>(modes.map((m) => [m, []]));
  const wins = new Map<string, number>(modes.map((m) => [m, 0]));
  for (const task of results.tasks) {
    const scored = modes
      .map((m) => ({ m, v: meanFinal(results, task.name, m) }))
      .filter((x): x is { m: string; v: number } => x.v !== undefined && Number.isFinite(x.v))
      .map((x) => ({ m: x.m, v: task.higherIsBetter ? x.v : -x.v }))
      .sort((a, b) => b.v - a.v);
    scored.forEach((x, i) => ranks.get(x.m)!.push(i + 1));
    if (scored.length) wins.set(scored[0].m, wins.get(scored[0].m)! + 1);
  }
  const rows = modes
    .filter((m) => ranks.get(m)!.length)
    .map((m) => {
      const s = results.runs.filter((r) => r.method === m).map((r) => r.summary);
      const stable = s.filter((x) => x.lossCheck !== false && x.testCheck !== false).length;
      const [met, judged] = targetsMet(results, m);
      return { m, met, judged, rank: mean(ranks.get(m)!), wins: wins.get(m)!, stable, runs: s.length };
    })
    // Item 2 first (its checks on every run of the default), then item 3, then the rank.
    .sort((a, b) => Number(b.stable === b.runs) - Number(a.stable === a.runs) || b.met - a.met || a.rank - b.rank);
  const lines = [
    row([
      'ADMM mode',
      'target against BPTT Adam met',
      'mean rank among the ADMM modes',
      'best ADMM mode on',
      'runs passing both stability checks',
    ]),
    '|---|---|---|---|---|',
    ...rows.map((r) =>
      row([
        labelOf(results, r.m),
        r.judged ? `${r.met} of ${r.judged} tasks` : '—',
        `${r.rank.toFixed(2)} over ${ranks.get(r.m)!.length} tasks`,
        `${r.wins} tasks`,
        `${r.stable}/${r.runs}`,
      ])
    ),
  ];
  const best = rows[0]?.m;
  const rule =
    "Modes are ordered by whether every run passed both of item 2's stability checks, then by the tasks on which " +
    "they meet item 3's target against BPTT Adam (accuracy ≥ Adam's − 0.01, nats/char ≤ Adam's + 0.02), then by mean rank.";
  const verdict =
    best === undefined
      ? 'No ADMM mode ran.'
      : best === DEFAULT_MODE
        ? `${rule} First: '${best}', the library's default mode.`
        : `${rule} First: '${best}', but the library's default mode is '${DEFAULT_MODE}'.`;
  return [...lines, '', verdict];
}

function header(results: SuiteResults): string[] {
  const wall = results.clock === 'wall';
  const load = results.loadAverage;
  return [
    [
      `${results.date}; ${results.machine}; ${results.wallSeconds.toFixed(0)} s in all;`,
      `1-minute load average ${load.start.toFixed(1)} at the start, ${load.end.toFixed(1)} at the end.`,
      ...(results.note ? [results.note] : []),
    ].join(' '),
    '',
    [
      `Every run: h = ${results.hidden}, init N(0, 0.1²) with the run's seed (seeds 0..${results.seeds - 1};`,
      'the same seed shuffles the mini-batches), default options of each trainer (BPTT: batch 128, Adam lr 1e-3,',
      'SGD lr 0.1), and',
      `the same **${wall ? 'wall-clock' : 'CPU-time'} training budget of ${results.budgetSeconds} s**:`,
      'the clock runs while the trainer works and stops while the test set is evaluated after each iteration;',
      'when it runs out the trainer',
      'is aborted between mini-batches or blocks, and the result is the last iteration completed within the budget',
      '(an iteration is an epoch, or one full-batch pass of the persistent loop).',
      wall
        ? 'The budget is wall-clock time on a shared machine, so other jobs slow every run down (see the load average).'
        : "The budget is CPU seconds of the suite's process (all its threads), so other jobs on the machine do not " +
          'shorten a run, but a method that keeps two threads busy spends it twice as fast as wall time; ' +
          '"train s" is in CPU seconds.',
    ].join(' '),
    '',
    [
      '*final*: test metric after the last completed iteration (mean ± sd over seeds); *best*: the best test metric',
      "over the iterations; *vs floor* / *vs Adam*: final minus the readout-only floor / minus BPTT Adam's final,",
      'signed so that + is better. Checks (issue 16), one per run, "passed/decided" over several seeds:',
      `*loss rise*: the training loss of the true forward pass never rises by more than ${100 * CHECKS.lossRise}%`,
      "from one iteration to the next (the first compared with the untrained network's; ✗ n× (max +r%));",
      `*test drop*: after iteration ${CHECKS.testAfter} the test metric never falls more than ${CHECKS.testDrop}`,
      `below its running best (open: ≤ ${CHECKS.testAfter} iterations done); *floor + 0.10*: the test metric is at`,
      `least ${CHECKS.floorGain} better than the floor within ${CHECKS.floorWithin} iterations (it: the first such`,
      `iteration; open: the budget ended before ${CHECKS.floorWithin} iterations without reaching it). For MSE tasks`,
      "the 0.03 and 0.10 are fractions of the predict-the-mean MSE. *ρ1*: the ADMM run's ρ1 at its first and last",
      'iteration (with the step safeguard: the geometric mean of the ρ1 its batch updates were accepted at).',
      "*end*: budget (the budget ran out), or the trainer's status.",
    ].join(' '),
  ];
}

export function renderSuite(results: SuiteResults): string {
  return [
    `# Task suite${results.quick ? ' (quick)' : ''}`,
    '',
    `Regenerate: \`${results.command}\``,
    '',
    ...header(results),
    '',
    '## Summary: final test metric per task and method',
    '',
    ...summaryMatrix(results),
    '',
    '## Stability checks over all tasks and seeds (passed/decided)',
    '',
    ...checkTotals(results),
    '',
    '## The default mode against BPTT Adam at the same budget (issue 16, item 3)',
    '',
    ...defaultAgainstAdam(results),
    '',
    '## Choosing the default mode on the whole suite',
    '',
    ...modeRanking(results),
    '',
    '## Per task',
    '',
    ...results.tasks.flatMap((t) => taskSection(t, results)),
    'Per-iteration curves (training loss, training accuracy, test metric, training seconds, ρ) are in suite.json',
    'next to this report.',
    '',
  ].join('\n');
}
