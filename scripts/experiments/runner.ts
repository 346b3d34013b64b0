/**
 * Runs one method on one data set and records every iteration: training loss (true forward
 * pass), test metric, cumulative training seconds (test evaluation excluded), and the per-step
 * signal — BPTT's ‖∂L/∂s_t‖ (stepGradientNorms), the ADMM records' stepSignal (mini-batch modes:
 * ‖λ2_t‖ or ρ1‖μ1_t‖ per batch; the persistent loop: ρ1‖μ1_t‖ over all sequences). Errors are recorded, not thrown, so one failing run does not end the suite.
 * The budget is CPU seconds of this process (all threads, test evaluation excluded), not wall time:
 * the machine is shared, and CPU time gives every method the same compute whatever else runs.
 */
import { AdmmTrainer, BpttTrainer, RNN, type InitOptions } from '../../lib';
import { type ExperimentData } from './data';
import type { Method } from './methods';

export interface IterationPoint {
  iteration: number;
  /** Cumulative training seconds (wall clock, as the trainers report them). */
  seconds: number;
  /** Cumulative CPU seconds of this process while training (all threads; test evaluation excluded): unaffected by other jobs on the machine. */
  cpuSeconds: number;
  loss: number;
  test: number;
  /** Per-step signal t = 1..T (see the file comment). */
  stepNorms?: number[];
  /** BPTT: mean global gradient norm of the epoch. */
  gradientNorm?: number;
}

export interface RunRecord {
  suite: string;
  dataset: string;
  /** How the data set was made (sizes, split, seeds). */
  data: string;
  metric: ExperimentData['metric'];
  method: string;
  family: 'admm' | 'bptt';
  /** The exact configuration: trainer options as given (defaults resolved by the library), init with its seed, sizes, stopping rule. */
  config: {
    trainer: Method;
    init: InitOptions;
    hidden: number;
    budgetSeconds: number;
    maxIterations: number;
    resolved?: unknown;
  };
  initialLoss: number;
  initialTest: number;
  points: IterationPoint[];
  status: string;
  message: string;
}

export function testMetric(model: RNN, data: ExperimentData): number {
  const e = model.evaluate(data.test, { lossSteps: data.lossSteps });
  if (data.metric === 'accuracy') return e.accuracy;
  // R = ½‖o − y‖² per loss term, so the MSE per output value is 2 × the mean loss / K.
  return data.metric === 'mse' ? (2 * e.loss) / data.outputSize : e.loss;
}

export async function runMethod(
  suite: string,
  method: Method,
  init: InitOptions,
  data: ExperimentData,
  hidden: number,
  budgetSeconds: number,
  maxIterations: number
): Promise<RunRecord> {
  const model = new RNN({ inputSize: data.inputSize, hiddenSize: hidden, outputSize: data.outputSize, init });
  const start = model.evaluate(data.train, { lossSteps: data.lossSteps });
  const record: RunRecord = {
    suite,
    dataset: data.name,
    data: data.description,
    metric: data.metric,
    method: method.name,
    family: method.trainer,
    config: { trainer: method, init, hidden, budgetSeconds, maxIterations },
    initialLoss: start.loss,
    initialTest: testMetric(model, data),
    points: [],
    status: 'running',
    message: '',
  };
  let seconds = 0,
    cpu = 0,
    mark = process.cpuUsage();
  // CPU time since `mark`, then a new mark after the test evaluation, so evaluation is not counted.
  const tick = () => {
    const d = process.cpuUsage(mark);
    cpu += (d.user + d.system) / 1e6;
    return cpu;
  };
  try {
    if (method.trainer === 'admm') {
      const trainer = new AdmmTrainer(model, { lossSteps: data.lossSteps, ...method.admm });
      record.config.resolved = trainer.options; // every option with the library's defaults filled in
      const result = await trainer.fit(data.train, {
        maxIterations,
        onIteration: (r) => {
          seconds += r.seconds;
          const cpuSeconds = tick();
          record.points.push({
            iteration: r.iteration,
            seconds,
            cpuSeconds,
            loss: r.loss,
            test: testMetric(model, data),
            stepNorms: r.stepSignal,
          });
          mark = process.cpuUsage();
          return cpu < budgetSeconds;
        },
      });
      record.status = result.status;
      record.message = result.message;
    } else {
      const trainer = new BpttTrainer(model, { lossSteps: data.lossSteps, ...method.bptt });
      record.config.resolved = trainer.options;
      const result = await trainer.fit(data.train, {
        maxIterations,
        onIteration: (r) => {
          seconds += r.seconds;
          record.points.push({
            iteration: r.iteration,
            seconds,
            cpuSeconds: tick(),
            loss: r.loss,
            test: testMetric(model, data),
            stepNorms: r.stepGradientNorms,
            gradientNorm: r.gradientNorm,
          });
          mark = process.cpuUsage();
          return cpu < budgetSeconds;
        },
      });
      record.status = result.status;
      record.message = result.message;
    }
  } catch (e) {
    record.status = 'error';
    record.message = (e as Error).message;
  }
  return record;
}
