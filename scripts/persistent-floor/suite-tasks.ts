/**
 * The persistent loop with and without the dual warm start (options.dualWalk) on a suite
 * classification task (results/persistent-floor/FINDINGS.md, "The dual warm start"): the
 * readout-only floor, then test accuracy at iterations 1, 10, 30 and 60 and how each run ended.
 *
 *   node dist/scripts/persistent-floor/suite-tasks.js task [quick|full] [hidden] [dual-walk options as JSON]
 */
import { AdmmTrainer, type AdmmTrainerOptions, RNN, refitReadout } from '../../lib';
import { type Size, type TaskName, buildTask } from '../suite/tasks';

async function main(): Promise<void> {
  const [name, size = 'full', hidden = '128', walk = 'true'] = process.argv.slice(2);
  if (!name) throw new RangeError('usage: suite-tasks.js task [quick|full] [hidden] [dualWalk JSON]');
  const task = buildTask(name as TaskName, size as Size, 0);
  if (task.metric !== 'accuracy') throw new RangeError(`${name} is not a classification task`);
  const newModel = () => {
    const init = { scheme: 'normal', scale: 0.1, seed: 0 } as const;
    return new RNN({ inputSize: task.inputSize, hiddenSize: Number(hidden), outputSize: task.outputSize, init });
  };
  const floorModel = newModel();
  refitReadout(floorModel, task.train);
  console.log(
    `${name} (${size}), h = ${hidden}: readout-only floor ${floorModel.evaluate(task.test).accuracy.toFixed(3)}`
  );
  const variants: [string, AdmmTrainerOptions][] = [
    ['defaults', {}],
    [`dualWalk ${walk}`, { dualWalk: JSON.parse(walk) as AdmmTrainerOptions['dualWalk'] }],
  ];
  for (const [label, options] of variants) {
    const model = newModel();
    const at: string[] = [];
    const t0 = performance.now();
    const result = await new AdmmTrainer(model, { mode: 'persistent', ...options }).fit(task.train, {
      maxIterations: 60,
      onIteration: (r) => {
        if ([1, 10, 30, 60].includes(r.iteration))
          at.push(`${r.iteration}: ${model.evaluate(task.test).accuracy.toFixed(3)}`);
      },
    });
    const seconds = ((performance.now() - t0) / 1000).toFixed(0);
    console.log(`${label}: test ${at.join(', ')}; ${result.status} (${result.message}); ${seconds} s`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
