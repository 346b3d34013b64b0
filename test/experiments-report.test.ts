/** The experiments report: a tiny synthetic results set → the expected table rows and verdicts. */
import test from 'ava';
import { chartSpecs } from '../scripts/experiments/charts';
import { BPTT_METHODS, ADMM_METHODS } from '../scripts/experiments/methods';
import { addingRow, comparisonRow, initRows, renderExperiments } from '../scripts/experiments/report';
import { describePart, partsAfterRerun, partsOf } from '../scripts/experiments/parts';
import type { RunRecord } from '../scripts/experiments/runner';
import {
  claimAccuracy,
  claimGradients,
  claimInit,
  claimStability,
  judgeClaims,
  stability,
} from '../scripts/experiments/verdicts';

const method = (name: string) => [...ADMM_METHODS, ...BPTT_METHODS].find((m) => m.name === name)!;

/** A run whose losses and test metrics follow the given lists, one point per iteration. */
function run(
  suite: string,
  dataset: string,
  name: string,
  losses: number[],
  tests: number[],
  extra: Partial<RunRecord> = {},
  init = { scheme: 'normal' as const, scale: 0.1, seed: 0 },
  stepNorms?: number[]
): RunRecord {
  const m = method(name);
  return {
    suite,
    dataset,
    data: `${dataset} (synthetic)`,
    metric: dataset === 'mnist' ? 'accuracy' : dataset === 'text' ? 'cross-entropy' : 'mse',
    method: name,
    family: m.trainer,
    config: { trainer: m, init, hidden: 8, budgetSeconds: 1, maxIterations: 10 },
    initialLoss: 2.3,
    initialTest: dataset === 'mnist' ? 0.1 : 4,
    points: losses.map((loss, i) => ({
      iteration: i + 1,
      seconds: i + 1,
      cpuSeconds: i + 1,
      loss,
      test: tests[i],
      stepNorms,
    })),
    status: 'max-iterations',
    message: '',
    ...extra,
  };
}

const comparison = (): RunRecord[] => [
  run('comparison', 'mnist', 'ADMM adjoint', [1.5, 1.0, 0.8], [0.7, 0.8, 0.9]),
  run('comparison', 'mnist', 'BPTT SGD', [1.9, Infinity], [0.4, 0.1], { status: 'diverged' }),
  run('comparison', 'mnist', 'BPTT Adam', [1.2, 0.6, 0.3], [0.8, 0.9, 0.95]),
  run('comparison', 'mnist', 'BPTT RMSProp', [1.5, 2.0, 1.4, 2.2], [0.5, 0.4, 0.6, 0.3]),
  run('comparison', 'text', 'ADMM adjoint', [2.0, 1.8], [2.0, 1.9]),
  run('comparison', 'text', 'BPTT SGD', [2.2, 2.1], [2.5, 2.4]),
  run('comparison', 'text', 'BPTT Adam', [2.0, 1.9], [2.1, 2.0]),
  run('comparison', 'text', 'BPTT RMSProp', [2.1, 2.0], [2.2, 2.1]),
];

test('stability classifies blow-ups, oscillation and steady descent', (t) => {
  const [admm, sgd, adam, rms] = comparison();
  t.false(stability(admm).unstable);
  t.true(stability(sgd).diverged);
  t.false(stability(adam).unstable);
  t.deepEqual([stability(rms).increases, stability(rms).unstable], [2, true]);
  t.is(stability(rms).why, 'loss rose in 2/4 iterations');
});

test('claim 1 holds when only baselines are unstable, and not when ADMM is unstable as often', (t) => {
  t.is(claimStability(comparison()).verdict, 'holds');
  const shaky = comparison().map((r) =>
    r.method === 'ADMM adjoint' && r.dataset === 'text'
      ? { ...r, points: [...r.points, { iteration: 3, seconds: 3, cpuSeconds: 3, loss: 9, test: 3 }] }
      : r
  );
  t.is(claimStability(shaky).verdict, 'does not hold'); // 1/2 ADMM runs unstable ≥ 2/6 baseline runs
  const calm = comparison().filter((r) => !stability(r).unstable);
  t.is(claimStability(calm).verdict, 'mixed'); // nothing unstable: ADMM is stable, but so are the baselines
  // The adding problem counts too: an ADMM blow-up there turns "holds" into "mixed" (1/4 ADMM runs unstable < 2/6 baseline runs).
  const blowUp = run('adding', 'adding T=50', 'ADMM persistent (exact)', [0.7, 12.5], [1, 26], { status: 'stopped' });
  t.is(
    claimStability([...comparison(), blowUp, run('adding', 'adding T=50', 'ADMM adjoint', [0.5], [0.17])]).verdict,
    'mixed'
  );
});

test('claim 4 is mixed when ADMM wins on text but loses to Adam on mnist', (t) => {
  const c = claimAccuracy(comparison()); // no persistent runs in this set: that sub-verdict is "not tested"
  t.is(c.verdict, 'mixed');
  t.regex(c.evidence[0], /mnist: best ADMM adjoint 0\.9000 vs SGD 0\.1000, Adam 0\.9500, RMSProp 0\.3000 → beats 2\/3/);
  t.regex(c.evidence[1], /text: .* → beats 3\/3/);
});

const inits = [0.01, 0.1, 1, 3].map((scale) => ({ scheme: 'normal' as const, scale, seed: 0 }));
function initRuns(): RunRecord[] {
  const admm = [0.9, 0.9, 0.85, 0.88].map((acc, i) => run('init', 'mnist', 'ADMM adjoint', [1.0], [acc], {}, inits[i]));
  const sgd = [0.9, 0.9, 0.1, 0.1].map((acc, i) =>
    run('init', 'mnist', 'BPTT SGD', [i >= 2 ? 5 : 1], [acc], {}, inits[i])
  );
  return [...admm, ...sgd];
}

test('claim 2 and the init table: ADMM insensitive, SGD blown up at large scales', (t) => {
  const c = claimInit(initRuns());
  t.is(c.verdict, 'holds');
  t.deepEqual(initRows(initRuns()), [
    '| method | N(0, 0.01²) | N(0, 0.1²) | N(0, 1²) | N(0, 3²) | learnt | spread |',
    '|---|---|---|---|---|---|---|',
    '| ADMM adjoint | 0.900 | 0.900 | 0.850 | 0.880 | 4/4 | 0.050 |',
    '| BPTT SGD | 0.900 | 0.900 | 0.100 † | 0.100 † | 2/4 | 0.800 |',
  ]);
  const sensitive = initRuns().map((r) =>
    r.method === 'ADMM adjoint' && r.config.init.scale === 3 ? { ...r, points: [{ ...r.points[0], test: 0.1 }] } : r
  );
  t.is(claimInit(sensitive).verdict, 'does not hold');
});

function addingRuns(admmRatio: number): RunRecord[] {
  const norms = (ratio: number) => [ratio, 1, 1];
  return [
    run('adding', 'adding T=100', 'ADMM local-duals', [0.05], [0.02], {}, undefined, norms(admmRatio)),
    run('adding', 'adding T=100', 'BPTT SGD', [0.08], [0.17], {}, undefined, norms(1e-8)),
  ];
}

test('claim 3 and the adding rows: ratio of the signal at step 1 to step T', (t) => {
  t.is(claimGradients(addingRuns(0.5)).verdict, 'holds');
  t.is(claimGradients(addingRuns(1e-6)).verdict, 'does not hold');
  t.is(
    addingRow(addingRuns(0.5)[0]),
    '| T=100 | ADMM local-duals | 1 | 0.0500 | 0.0200 | yes | 5.0e-1 | 1.0e+0 | 5.0e-1 | max-iterations |'
  );
  t.is(
    addingRow(addingRuns(0.5)[1]),
    '| T=100 | BPTT SGD | 1 | 0.0800 | 0.1700 | no | 1.0e-8 | 1.0e+0 | 1.0e-8 | max-iterations |'
  );
});

test('the report has every section, the comparison rows, and "not tested" for missing suites', (t) => {
  t.is(
    comparisonRow(comparison()[1]),
    '| BPTT SGD | 2 | 2.0 | 2.0 | 2.3000 | Infinity | 0.1000 | 1 | diverged | blew up (diverged, final loss Infinity) |'
  );
  const all = [...comparison(), ...initRuns(), ...addingRuns(0.5)];
  const sections = renderExperiments(all, {
    command: 'npm run experiments -- --quick',
    machine: 'test',
    date: 'today',
    quick: true,
  });
  t.deepEqual(Object.keys(sections), [
    'experiments-claims',
    'experiments-comparison',
    'experiments-init',
    'experiments-adding',
  ]);
  t.regex(sections['experiments-claims'], /\| 1\. Stable convergence .* \| \*\*holds\*\* \|/);
  t.regex(sections['experiments-claims'], /\| 4\. Beats .* \| \*\*mixed\*\* \|/);
  t.regex(
    sections['experiments-comparison'],
    /\| ADMM adjoint \| 3 \| 3\.0 \| 3\.0 \| 2\.3000 \| 0\.8000 \| 0\.9000 \| 0 \| max-iterations \| stable \|/
  );
  t.deepEqual(
    judgeClaims(comparison()).map((c) => c.verdict),
    ['holds', 'not tested', 'not tested', 'mixed']
  );
  // Chart links point at docs/figures by default, and at the given directory for a quick report.
  t.regex(sections['experiments-init'], /\]\(docs\/figures\/init-grid\.svg\)/);
  const quickSections = renderExperiments(all, {
    command: 'x',
    machine: 'test',
    date: 'today',
    quick: true,
    figures: 'figures',
  });
  t.regex(quickSections['experiments-adding'], /\]\(figures\/adding-test\.svg\)/);
  t.notRegex(quickSections['experiments-comparison'], /docs\/figures/);
  t.deepEqual(Object.keys(chartSpecs(all)).sort(), [
    'adding-step-norms',
    'adding-test',
    'init-grid',
    'mnist-loss',
    'mnist-test-seconds',
    'text-loss',
    'text-test-seconds',
  ]);
});

test('charts render to SVG with Vega-Lite in Node', async (t) => {
  const { renderSvg } = await import('../scripts/experiments/charts');
  const specs = chartSpecs(comparison());
  const svg = await renderSvg(specs['mnist-loss']);
  t.true(svg.startsWith('<svg'));
  t.regex(svg, /ADMM adjoint/);
  t.regex(svg, /BPTT RMSProp/);
});

test('a --methods re-run replaces the parts that measured only those methods, and keeps the others', (t) => {
  const load = (a: number) => ({ start: [a, a, a], end: [a, a, a] });
  const whole = { methods: 'all', date: '2026-12-06T15:24:00.000Z', loadAverage: load(9) };
  const first = { methods: 'ADMM local-duals', date: '2026-12-06T16:32:00.000Z', loadAverage: load(1.4) };
  const pair = { methods: 'ADMM local-duals, BPTT Adam', date: '2026-12-06T16:40:00.000Z', loadAverage: load(2) };
  const again = { methods: 'ADMM local-duals', date: '2026-12-06T17:44:00.000Z', loadAverage: load(6.4) };
  const saved = { date: first.date, parts: [whole, first, pair] };
  t.deepEqual(partsAfterRerun(saved, ['ADMM local-duals'], again), [whole, pair, again]);
  t.deepEqual(partsAfterRerun(saved, ['ADMM local-duals', 'BPTT Adam'], again), [whole, again]);
  // A suite saved before parts were recorded was measured whole.
  t.deepEqual(partsOf({ date: whole.date, loadAverage: whole.loadAverage }), [whole]);
  t.deepEqual(partsAfterRerun({ date: whole.date }, ['BPTT Adam'], again), [
    { ...whole, loadAverage: undefined },
    again,
  ]);
  t.is(describePart(whole), '9.0→9.0');
  t.is(describePart(again), 'ADMM local-duals re-run 2026-12-06T17:44Z 6.4→6.4');
  t.is(describePart({ ...again, loadAverage: undefined }), 'ADMM local-duals re-run 2026-12-06T17:44Z not recorded');
});
