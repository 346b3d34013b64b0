/**
 * npm run safeguard-check — the mini-batch modes with and without the step safeguard, at equal
 * epochs (issue 16, item 2): per epoch the training loss of the true forward pass, the test metric,
 * the safeguard's ρ and rejections, and the CPU seconds; the suite's two stability checks (loss
 * rise ≤ 2%, test drop ≤ 0.03 after epoch 3). Writes results/safeguard/runs.json and REPORT.md.
 *
 *   node dist/scripts/safeguard-check.js [--tasks mnist,colour-count] [--modes adjoint] [--epochs 8]
 *                                        [--size full|quick] [--hidden 128] [--out DIR] [--report-only]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AdmmTrainer, type AdmmIterationRecord, stopAscentWorkers } from '../lib';
import { testMetric } from './experiments/runner';
import { CHECKS, lossCheck, testCheck } from './suite/checks';
import { newModel } from './suite/runner';
import type { SuiteRun } from './suite/runner';
import { TASK_NAMES, type Size, type TaskName, buildTask } from './suite/tasks';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: 'mnist,colour-count,sinusoids,temporal-order,reber,adding' },
    modes: { type: 'string', default: 'adjoint' },
    epochs: { type: 'string', default: '8' },
    size: { type: 'string', default: 'full' },
    hidden: { type: 'string', default: '128' },
    out: { type: 'string', default: 'results/safeguard' },
    'report-only': { type: 'boolean', default: false },
  },
});

interface CheckRun {
  task: string;
  mode: string;
  safeguard: boolean;
  metric: string;
  higherIsBetter: boolean;
  checkScale: number;
  initialLoss: number;
  epochs: { loss: number; test: number; cpuSeconds: number; safeguard?: AdmmIterationRecord['safeguard'] }[];
  status: string;
}

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

type Mode = 'adjoint' | 'local-duals' | 'sweeps';

async function run(
  task: TaskName,
  mode: Mode,
  safeguard: boolean,
  epochs: number,
  size: Size,
  hidden: number
): Promise<CheckRun> {
  const t = buildTask(task, size, 0);
  const model = newModel(t, hidden, 0);
  const r: CheckRun = {
    task,
    mode,
    safeguard,
    metric: t.metric,
    higherIsBetter: t.metric === 'accuracy',
    checkScale: t.checkScale,
    initialLoss: model.evaluate(t.train, { lossSteps: t.lossSteps }).loss,
    epochs: [],
    status: '',
  };
  const trainer = new AdmmTrainer(model, { mode, lossSteps: t.lossSteps, seed: 0, safeguard });
  let clock = cpuSeconds();
  const result = await trainer.fit(t.train, {
    maxIterations: epochs,
    onIteration: (rec) => {
      const spent = cpuSeconds() - clock;
      const guard = rec.safeguard ? { safeguard: rec.safeguard } : {};
      r.epochs.push({ loss: rec.loss, test: testMetric(model, t), cpuSeconds: spent, ...guard });
      const s = rec.safeguard;
      const what = `${task.padEnd(15)} ${mode.padEnd(11)} ${safeguard ? 'guard' : 'plain'} ep ${rec.iteration}`;
      const test = r.epochs[r.epochs.length - 1].test;
      const guarded = s ? `  ρ1 ${s.rho[0].toFixed(2)} rej ${s.rejections}/${s.epochRejections}` : '';
      console.log(`${what}  loss ${rec.loss.toFixed(4)}  test ${test.toFixed(4)}  ${spent.toFixed(1)} cpu s${guarded}`);
      clock = cpuSeconds();
    },
  });
  r.status = result.status;
  return r;
}

/** The suite's checks on a run (the suite's SuiteRun fields they read). */
function checks(r: CheckRun) {
  const points = r.epochs.map((e, i) => ({ iteration: i + 1, seconds: 0, loss: e.loss, test: e.test }));
  const { initialLoss, status, higherIsBetter, checkScale } = r;
  const asSuite = { initialLoss, points, status, higherIsBetter, checkScale } as unknown as SuiteRun;
  return { loss: lossCheck(asSuite), test: testCheck(asSuite) };
}

/** The command line of a run's settings; merged results keep one per part (settings.parts). */
function commands(settings: Record<string, unknown>): string[] {
  const parts = (settings.parts as Record<string, unknown>[] | undefined) ?? [settings];
  return parts.map(
    (p) => `npm run safeguard-check -- --tasks ${p.tasks} --modes ${p.modes} --epochs ${p.epochs} --size ${p.size}`
  );
}

const fmt = (x: number, metric: string) => (metric === 'mse' ? x.toFixed(4) : x.toFixed(3));

function report(runs: CheckRun[], settings: Record<string, unknown>): string {
  const lines = [
    '# The step safeguard at equal epochs',
    '',
    `Regenerate: ${commands(settings)
      .map((c) => `\`${c}\``)
      .join('; ')}` + ' (with `--out` a fresh directory each, then their runs.json merged)',
    '',
    `h = ${settings.hidden}, init N(0, 0.1²) seed 0, default options (\`safeguard: false\` for the plain runs), ` +
      `the suite's ${settings.size} task sizes. Checks as in the suite: the training loss of the true forward ` +
      `pass never rises by more than ${CHECKS.lossRise * 100}% from one epoch to the next (the first against the ` +
      `untrained network), and after epoch ${CHECKS.testAfter} the test metric never falls more than ` +
      `${CHECKS.testDrop} (× the predict-the-mean MSE for MSE tasks) below its running best. CPU s: this ` +
      "process's CPU seconds per epoch (the machine was shared, so they are inflated and noisy; compare within a " +
      'row pair).',
    '',
    '| task | mode | safeguard | final | best | loss rise ≤ 2% (max rise) | test drop (max) | mean ρ1 per epoch ' +
      '| rejections (batch / epoch) | CPU s per epoch |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of runs) {
    const c = checks(r),
      last = r.epochs[r.epochs.length - 1];
    const tests = r.epochs.map((e) => e.test);
    const best = r.higherIsBetter ? Math.max(...tests) : Math.min(...tests);
    const rho = r.epochs.map((e) => (e.safeguard ? e.safeguard.rho[0].toFixed(2) : '—')).join(' ');
    const total = (key: 'rejections' | 'epochRejections') =>
      r.epochs.reduce((s, e) => s + (e.safeguard?.[key] ?? 0), 0);
    const rej = r.safeguard ? `${total('rejections')} / ${total('epochRejections')}` : '—';
    const cpu = r.epochs.reduce((s, e) => s + e.cpuSeconds, 0) / Math.max(1, r.epochs.length);
    const mark = (p: boolean | null) => (p === null ? 'open' : p ? '✓' : '✗');
    const cells = [
      `${r.task} (${r.metric})`,
      r.mode,
      r.safeguard ? 'on' : 'off',
      last ? fmt(last.test, r.metric) : '—',
      fmt(best, r.metric),
      `${mark(c.loss.pass)} (${(c.loss.maxRise * 100).toFixed(1)}%)`,
      `${mark(c.test.pass)} (${fmt(c.test.maxDrop, r.metric)})`,
      rho,
      rej,
      cpu.toFixed(2),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push('');
  lines.push('Per-epoch training loss, test metric, safeguard record and CPU seconds: runs.json beside this report.');
  lines.push('');
  return lines.join('\n');
}

async function main(): Promise<void> {
  fs.mkdirSync(values.out, { recursive: true });
  const file = path.join(values.out, 'runs.json');
  if (values['report-only']) {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(path.join(values.out, 'REPORT.md'), report(saved.runs, saved.settings));
    return;
  }
  const tasks = values.tasks.split(',').map((x) => {
    if (!(TASK_NAMES as readonly string[]).includes(x)) throw new RangeError(`--tasks: unknown task '${x}'`);
    return x as TaskName;
  });
  const modes = values.modes.split(',').map((m) => {
    if (m !== 'adjoint' && m !== 'local-duals' && m !== 'sweeps') throw new RangeError(`--modes: unknown mode '${m}'`);
    return m;
  });
  const epochs = Number(values.epochs),
    hidden = Number(values.hidden);
  if (!(Number.isInteger(epochs) && epochs > 0))
    throw new RangeError(`--epochs: a positive integer, got ${values.epochs}`);
  if (!(Number.isInteger(hidden) && hidden > 0))
    throw new RangeError(`--hidden: a positive integer, got ${values.hidden}`);
  if (values.size !== 'full' && values.size !== 'quick')
    throw new RangeError(`--size: full or quick, got ${values.size}`);
  const settings = { tasks: values.tasks, modes: values.modes, epochs, size: values.size, hidden };
  const runs: CheckRun[] = [];
  for (const task of tasks)
    for (const mode of modes)
      for (const safeguard of [false, true]) {
        runs.push(await run(task, mode, safeguard, epochs, values.size, hidden));
        fs.writeFileSync(file, JSON.stringify({ settings, runs }, null, 1));
        fs.writeFileSync(path.join(values.out, 'REPORT.md'), report(runs, settings));
      }
  stopAscentWorkers();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
