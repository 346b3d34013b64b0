/**
 * What the report reads off each run, by fixed rules (pure functions of the records):
 * final and best test metric, and the three stability checks of issue 16's items 2 and 4.
 * Thresholds are in metric units times the task's checkScale (1 for accuracy and nats/char,
 * the predict-the-mean MSE for regression).
 */
import type { SuitePoint, SuiteRun } from './runner';

export const CHECKS = {
  /** Loss check: no training loss above (1 + this) × the previous iteration's (first: the untrained net's). */
  lossRise: 0.02,
  /** Test check: after this many iterations, the test metric stays within `testDrop` of its running best. */
  testAfter: 3,
  testDrop: 0.03,
  /** Floor check: the test metric reaches floor + `floorGain` within `floorWithin` iterations. */
  floorGain: 0.1,
  floorWithin: 60,
};

/** true: passed; false: failed; null: not decidable from this run (too few iterations). */
export type Check = boolean | null;

export interface RunSummary {
  iterations: number;
  final: number;
  best: number;
  bestIteration: number;
  /** Final minus floor, oriented so that positive is better. */
  gainOverFloor: number;
  lossCheck: Check;
  /** Epochs whose loss rose by more than CHECKS.lossRise, and the largest relative rise. */
  lossRises: number;
  maxLossRise: number;
  testCheck: Check;
  /** Largest fall below the running best after iteration CHECKS.testAfter (metric units, ≥ 0). */
  maxTestDrop: number;
  floorCheck: Check;
  /** First iteration at floor + floorGain or better (undefined: not reached). */
  floorIteration: number | undefined;
  /** ADMM: ρ1 of the first and the last iteration. */
  rho1?: [number, number];
}

/** a better than b by the run's direction: > 0 when a is better. */
export const gain = (r: Pick<SuiteRun, 'higherIsBetter'>, a: number, b: number) => (r.higherIsBetter ? a - b : b - a);

export function lossCheck(r: SuiteRun): { pass: Check; rises: number; maxRise: number } {
  const losses = [r.initialLoss, ...r.points.map((p) => p.loss)];
  let rises = 0,
    maxRise = 0;
  for (let i = 1; i < losses.length; i++) {
    const rise = losses[i] / losses[i - 1] - 1;
    if (!Number.isFinite(losses[i]) || rise > CHECKS.lossRise) rises++;
    if (Number.isFinite(rise)) maxRise = Math.max(maxRise, rise);
    else maxRise = Infinity;
  }
  const failed = rises > 0 || r.status === 'diverged' || r.status === 'singular' || r.status === 'error';
  return { pass: r.points.length === 0 && !failed ? null : !failed, rises, maxRise };
}

export function testCheck(r: SuiteRun): { pass: Check; maxDrop: number } {
  let best = -Infinity,
    maxDrop = 0;
  for (const p of r.points) {
    const v = r.higherIsBetter ? p.test : -p.test;
    if (p.iteration > CHECKS.testAfter) maxDrop = Math.max(maxDrop, best - v);
    best = Math.max(best, Number.isNaN(v) ? -Infinity : v);
  }
  const late = r.points.some((p) => p.iteration > CHECKS.testAfter);
  return { pass: late ? maxDrop <= CHECKS.testDrop * r.checkScale : null, maxDrop };
}

export function floorCheck(r: SuiteRun): { pass: Check; iteration: number | undefined } {
  const target = CHECKS.floorGain * r.checkScale;
  const hit = r.points.find((p) => p.iteration <= CHECKS.floorWithin && gain(r, p.test, r.floor) >= target);
  if (hit) return { pass: true, iteration: hit.iteration };
  // Not reached: a failure once 60 iterations were done or the run ended on its own;
  // open when the budget ran out first.
  const budgetEnded = r.status === 'aborted' || r.status === 'stopped';
  const done = r.points.length ? r.points[r.points.length - 1].iteration : 0;
  return { pass: done >= CHECKS.floorWithin || !budgetEnded ? false : null, iteration: undefined };
}

export function lastPoint(r: SuiteRun): SuitePoint | undefined {
  return r.points[r.points.length - 1];
}

export function summarise(r: SuiteRun): RunSummary {
  const final = lastPoint(r)?.test ?? r.initialTest;
  let best = r.initialTest,
    bestIteration = 0;
  for (const p of r.points)
    if (gain(r, p.test, best) > 0) {
      best = p.test;
      bestIteration = p.iteration;
    }
  const loss = lossCheck(r),
    test = testCheck(r),
    floor = floorCheck(r);
  const rhos = r.points.filter((p) => p.rho);
  // With the step safeguard, the ρ1 its updates were accepted at (geometric mean over the epoch's batches).
  const rho1 = (p: SuitePoint) => (p.safeguard as { rho?: number[] } | undefined)?.rho?.[0] ?? p.rho![0];
  return {
    iterations: lastPoint(r)?.iteration ?? 0,
    final,
    best,
    bestIteration,
    gainOverFloor: gain(r, final, r.floor),
    lossCheck: loss.pass,
    lossRises: loss.rises,
    maxLossRise: loss.maxRise,
    testCheck: test.pass,
    maxTestDrop: test.maxDrop,
    floorCheck: floor.pass,
    floorIteration: floor.iteration,
    ...(rhos.length ? { rho1: [rho1(rhos[0]), rho1(rhos[rhos.length - 1])] as [number, number] } : {}),
  };
}
