/**
 * The paper's four claims, judged from recorded runs by fixed rules (RULES below; the report
 * prints them). Pure functions of the records, so the same results always give the same verdicts.
 */
import { ADDING_BASELINE_MSE } from './adding';
import { higherIsBetter } from './data';
import { PAPER_BASELINES } from './methods';
import type { IterationPoint, RunRecord } from './runner';

export type Verdict = 'holds' | 'does not hold' | 'mixed' | 'not tested';

export interface ClaimResult {
  claim: string;
  verdict: Verdict;
  rule: string;
  evidence: string[];
}

export const RULES = {
  /** A loss increase counts when the loss grows by more than this fraction over the previous iteration. */
  increaseTolerance: 0.01,
  /** Oscillating: more than this fraction of the iterations increase the loss. */
  oscillationFraction: 0.25,
  /** Blown up: the final loss is above this multiple of the initial loss (or non-finite, or status diverged/singular/error). */
  blowUpFactor: 1.5,
  /** Init-insensitive: final test accuracy spread across initialisations at most this. */
  spreadTolerance: 0.1,
  /** A classifier "learns" when its final test accuracy is at least this (twice chance for 10 classes). */
  learnsAccuracy: 0.2,
  /** Vanishing / exploding: the step-1 over step-T signal ratio outside [1/ratioBound, ratioBound]. */
  ratioBound: 100,
  /** The adding problem is "learnt" below this fraction of the predict-1.0 MSE (1/6). */
  addingLearnsFraction: 0.5,
};

const fmt = (v: number, digits = 4) => (Number.isFinite(v) ? v.toFixed(digits) : String(v));

export function last(r: RunRecord): IterationPoint | undefined {
  return r.points[r.points.length - 1];
}
export const finalLoss = (r: RunRecord) => last(r)?.loss ?? r.initialLoss;
export const finalTest = (r: RunRecord) => last(r)?.test ?? r.initialTest;

export interface Stability {
  diverged: boolean;
  increases: number;
  steps: number;
  unstable: boolean;
  why: string;
}

export function stability(r: RunRecord): Stability {
  const losses = [r.initialLoss, ...r.points.map((p) => p.loss)];
  let increases = 0;
  for (let i = 1; i < losses.length; i++) if (losses[i] > losses[i - 1] * (1 + RULES.increaseTolerance)) increases++;
  const steps = r.points.length,
    end = finalLoss(r);
  const diverged =
    ['diverged', 'singular', 'error'].includes(r.status) ||
    losses.some((l) => !Number.isFinite(l)) ||
    end > RULES.blowUpFactor * r.initialLoss;
  const oscillates = steps > 0 && increases / steps > RULES.oscillationFraction;
  const stalled = !(end < r.initialLoss);
  const unstable = diverged || oscillates || stalled;
  const why = diverged
    ? `blew up (${r.status}, final loss ${fmt(end)})`
    : oscillates
      ? `loss rose in ${increases}/${steps} iterations`
      : stalled
        ? 'loss did not fall'
        : 'stable';
  return { diverged, increases, steps, unstable, why };
}

/** Signal at step 1 over signal at step T, from the last iteration that recorded per-step norms (NaN if none). */
export function stepRatio(r: RunRecord): number {
  const p = [...r.points].reverse().find((q) => q.stepNorms && q.stepNorms.length > 0);
  if (!p || !p.stepNorms) return NaN;
  return p.stepNorms[0] / p.stepNorms[p.stepNorms.length - 1];
}
export const ratioOutOfBounds = (ratio: number) => !(ratio >= 1 / RULES.ratioBound && ratio <= RULES.ratioBound);
export const addingLength = (r: RunRecord) => Number(/T=(\d+)/.exec(r.dataset)?.[1]);
export const addingLearnt = (r: RunRecord) => finalTest(r) < RULES.addingLearnsFraction * ADDING_BASELINE_MSE;

export function claimStability(runs: RunRecord[]): ClaimResult {
  const rule = `A run is unstable when it blows up (status diverged/singular/error, a non-finite loss, or final loss > ${RULES.blowUpFactor}× the initial loss), oscillates (the loss rises by > ${RULES.increaseTolerance * 100}% in more than ${RULES.oscillationFraction * 100}% of its iterations) or never gets below its initial loss. Over the runs with the default initialisation (the comparison on mnist and text, and the adding problem; the init suite belongs to claim 2): holds if no ADMM run is unstable and at least one SGD/Adam/RMSProp run is; does not hold if a share of ADMM runs at least as large as the baselines' share is unstable; mixed otherwise (including: nothing is unstable).`;
  const judged = runs.filter((r) => r.suite === 'comparison' || r.suite === 'adding');
  const admm = judged.filter((r) => r.family === 'admm');
  const base = judged.filter((r) => PAPER_BASELINES.includes(r.method));
  if (!admm.length || !base.length)
    return {
      claim: '1. Stable convergence where SGD / Adam / RMSProp oscillate or blow up',
      verdict: 'not tested',
      rule,
      evidence: [],
    };
  const ua = admm.filter((r) => stability(r).unstable),
    ub = base.filter((r) => stability(r).unstable);
  const fa = ua.length / admm.length,
    fb = ub.length / base.length;
  const verdict: Verdict = fa === 0 && fb > 0 ? 'holds' : fa > 0 && fa >= fb ? 'does not hold' : 'mixed';
  const list = (rs: RunRecord[]) =>
    rs.length ? rs.map((r) => `${r.method} on ${r.dataset} (${stability(r).why})`).join('; ') : 'none';
  return {
    claim: '1. Stable convergence where SGD / Adam / RMSProp oscillate or blow up',
    verdict,
    rule,
    evidence: [
      `unstable ADMM runs: ${ua.length}/${admm.length} — ${list(ua)}`,
      `unstable SGD/Adam/RMSProp runs: ${ub.length}/${base.length} — ${list(ub)}`,
    ],
  };
}

export interface InitSummary {
  method: string;
  family: 'admm' | 'bptt';
  spread: number;
  learnt: number;
  runs: number;
  insensitive: boolean;
}

export function initSummaries(runs: RunRecord[]): InitSummary[] {
  const initRuns = runs.filter((r) => r.suite === 'init');
  return [...new Set(initRuns.map((r) => r.method))].map((method) => {
    const rs = initRuns.filter((r) => r.method === method),
      tests = rs.map(finalTest);
    const learnt = rs.filter((r) => !stability(r).diverged && finalTest(r) >= RULES.learnsAccuracy).length;
    const spread = Math.max(...tests) - Math.min(...tests);
    return {
      method,
      family: rs[0].family,
      spread,
      learnt,
      runs: rs.length,
      insensitive: learnt === rs.length && spread <= RULES.spreadTolerance,
    };
  });
}

export function claimInit(runs: RunRecord[]): ClaimResult {
  const rule = `Per method over the initialisations: insensitive when every run learns (no blow-up, final test accuracy ≥ ${RULES.learnsAccuracy}) and the spread (max − min final test accuracy) is ≤ ${RULES.spreadTolerance}. Holds if every ADMM mode is insensitive and SGD or Adam is not; does not hold if no ADMM mode is insensitive; mixed otherwise.`;
  const s = initSummaries(runs),
    admm = s.filter((x) => x.family === 'admm'),
    base = s.filter((x) => x.family === 'bptt');
  const claim = '2. Insensitivity to weight initialisation';
  if (!admm.length) return { claim, verdict: 'not tested', rule, evidence: [] };
  const verdict: Verdict =
    admm.every((x) => x.insensitive) && base.some((x) => !x.insensitive)
      ? 'holds'
      : !admm.some((x) => x.insensitive)
        ? 'does not hold'
        : 'mixed';
  return {
    claim,
    verdict,
    rule,
    evidence: s.map(
      (x) =>
        `${x.method}: learnt at ${x.learnt}/${x.runs} inits, accuracy spread ${fmt(x.spread, 3)} → ${x.insensitive ? 'insensitive' : 'sensitive'}`
    ),
  };
}

export function claimGradients(runs: RunRecord[]): ClaimResult {
  const rule = `Per run on the adding problem, the ratio r = signal(t = 1) / signal(t = T) at the last recorded iteration (ADMM: the record's stepSignal, ‖λ2_t‖ for the adjoint mode and ρ1‖μ1_t‖ for the others; BPTT: ‖∂L/∂s_t‖); vanishing/exploding when r is outside [1/${RULES.ratioBound}, ${RULES.ratioBound}] or undefined (no signal). "Learns" = test MSE < ${RULES.addingLearnsFraction} × 1/6. Holds if no ADMM run vanishes/explodes and, at the largest T, an ADMM mode learns whenever a BPTT run does; does not hold if a share of ADMM runs at least as large as BPTT's vanishes/explodes (and it is > 0); mixed otherwise.`;
  const claim = '3. No vanishing or exploding gradients (long-range dependence)';
  const adding = runs.filter((r) => r.suite === 'adding');
  const admm = adding.filter((r) => r.family === 'admm'),
    bptt = adding.filter((r) => r.family === 'bptt');
  if (!admm.length || !bptt.length) return { claim, verdict: 'not tested', rule, evidence: [] };
  const bad = (rs: RunRecord[]) => rs.filter((r) => ratioOutOfBounds(stepRatio(r)));
  const fa = bad(admm).length / admm.length,
    fb = bad(bptt).length / bptt.length;
  const Tmax = Math.max(...adding.map(addingLength));
  const atMax = (rs: RunRecord[]) => rs.filter((r) => r.dataset === `adding T=${Tmax}`);
  const la = atMax(admm).some(addingLearnt),
    lb = atMax(bptt).some(addingLearnt);
  const verdict: Verdict = fa === 0 && (la || !lb) ? 'holds' : fa > 0 && fa >= fb ? 'does not hold' : 'mixed';
  const line = (r: RunRecord) =>
    `${r.method} at ${r.dataset}: r = ${stepRatio(r).toExponential(2)}, test MSE ${fmt(finalTest(r))}${addingLearnt(r) ? ' (learnt)' : ''}`;
  return {
    claim,
    verdict,
    rule,
    evidence: [
      `ADMM runs vanishing/exploding: ${bad(admm).length}/${admm.length}; BPTT runs: ${bad(bptt).length}/${bptt.length}`,
      `at T = ${Tmax}: an ADMM mode learns: ${la ? 'yes' : 'no'}; a BPTT run learns: ${lb ? 'yes' : 'no'}`,
      ...adding.map(line),
    ],
  };
}

/** Best ADMM run (among `admmMethods`) against each paper baseline, per data set. */
function accuracyVerdict(
  runs: RunRecord[],
  admmMethods: (name: string) => boolean
): { verdict: Verdict; evidence: string[] } {
  const evidence: string[] = [];
  let wins = 0,
    sets = 0;
  for (const dataset of ['mnist', 'text']) {
    const rs = runs.filter((r) => r.suite === 'comparison' && r.dataset === dataset);
    const admm = rs.filter((r) => r.family === 'admm' && admmMethods(r.method)),
      base = rs.filter((r) => PAPER_BASELINES.includes(r.method));
    if (!admm.length || !base.length) continue;
    sets++;
    const better = (a: number, b: number) => (higherIsBetter(rs[0].metric) ? a > b : a < b);
    const best = admm.reduce((b, r) => (better(finalTest(r), finalTest(b)) ? r : b));
    const beaten = base.filter((r) => better(finalTest(best), finalTest(r)));
    if (beaten.length === base.length) wins++;
    evidence.push(
      `${dataset}: best ${best.method} ${fmt(finalTest(best))} vs ${base.map((r) => `${r.method.replace('BPTT ', '')} ${fmt(finalTest(r))}`).join(', ')} → beats ${beaten.length}/${base.length}`
    );
  }
  return { verdict: !sets ? 'not tested' : wins === sets ? 'holds' : wins === 0 ? 'does not hold' : 'mixed', evidence };
}

export function claimAccuracy(runs: RunRecord[]): ClaimResult {
  const rule =
    "Per data set (mnist: test accuracy; text: held-out nats/char), the best ADMM mode's final test metric at the shared CPU-time budget against each of BPTT SGD, Adam and RMSProp. Holds if it beats all three on every data set; does not hold if it beats all three on none; mixed otherwise. Taking the best of five ADMM modes favours ADMM, and the adjoint mode propagates BPTT adjoints (a proximal gradient method), so the same rule is also applied to the paper's own persistent loop alone and to the ADMM modes without the adjoint one.";
  const claim = '4. Beats SGD / Adam / RMSProp on MNIST and text';
  const all = accuracyVerdict(runs, () => true);
  const paper = accuracyVerdict(runs, (m) => m.includes('persistent'));
  const gradientFree = accuracyVerdict(runs, (m) => m !== 'ADMM adjoint');
  return {
    claim,
    verdict: all.verdict,
    rule,
    evidence: [
      ...all.evidence,
      `the paper's persistent loop alone (exact or linearised): ${paper.verdict} — ${paper.evidence.join('; ')}`,
      `without the adjoint mode: ${gradientFree.verdict} — ${gradientFree.evidence.join('; ')}`,
    ],
  };
}

export function judgeClaims(runs: RunRecord[]): ClaimResult[] {
  return [claimStability(runs), claimInit(runs), claimGradients(runs), claimAccuracy(runs)];
}
