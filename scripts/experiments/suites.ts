/**
 * The three suites and their sizes. Quick mode shrinks the data, the model and the budgets so
 * the whole command takes a few minutes; full mode is budgeted to about 40 minutes on 2 cores.
 * Every run of a suite gets the same CPU-time training budget (and an iteration cap), so
 * ADMM and BPTT are compared at equal compute, not equal epoch counts.
 */
import type { InitOptions } from '../../lib';
import { type ExperimentData, addingData, mnistData, textData } from './data';
import { ADMM_METHODS, BPTT_METHODS, byName, type Method } from './methods';
import { type RunRecord, runMethod } from './runner';

export interface SuiteSizes {
  comparison: { mnistLimit?: number; textWindows?: number; hidden: number; budget: number; maxIterations: number };
  init: { mnistLimit?: number; hidden: number; budget: number; maxIterations: number };
  adding: { lengths: number[]; train: number; test: number; hidden: number; budget: number; maxIterations: number };
}

export const SIZES: Record<'quick' | 'full', SuiteSizes> = {
  quick: {
    comparison: { mnistLimit: 1000, textWindows: 400, hidden: 64, budget: 3, maxIterations: 20 },
    init: { mnistLimit: 1000, hidden: 64, budget: 2, maxIterations: 10 },
    adding: { lengths: [50], train: 512, test: 256, hidden: 32, budget: 3, maxIterations: 40 },
  },
  full: {
    comparison: { hidden: 128, budget: 30, maxIterations: 60 },
    init: { hidden: 128, budget: 12, maxIterations: 30 },
    adding: { lengths: [50, 100, 200], train: 2000, test: 500, hidden: 64, budget: 60, maxIterations: 1000 },
  },
};

/** The paper's default init for the comparison and the adding problem: N(0, 0.1²). */
export const DEFAULT_INIT: InitOptions = { scheme: 'normal', scale: 0.1, seed: 0 };
export const INITS: InitOptions[] = [
  { scheme: 'normal', scale: 0.01, seed: 0 },
  { scheme: 'normal', scale: 0.1, seed: 0 },
  { scheme: 'normal', scale: 1, seed: 0 },
  { scheme: 'normal', scale: 3, seed: 0 },
  { scheme: 'orthogonal', scale: 1, seed: 0 },
];
export const INIT_METHODS = ['ADMM adjoint', 'ADMM local-duals', 'ADMM persistent (exact)', 'BPTT SGD', 'BPTT Adam'];
export const ADDING_METHODS = [...ADMM_METHODS.map((m) => m.name), 'BPTT SGD', 'BPTT RMSProp', 'BPTT Adam'];

export type Log = (run: RunRecord) => void;

/** Which methods a suite runs: all of them, or those `only` names (a partial re-run, merged into saved results). */
let only: ReadonlySet<string> | undefined;
export function onlyMethods(names: readonly string[] | undefined): void {
  only = names && new Set(names);
}

async function runAll(
  suite: string,
  methods: Method[],
  inits: InitOptions[],
  data: ExperimentData,
  s: { hidden: number; budget: number; maxIterations: number },
  log: Log
): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  for (const init of inits)
    for (const m of methods) {
      if (only && !only.has(m.name)) continue;
      const r = await runMethod(suite, m, init, data, s.hidden, s.budget, s.maxIterations);
      log(r);
      out.push(r);
    }
  return out;
}

export async function comparisonSuite(s: SuiteSizes['comparison'], log: Log): Promise<RunRecord[]> {
  const methods = [...ADMM_METHODS, ...BPTT_METHODS];
  return [
    ...(await runAll('comparison', methods, [DEFAULT_INIT], mnistData(s.mnistLimit), s, log)),
    ...(await runAll('comparison', methods, [DEFAULT_INIT], textData(s.textWindows), s, log)),
  ];
}

export async function initSuite(s: SuiteSizes['init'], log: Log): Promise<RunRecord[]> {
  return runAll('init', byName(INIT_METHODS), INITS, mnistData(s.mnistLimit), s, log);
}

export async function addingSuite(s: SuiteSizes['adding'], log: Log): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  for (const T of s.lengths)
    out.push(
      ...(await runAll('adding', byName(ADDING_METHODS), [DEFAULT_INIT], addingData(T, s.train, s.test, 0), s, log))
    );
  return out;
}
