/**
 * The persistent loop with and without the dual warm start (options.dualWalk) on a suite
 * classification task (results/persistent-floor/FINDINGS.md, "The dual warm start"): the
 * readout-only floor, then test accuracy at iterations 1, 10, 20, …, 60, the first iteration at
 * floor + 0.10 and how each run ended; with an output path, every iteration's test accuracy and
 * training loss as JSON.
 *
 *   node dist/scripts/persistent-floor/suite-tasks.js task [quick|full] [hidden] [variants JSON] [out.json]
 *
 * variants: an object of label → persistent-mode options (default: the defaults and dualWalk: true).
 */
import { writeFileSync } from 'node:fs';
import { AdmmTrainer, type AdmmTrainerOptions, RNN, refitReadout } from '../../lib';
import { type Size, type TaskName, buildTask } from '../suite/tasks';

const REPORTED = [1, 10, 20, 30, 40, 50, 60];

async function main(): Promise<void> {
  const [name, size = 'full', hidden = '128', variantsJson, out] = process.argv.slice(2);
  if (!name) throw new RangeError('usage: suite-tasks.js task [quick|full] [hidden] [variants JSON] [out.json]');
  const task = buildTask(name as TaskName, size as Size, 0);
  if (task.metric !== 'accuracy') throw new RangeError(`${name} is not a classification task`);
  const newModel = () => {
    const init = { scheme: 'normal', scale: 0.1, seed: 0 } as const;
    return new RNN({ inputSize: task.inputSize, hiddenSize: Number(hidden), outputSize: task.outputSize, init });
  };
  const floorModel = newModel();
  refitReadout(floorModel, task.train);
  const floor = floorModel.evaluate(task.test).accuracy;
  console.log(`${name} (${size}), h = ${hidden}: readout-only floor ${floor.toFixed(3)}`);
  const variants = variantsJson
    ? (JSON.parse(variantsJson) as Record<string, AdmmTrainerOptions>)
    : { defaults: {}, 'dualWalk true': { dualWalk: true } };
  const curves: Record<string, { floor: number; test: number[]; loss: number[]; status: string }> = {};
  for (const [label, options] of Object.entries(variants)) {
    const model = newModel();
    const test: number[] = [],
      loss: number[] = [];
    const t0 = performance.now();
    const result = await new AdmmTrainer(model, { mode: 'persistent', ...options }).fit(task.train, {
      maxIterations: 60,
      onIteration: (r) => {
        test.push(model.evaluate(task.test).accuracy);
        loss.push(r.loss);
      },
    });
    const seconds = ((performance.now() - t0) / 1000).toFixed(0);
    const at = REPORTED.filter((i) => i <= test.length).map((i) => `${i}: ${test[i - 1].toFixed(3)}`);
    const reached = test.findIndex((a) => a >= floor + 0.1) + 1;
    console.log(
      `${label}: test ${at.join(', ')}; floor + 0.10 ${reached > 0 ? `at ${reached}` : 'not reached'}; ` +
        `${result.status} (${result.message}); ${seconds} s`
    );
    curves[label] = { floor, test, loss, status: result.status };
    if (out) writeFileSync(out, JSON.stringify({ task: name, size, hidden: Number(hidden), curves }, null, 1) + '\n');
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
