/**
 * Runs one method on one suite task under a training budget (wall-clock by default, or CPU
 * seconds) and records every iteration: training loss (true forward pass), training accuracy,
 * test metric, training seconds so far (the budget's clock: test evaluation excluded) and, for
 * ADMM, the ρ used. The budget's
 * AbortSignal stops a trainer between mini-batches or blocks; an iteration the budget cut
 * short, or that finished after it ran out, is not recorded, so the final result is the last
 * iteration completed within the budget.
 * Errors are recorded, not thrown, so one failing run does not end the suite.
 */
import { AdmmTrainer, BpttTrainer, RNN, refitReadout, type InitOptions } from '../../lib';
import { higherIsBetter } from '../experiments/data';
import { testMetric } from '../experiments/runner';
import { type Clock, TrainingBudget } from './budget';
import type { suiteMethod } from './methods';
import type { SuiteTask } from './tasks';

export type SuiteMethod = ReturnType<typeof suiteMethod>;

export interface SuitePoint {
  iteration: number;
  /** Training seconds used so far on the budget's clock (test evaluation excluded). */
  seconds: number;
  /** Mean training loss per loss term of the true forward pass after this iteration. */
  loss: number;
  /** Training accuracy of that pass (classification only). */
  trainAccuracy?: number;
  test: number;
  /** ADMM: (ρ1, ρ2, ρ3) used in this iteration. */
  rho?: [number, number, number];
  /** ADMM mini-batch modes: what the step safeguard did in this iteration (AdmmIterationRecord.safeguard). */
  safeguard?: unknown;
}

export interface SuiteRun {
  task: string;
  /** The method's short name (suite.ts --methods) and its label. */
  method: string;
  label: string;
  family: 'admm' | 'bptt';
  seed: number;
  metric: SuiteTask['metric'];
  higherIsBetter: boolean;
  checkScale: number;
  hidden: number;
  budgetSeconds: number;
  /** What the budget counts: wall-clock seconds or this process's CPU seconds. */
  clock: Clock;
  maxIterations: number;
  init: InitOptions;
  /** Every trainer option with the library's defaults filled in. */
  options: unknown;
  /** The readout-only floor: test metric after refitReadout on this run's untrained network. */
  floor: number;
  initialLoss: number;
  initialTest: number;
  points: SuitePoint[];
  status: string;
  message: string;
  /** Training seconds on the budget's clock, and wall seconds of the whole run (evaluations included). */
  trainSeconds: number;
  wallSeconds: number;
}

export const initFor = (seed: number): InitOptions => ({ scheme: 'normal', scale: 0.1, seed });

export function newModel(task: SuiteTask, hidden: number, seed: number): RNN {
  return new RNN({ inputSize: task.inputSize, hiddenSize: hidden, outputSize: task.outputSize, init: initFor(seed) });
}

/** The readout-only floor of the network `seed` initialises: only (V, c) fitted on its forward states. */
export function readoutFloor(task: SuiteTask, hidden: number, seed: number): number {
  const model = newModel(task, hidden, seed);
  refitReadout(model, task.train, { lossSteps: task.lossSteps });
  return testMetric(model, task);
}

export interface RunSettings {
  hidden: number;
  budgetSeconds: number;
  /** Default 'wall'. */
  clock?: Clock;
  seed: number;
  floor: number;
  maxIterations?: number;
}

export async function runSuiteMethod(task: SuiteTask, method: SuiteMethod, s: RunSettings): Promise<SuiteRun> {
  const started = performance.now();
  const model = newModel(task, s.hidden, s.seed);
  const maxIterations = s.maxIterations ?? 100_000;
  const run: SuiteRun = {
    task: task.name,
    method: method.key,
    label: method.name,
    family: method.trainer,
    seed: s.seed,
    metric: task.metric,
    higherIsBetter: higherIsBetter(task.metric),
    checkScale: task.checkScale,
    hidden: s.hidden,
    budgetSeconds: s.budgetSeconds,
    clock: s.clock ?? 'wall',
    maxIterations,
    init: initFor(s.seed),
    options: undefined,
    floor: s.floor,
    initialLoss: model.evaluate(task.train, { lossSteps: task.lossSteps }).loss,
    initialTest: testMetric(model, task),
    points: [],
    status: 'running',
    message: '',
    trainSeconds: 0,
    wallSeconds: 0,
  };
  const budget = new TrainingBudget(s.budgetSeconds, s.clock);
  type Record = {
    iteration: number;
    loss: number;
    accuracy: number;
    rho?: [number, number, number];
    safeguard?: unknown;
  };
  const record = (r: Record) => {
    const seconds = budget.pause();
    // Finished after the budget ran out (the abort came too late to stop it): not counted.
    if (seconds > s.budgetSeconds) return false;
    run.points.push({
      iteration: r.iteration,
      seconds,
      loss: r.loss,
      ...(Number.isNaN(r.accuracy) ? {} : { trainAccuracy: r.accuracy }),
      test: testMetric(model, task),
      ...(r.rho ? { rho: [...r.rho] as [number, number, number] } : {}),
      ...(r.safeguard ? { safeguard: r.safeguard } : {}),
    });
    if (budget.exhausted) return false;
    budget.start();
    return true;
  };
  const fit = { maxIterations, signal: budget.signal, onIteration: record };
  try {
    budget.start();
    const result =
      method.trainer === 'admm'
        ? await (() => {
            const trainer = new AdmmTrainer(model, { lossSteps: task.lossSteps, seed: s.seed, ...method.admm });
            run.options = trainer.options;
            return trainer.fit(task.train, fit);
          })()
        : await (() => {
            const trainer = new BpttTrainer(model, { lossSteps: task.lossSteps, seed: s.seed, ...method.bptt });
            run.options = trainer.options;
            return trainer.fit(task.train, fit);
          })();
    run.status = result.status;
    run.message = result.message;
  } catch (e) {
    run.status = 'error';
    run.message = (e as Error).message;
  } finally {
    run.trainSeconds = budget.pause();
  }
  run.wallSeconds = (performance.now() - started) / 1000;
  return run;
}
