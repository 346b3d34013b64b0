/**
 * The persistent loop on a quick suite task (small N, h = 32; default mnist): training loss at
 * iterations 1, 50, 100, 200 and 300 for the default start and its variants, with and without the
 * true-loss safeguard, then the mechanism of the blow-up without it — true against auxiliary loss,
 * ‖W‖ and ‖V‖ along the run (results/persistent-floor/FINDINGS.md, "On small data").
 *
 *   node dist/scripts/persistent-floor/small-data.js [task] [hidden]
 */
import { AdmmTrainer, RNN } from '../../lib';
import type { AdmmTrainerOptions } from '../../lib/admm/options';
import { type TaskName, buildTask } from '../suite/tasks';

const VARIANTS: [string, AdmmTrainerOptions][] = [
  ['defaults (warm start, β 1e-4, true-loss safeguard)', {}],
  ['defaults without the safeguard (the previous defaults)', { safeguard: false }],
  ['no warm start, β 1e-3, no safeguard (the older defaults)', { warmStart: 'none', beta: 1e-3, safeguard: false }],
  ['warm start, β 1e-3, no safeguard', { beta: 1e-3, safeguard: false }],
  ['no warm start, β 1e-4, no safeguard', { warmStart: 'none', beta: 1e-4, safeguard: false }],
  ['warm start, β 1e-3, safeguard', { beta: 1e-3 }],
];

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

async function main(): Promise<void> {
  const taskName = (process.argv[2] ?? 'mnist') as TaskName;
  const task = buildTask(taskName, 'quick', 0);
  const hiddenSize = Number(process.argv[3] ?? 32);
  const newModel = () => {
    const init = { scheme: 'normal', scale: 0.1, seed: 0 } as const;
    return new RNN({ inputSize: task.inputSize, hiddenSize, outputSize: task.outputSize, init });
  };
  console.log(`${taskName}, h = ${hiddenSize}\n\n| start | loss at 1 / 50 / 100 / 200 / 300 |\n|---|---|`);
  for (const [label, options] of VARIANTS) {
    const result = await new AdmmTrainer(newModel(), { mode: 'persistent', ...options }).fit(task.train, {
      maxIterations: 300,
    });
    const at = (k: number) => result.history[k - 1]?.loss.toPrecision(4) ?? '-';
    console.log(`| ${label} | ${[1, 50, 100, 200, 300].map(at).join(' / ')} |`);
  }
  console.log(
    '\nwithout the safeguard:\n\n| iteration | true loss | auxiliary loss | ‖W‖_F | ‖V‖_F |\n|---|---|---|---|---|'
  );
  const model = newModel();
  await new AdmmTrainer(model, { mode: 'persistent', safeguard: false }).fit(task.train, {
    maxIterations: 50,
    onIteration: (r) => {
      if (r.iteration === 1 || r.iteration % 5 === 0) {
        const cells = [r.loss, r.auxiliaryLoss, norm(model.W), norm(model.V)].map((x) => x.toFixed(3));
        console.log(`| ${r.iteration} | ${cells.join(' | ')} |`);
      }
    },
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
