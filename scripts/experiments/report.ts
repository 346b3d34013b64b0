/**
 * EXPERIMENTS.md sections from recorded runs: one table per suite and the claims with their
 * verdicts. Pure (records in, markdown out) so tests can check rows and verdicts; the script
 * writes the sections with the ablation's replaceSection.
 */
import {
  type ClaimResult,
  RULES,
  addingLearnt,
  finalLoss,
  finalTest,
  initSummaries,
  judgeClaims,
  last,
  stability,
  stepRatio,
} from './verdicts';
import type { RunRecord } from './runner';

export interface ReportMeta {
  command: string;
  machine: string;
  date: string;
  quick: boolean;
  /** Where the charts are, relative to the report file (default docs/figures). */
  figures?: string;
}

const f = (v: number | undefined, digits = 4) =>
  v === undefined || Number.isNaN(v) ? '—' : Number.isFinite(v) ? v.toFixed(digits) : String(v);
const e = (v: number) => (Number.isFinite(v) ? v.toExponential(1) : '—');
const initName = (r: RunRecord) =>
  r.config.init.scheme === 'orthogonal' ? 'orthogonal' : `N(0, ${r.config.init.scale}²)`;

export function comparisonRow(r: RunRecord): string {
  const p = last(r),
    s = stability(r);
  return `| ${r.method} | ${r.points.length} | ${f(p?.seconds, 1)} | ${f(p?.cpuSeconds, 1)} | ${f(r.initialLoss)} | ${f(finalLoss(r))} | ${f(finalTest(r))} | ${s.increases} | ${r.status} | ${s.why} |`;
}

function comparisonSection(runs: RunRecord[], meta: ReportMeta, figures: string): string {
  const lines = ['## Experiments (a): ADMMiRNN vs BPTT optimizers', ''];
  for (const dataset of ['mnist', 'text']) {
    const rs = runs.filter((r) => r.suite === 'comparison' && r.dataset === dataset);
    if (!rs.length) continue;
    const c = rs[0].config;
    lines.push(
      `### ${dataset === 'mnist' ? 'mnist10k, rows as steps — test accuracy (higher is better)' : 'Metamorphosis next character, T = 25 — held-out cross-entropy, nats/char (lower is better)'}`,
      '',
      `${rs[0].data}; h = ${c.hidden}, init N(0, 0.1²) seed 0; each run trains until it has used ${c.budgetSeconds} CPU seconds (all threads, test evaluation excluded) or ${c.maxIterations} iterations (ADMM mini-batch modes and BPTT: an iteration is an epoch; persistent: one full-batch pass). "CPU s" is the budgeted CPU time, "train s" the wall-clock training time it took on the (shared) machine.`,
      '',
      '| method | iterations | train s | CPU s | initial loss | final loss | final test | loss rises | status | stability |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...rs.map(comparisonRow),
      '',
      `![training loss](${figures}/${dataset}-loss.svg) ![test metric against seconds](${figures}/${dataset}-test-seconds.svg)`,
      ''
    );
  }
  return lines.join('\n');
}

export function initRows(runs: RunRecord[]): string[] {
  const rs = runs.filter((r) => r.suite === 'init');
  const inits = [...new Set(rs.map(initName))];
  const rows = [
    `| method | ${inits.join(' | ')} | learnt | spread |`,
    `|---|${inits.map(() => '---|').join('')}---|---|`,
  ];
  for (const s of initSummaries(runs)) {
    const cells = inits.map((name) => {
      const r = rs.find((x) => x.method === s.method && initName(x) === name);
      if (!r) return '—';
      return `${f(finalTest(r), 3)}${stability(r).diverged ? ' †' : ''}`;
    });
    rows.push(`| ${s.method} | ${cells.join(' | ')} | ${s.learnt}/${s.runs} | ${f(s.spread, 3)} |`);
  }
  return rows;
}

function initSection(runs: RunRecord[], figures: string): string {
  const rs = runs.filter((r) => r.suite === 'init');
  if (!rs.length) return '## Experiments (b): initialisation sensitivity\n\nNot run.';
  const c = rs[0].config;
  const ratio = rs.map(
    (r) =>
      `| ${r.method} | ${initName(r)} | ${e(stepRatio(r))} | ${last(r)?.gradientNorm === undefined ? '—' : e(last(r)!.gradientNorm!)} | ${f(finalLoss(r), 3)} |`
  );
  return [
    '## Experiments (b): initialisation sensitivity (mnist)',
    '',
    `${rs[0].data}; h = ${c.hidden}; ${c.budgetSeconds} CPU seconds or ${c.maxIterations} iterations per run. Final test accuracy per initialisation (σ of N(0, σ²) for every weight, or orthogonal W with Glorot U, V); † = blew up (see claim 1's rule). "learnt" counts runs with accuracy ≥ ${RULES.learnsAccuracy} and no blow-up.`,
    '',
    ...initRows(runs),
    '',
    `![init sensitivity grid](${figures}/init-grid.svg)`,
    '',
    "Per-step signal at the last iteration, step 1 over step T (ADMM: multiplier signal; BPTT: ‖∂L/∂s_t‖), and BPTT's mean global gradient norm:",
    '',
    '| method | init | signal(1)/signal(T) | gradient norm | final loss |',
    '|---|---|---|---|---|',
    ...ratio,
  ].join('\n');
}

export function addingRow(r: RunRecord): string {
  const p = [...r.points].reverse().find((q) => q.stepNorms);
  const n = p?.stepNorms;
  return `| ${r.dataset.replace('adding ', '')} | ${r.method} | ${r.points.length} | ${f(finalLoss(r))} | ${f(finalTest(r))} | ${addingLearnt(r) ? 'yes' : 'no'} | ${n ? e(n[0]) : '—'} | ${n ? e(n[n.length - 1]) : '—'} | ${e(stepRatio(r))} | ${r.status} |`;
}

function addingSection(runs: RunRecord[], figures: string): string {
  const rs = runs.filter((r) => r.suite === 'adding');
  if (!rs.length) return '## Experiments (c): long-range dependence\n\nNot run.';
  const c = rs[0].config;
  const lengths = [...new Set(rs.map((r) => r.dataset.replace('adding T=', '')))].join(', ');
  return [
    '## Experiments (c): long-range dependence — the adding problem',
    '',
    `${rs[0].data.replace(/T = \d+/, `T ∈ {${lengths}}`)}; h = ${c.hidden}, init N(0, 0.1²), squared error at the last step; ${c.budgetSeconds} CPU seconds or ${c.maxIterations} iterations per run. Predicting 1.0 always gives test MSE 1/6 ≈ 0.167; "learnt" = below ${f(RULES.addingLearnsFraction / 6, 3)}. Signals at the last iteration: ADMM adjoint ‖λ2_t‖ (this is the BPTT adjoint recursion, so it behaves like BPTT by construction), local-duals / sweeps ρ1‖μ1_t‖ per batch, persistent ρ1‖μ1_t‖ over all sequences (both the records' stepSignal); BPTT ‖∂L/∂s_t‖.`,
    '',
    '| T | method | iterations | final training loss (½ squared error, so ½ MSE) | test MSE | learnt | signal t = 1 | signal t = T | ratio 1/T | status |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rs.map(addingRow),
    '',
    `![per-step signal norms](${figures}/adding-step-norms.svg) ![adding problem test MSE](${figures}/adding-test.svg)`,
  ].join('\n');
}

export function claimsSection(claims: ClaimResult[], meta: ReportMeta): string {
  const lines = [
    "## Experiments: the paper's claims, tested",
    '',
    `Command: \`${meta.command}\` — ${meta.quick ? '**quick mode** (small data, small models, seconds per run: indicative only; run `npm run experiments` for the full budgets)' : 'full mode'}. Machine: ${meta.machine}. Date: ${meta.date}. Raw per-iteration records with configurations and seeds: \`results/experiments-*.json\`. Verdicts are computed from those records by the rules stated with each claim (scripts/experiments/verdicts.ts).`,
    '',
    '| claim | verdict |',
    '|---|---|',
    ...claims.map((c) => `| ${c.claim} | **${c.verdict}** |`),
    '',
  ];
  for (const c of claims)
    lines.push(`### ${c.claim}: ${c.verdict}`, '', `Rule: ${c.rule}`, '', ...c.evidence.map((x) => `- ${x}`), '');
  return lines.join('\n');
}

/** Section name → markdown, for replaceSection. Names other than 'ablation' (the ablation script owns it). */
export function renderExperiments(runs: RunRecord[], meta: ReportMeta): Record<string, string> {
  const figures = meta.figures ?? 'docs/figures';
  return {
    'experiments-claims': claimsSection(judgeClaims(runs), meta),
    'experiments-comparison': comparisonSection(runs, meta, figures),
    'experiments-init': initSection(runs, figures),
    'experiments-adding': addingSection(runs, figures),
  };
}
