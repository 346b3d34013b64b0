/**
 * npm run suite: deterministic task builders with sane shapes and labels, the checks' rules,
 * and the runner + report on a tiny task.
 */
import test from 'ava';
import { Random } from '../lib';
import { TrainingBudget } from '../scripts/suite/budget';
import { CHECKS, floorCheck, lossCheck, summarise, testCheck } from '../scripts/suite/checks';
import { COLOUR_COUNT, colourCount } from '../scripts/suite/generators/colour-count';
import { REBER_SYMBOLS, embeddedReber, embeddedReberString, isEmbeddedReber } from '../scripts/suite/generators/reber';
import { TEMPORAL_ORDER, temporalOrder } from '../scripts/suite/generators/temporal-order';
import { DEFAULT_METHODS, suiteMethod } from '../scripts/suite/methods';
import { METHOD_HEADERS, type SuiteResults, renderSuite } from '../scripts/suite/report';
import { type SuiteRun, readoutFloor, runSuiteMethod } from '../scripts/suite/runner';
import { type SuiteTask, TASK_NAMES, TASK_SIZES, buildTask, sequences, taskInfo } from '../scripts/suite/tasks';

const same = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => v === b[i]);

for (const name of TASK_NAMES)
  test(`task ${name}: same seed → identical arrays; shapes, label ranges and class balance`, (t) => {
    const a = buildTask(name, 'quick', 0),
      b = buildTask(name, 'quick', 0);
    for (const split of ['train', 'test'] as const) {
      t.true(same(a[split].inputs, b[split].inputs), `${split} inputs differ between two builds`);
      t.true(same(a[split].targets, b[split].targets), `${split} targets differ between two builds`);
      const data = a[split],
        T = data.sequenceLength,
        N = sequences(data, a.inputSize);
      const perSequence = (a.lossSteps === 'every' ? T : 1) * (a.metric === 'mse' ? a.outputSize : 1);
      t.true(Number.isInteger(N) && N > 0);
      t.is(data.targets.length, N * perSequence);
      const x = data.inputs,
        d = a.inputSize;
      t.true(x instanceof Int32Array ? x.every((id) => id >= 0 && id < d) : x.every(Number.isFinite), 'inputs');
      if (a.metric === 'mse') {
        t.true(data.targets instanceof Float32Array && data.targets.every(Number.isFinite));
        continue;
      }
      t.true(data.targets instanceof Int32Array && data.targets.every((y) => y >= 0 && y < a.outputSize), 'labels');
      if (a.lossSteps === 'every') continue; // next character: the text decides the frequencies
      const counts = new Array(a.outputSize).fill(0);
      for (const y of data.targets) counts[y]++;
      // mnist10k's test split is what is left after 800 images per digit: 63 to 327 per digit.
      const slack = name === 'mnist' && split === 'test' ? 0.75 : 0.4,
        even = N / a.outputSize;
      const balanced = Math.min(...counts) >= (1 - slack) * even && Math.max(...counts) <= (1 + slack) * even;
      t.true(balanced, `${split} classes: ${counts}`);
    }
    const sizes = TASK_SIZES.quick[name],
      info = taskInfo(a, 0);
    if (name !== 'text') t.deepEqual([info.train, info.test], [sizes.train, sizes.test]);
    t.true(a.reference.value > 0 && a.checkScale > 0);
    if (name !== 'mnist' && name !== 'text') {
      t.false(same(a.train.inputs, buildTask(name, 'quick', 1).train.inputs), 'another seed gives other data');
      t.false(same(a.train.inputs.subarray(0, 100), a.test.inputs.subarray(0, 100)), 'train and test differ');
    }
  });

test('colour count: the class colour three times in the second half, the decoy three times in the first', (t) => {
  const { inputs, targets } = colourCount(200, 3);
  const { length: T, colours, shades } = COLOUR_COUNT;
  for (let n = 0; n < 200; n++) {
    const row = Array.from(inputs.subarray(n * T, (n + 1) * T));
    const count = (half: number[], c: number) => half.filter((s) => s < colours * shades && s % colours === c).length;
    const first = row.slice(0, T / 2),
      second = row.slice(T / 2);
    t.is(count(second, targets[n]), 3);
    t.is(count(first, targets[n]), 0);
    t.true([...Array(colours).keys()].some((c) => c !== targets[n] && count(first, c) === 3));
  }
});

test('temporal order: the label is the order of the two relevant symbols', (t) => {
  const T = 30,
    { inputs, targets } = temporalOrder(100, T, 5);
  const { X, Y, B, E } = TEMPORAL_ORDER;
  for (let n = 0; n < 100; n++) {
    const row = Array.from(inputs.subarray(n * T, (n + 1) * T));
    t.is(row[0], B);
    t.is(row[T - 1], E);
    const relevant = row.map((s, i) => [s, i]).filter(([s]) => s === X || s === Y);
    t.is(relevant.length, 2);
    t.is((relevant[0][0] === Y ? 2 : 0) + (relevant[1][0] === Y ? 1 : 0), targets[n]);
    t.true(relevant[0][1] >= 3 && relevant[0][1] < 6 && relevant[1][1] >= 15 && relevant[1][1] < 18);
  }
  t.throws(() => temporalOrder(4, 5, 0), { instanceOf: RangeError, message: /T must be/ });
});

test('embedded Reber: valid strings are valid, both error kinds are invalid, padding on the left', (t) => {
  const rng = new Random(7);
  for (let i = 0; i < 200; i++) {
    t.true(isEmbeddedReber(embeddedReberString(rng, 20, 'none')));
    const long = embeddedReberString(rng, 20, 'long-range');
    t.false(isEmbeddedReber(long));
    t.not(long[1], long[long.length - 2]);
    t.false(isEmbeddedReber(embeddedReberString(rng, 20, 'local')));
  }
  const T = 20,
    { inputs, targets } = embeddedReber(100, T, 2);
  for (let n = 0; n < 100; n++) {
    const ids = Array.from(inputs.subarray(n * T, (n + 1) * T)).filter((id) => id !== 0);
    t.is(inputs[n * T + T - 1], REBER_SYMBOLS.indexOf('E'));
    const symbols = ids.map((id) => REBER_SYMBOLS[id]) as Parameters<typeof isEmbeddedReber>[0];
    t.is(isEmbeddedReber(symbols), targets[n] === 1);
  }
});

/** A run whose training losses and test metrics follow the lists (iteration i + 1 each). */
function run(losses: number[], tests: number[], extra: Partial<SuiteRun> = {}): SuiteRun {
  return {
    task: 'x',
    method: 'adjoint',
    label: 'ADMM adjoint',
    family: 'admm',
    seed: 0,
    metric: 'accuracy',
    higherIsBetter: true,
    checkScale: 1,
    hidden: 4,
    budgetSeconds: 1,
    clock: 'wall',
    maxIterations: 100,
    init: { scheme: 'normal', scale: 0.1, seed: 0 },
    options: {},
    floor: 0.5,
    initialLoss: 2,
    initialTest: 0.1,
    status: 'aborted',
    message: '',
    trainSeconds: 1,
    wallSeconds: 1,
    points: losses.map((loss, i) => ({ iteration: i + 1, seconds: i + 1, loss, test: tests[i], rho: [i + 1, 1, 1] })),
    ...extra,
  };
}

test('checks: loss rises over 2%, test drops after iteration 3, floor + 0.10 within 60 iterations', (t) => {
  const steady = run([1.5, 1.2, 1.19, 1.1, 1.0], [0.5, 0.58, 0.62, 0.6, 0.61]);
  t.deepEqual(lossCheck(steady), { pass: true, rises: 0, maxRise: 0 });
  t.true(testCheck(steady).pass);
  t.deepEqual(floorCheck(steady), { pass: true, iteration: 3 });
  const shaky = run([1.5, 1.2, 1.23, 1.0, 1.1], [0.5, 0.7, 0.6, 0.66, 0.8]);
  t.like(lossCheck(shaky), { pass: false, rises: 2 });
  t.true(Math.abs(lossCheck(shaky).maxRise - 0.1) < 1e-12);
  t.false(testCheck(shaky).pass); // 0.66 after iteration 3 is 0.04 below the best 0.70
  t.true(Math.abs(testCheck(shaky).maxDrop - 0.04) < 1e-12);
  t.is(testCheck(run([1], [0.5])).pass, null); // nothing after iteration 3
  t.is(floorCheck(run([1, 1], [0.55, 0.58])).pass, null); // the budget ended first: open
  t.is(floorCheck(run([1, 1], [0.55, 0.58], { status: 'plateau' })).pass, false);
  t.is(floorCheck(run(new Array(60).fill(1), new Array(60).fill(0.55))).pass, false);
  // Lower is better, MSE scaled by checkScale: a 0.1 × 0.2 gain over the floor suffices.
  const mse = run([1, 1], [0.49, 0.47], { higherIsBetter: false, metric: 'mse', checkScale: 0.2 });
  t.deepEqual(floorCheck(mse), { pass: true, iteration: 2 });
  t.like(lossCheck(run([1, NaN], [0.5, 0.5], { status: 'diverged' })), { pass: false });
  const s = summarise(shaky);
  t.like(s, { iterations: 5, final: 0.8, best: 0.8, bestIteration: 5, floorIteration: 2, rho1: [1, 5] });
  t.true(Math.abs(s.gainOverFloor - 0.3) < 1e-12);
  t.is(CHECKS.floorWithin, 60);
});

test('runner and report: every method on a tiny task stops at its budget and reports its fields', async (t) => {
  const full = buildTask('temporal-order', 'quick', 0),
    T = full.train.sequenceLength;
  const inputs = full.train.inputs.subarray(0, 256 * T),
    targets = full.train.targets.subarray(0, 256);
  const task: SuiteTask = { ...full, train: { ...full.train, inputs, targets } };
  const floor = readoutFloor(task, 8, 0);
  t.true(floor >= 0 && floor <= 1);
  t.is(readoutFloor(task, 8, 0), floor, 'same seed, same floor');
  const runs: SuiteResults['runs'] = [];
  for (const key of DEFAULT_METHODS) {
    // The CPU clock (this process's CPU seconds): other test files on the same cores do not eat the budget.
    const r = await runSuiteMethod(task, suiteMethod(key), {
      hidden: 8,
      budgetSeconds: 0.7,
      clock: 'cpu',
      seed: 0,
      floor,
    });
    t.true(['aborted', 'stopped'].includes(r.status), `${key}: ${r.status} ${r.message}`);
    t.true(r.points.length > 0, `${key} completed an iteration`);
    for (const p of r.points) {
      t.true(p.seconds <= 0.7, `${key}: iteration ${p.iteration} finished after the budget (${p.seconds} s)`);
      t.true(Number.isFinite(p.loss) && p.test >= 0 && p.test <= 1, `${key} at ${p.iteration}: ${p.loss}, ${p.test}`);
    }
    t.is(
      r.points.every((p) => p.rho !== undefined),
      r.family === 'admm',
      `${key}: ρ recorded exactly for ADMM`
    );
    // CPU seconds of two busy threads outrun the wall clock, so wall ≥ train is checked on the wall clock below.
    t.true(r.trainSeconds >= 0.7 && r.wallSeconds > 0, `${key}: ${r.trainSeconds} s, ${r.wallSeconds} s`);
    t.truthy(r.options);
    runs.push({ ...r, summary: summarise(r) });
  }
  // The wall clock (the suite's default).
  const settings = { hidden: 8, budgetSeconds: 0.5, seed: 0, floor };
  const wall = await runSuiteMethod(task, suiteMethod('adam'), settings);
  t.is(wall.clock, 'wall');
  t.true(wall.points.length > 0 && wall.points.every((p) => p.seconds <= 0.5) && wall.trainSeconds >= 0.5);
  t.true(wall.wallSeconds >= wall.trainSeconds, `${wall.trainSeconds} s, ${wall.wallSeconds} s`);
  t.throws(() => new TrainingBudget(0), { instanceOf: RangeError, message: /seconds must be a positive number/ });
  t.throws(() => suiteMethod('rmsprop'), { instanceOf: RangeError, message: /--methods: unknown method 'rmsprop'/ });

  const report = renderSuite({
    command: 'npm run suite -- --tasks temporal-order',
    machine: 'test',
    date: 'today',
    quick: true,
    hidden: 8,
    budgetSeconds: 0.7,
    clock: 'cpu',
    seeds: 1,
    methods: DEFAULT_METHODS,
    loadAverage: { start: 0, end: 0 },
    wallSeconds: 1,
    runs,
    tasks: [{ ...taskInfo(task, 0), floors: [floor] }],
  });
  t.regex(report, /^# Task suite \(quick\)\n\nRegenerate: `npm run suite -- --tasks temporal-order`/);
  for (const r of runs) {
    const line = report.split('\n').find((l) => l.startsWith(`| ${r.label} | ${r.summary.final.toFixed(3)} |`));
    t.truthy(line, `a row for ${r.label}`);
    t.is(line!.split(' | ').length, METHOD_HEADERS.length, 'every column');
  }
  t.regex(report, /256 train \/ 500 test sequences, T = 20/);
  t.regex(
    report,
    new RegExp(
      `\\| temporal-order \\| test accuracy \\(↑\\) \\| \\d\\.\\d{3} \\|( \\d\\.\\d{3} \\|){${DEFAULT_METHODS.length}}`
    )
  );
  t.regex(report, /\| BPTT Adam \| \d+\/\d+( \(\d+ open\))? \| /);
  // Item 3's table: the default mode against Adam, judged by the stated margin.
  const final = (key: string) => runs.find((r) => r.method === key)!.summary.final;
  const met = final('adjoint') - final('adam') >= -0.01 ? '✓' : '✗';
  const adamRow = `| temporal-order | test accuracy | ${final('adjoint').toFixed(3)} | ${final('adam').toFixed(3)} |`;
  t.true(report.includes(adamRow), 'the default-against-Adam row');
  t.regex(report, new RegExp(`\\| ≥ Adam − 0\\.01 \\| ${met} \\|\n\nMet on ${met === '✓' ? 1 : 0} of 1 tasks`));
  // The ranking: the ADMM modes only, best first, and the verdict about the library's default.
  const ranking = report.slice(report.indexOf('## Choosing the default mode'), report.indexOf('## Per task'));
  const ranked = ranking.split('\n').filter((l) => l.startsWith('| ADMM ') && !l.startsWith('| ADMM mode'));
  t.is(ranked.length, DEFAULT_METHODS.filter((m) => suiteMethod(m).trainer === 'admm').length);
  // Ordered by item 2's checks passed on every run, item 3's targets met against Adam (most first),
  // then by mean rank (best first).
  const keys = ranked.map((l) => {
    const cells = l.split(' | ');
    const [passed, runs] = cells[4].replace(' |', '').split('/').map(Number);
    const met = cells[1] === '—' ? 0 : Number(cells[1].split(' of ')[0]);
    return { stable: Number(passed === runs), met, rank: Number(cells[2].split(' over ')[0]) };
  });
  t.deepEqual(
    keys,
    [...keys].sort((a, b) => b.stable - a.stable || b.met - a.met || a.rank - b.rank),
    'sorted by stability, targets met, then mean rank'
  );
  const adjointRow = ranked.find((l) => l.startsWith('| ADMM adjoint |'))!;
  t.true(adjointRow.startsWith(`| ADMM adjoint | ${met === '✓' ? 1 : 0} of 1 tasks | `), adjointRow);
  t.regex(
    ranking,
    /then by mean rank\. First: '[a-z-]+'(, the library's default mode\.|, but the library's default mode is 'adjoint'\.)/
  );
});
