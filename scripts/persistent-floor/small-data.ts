/**
 * The persistent loop on the quick suite's mnist task (small N, h = 32): training loss at
 * iterations 1, 50, 100, 200 and 300 for the default start and its variants, with and without the
 * true-loss safeguard (results/persistent-floor/FINDINGS.md, "On small data").
 *
 *   node dist/scripts/persistent-floor/small-data.js [task] [hidden]
 */
import { AdmmTrainer, RNN } from '../../lib';
import type { AdmmTrainerOptions } from '../../lib/admm/options';
import { type TaskName, buildTask } from '../suite/tasks';

const VARIANTS: [string, AdmmTrainerOptions][] = [
  ['new defaults (warm start, β 1e-4)', {}],
  ['no warm start, β 1e-3 (the old defaults)', { warmStart: 'none', beta: 1e-3 }],
  ['warm start, β 1e-3', { beta: 1e-3 }],
  ['no warm start, β 1e-4', { warmStart: 'none', beta: 1e-4 }],
  ['new defaults + safeguard: true', { safeguard: true }],
  ['warm start, β 1e-3 + safeguard: true', { beta: 1e-3, safeguard: true }],
];

async function main(): Promise<void> {
  const task = buildTask((process.argv[2] ?? 'mnist') as TaskName, 'quick', 0);
  const hiddenSize = Number(process.argv[3] ?? 32);
  console.log('| start | loss at 1 / 50 / 100 / 200 / 300 |\n|---|---|');
  for (const [label, options] of VARIANTS) {
    const init = { scheme: 'normal', scale: 0.1, seed: 0 } as const;
    const model = new RNN({ inputSize: task.inputSize, hiddenSize, outputSize: task.outputSize, init });
    const result = await new AdmmTrainer(model, { mode: 'persistent', ...options }).fit(task.train, {
      maxIterations: 300,
    });
    const at = (k: number) => result.history[k - 1]?.loss.toPrecision(4) ?? '-';
    console.log(`| ${label} | ${[1, 50, 100, 200, 300].map(at).join(' / ')} |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
