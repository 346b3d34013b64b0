/**
 * npm run demo — ADMMiRNN on mnist10k (rows as 28 steps, h = 128), one line per iteration,
 * ending with `test accuracy: 0.XXXX`.
 *
 *   npm run demo -- --iterations 50 --hidden 128 --update exact --seed 0
 */
import { parseArgs } from 'node:util';
import { AdmmTrainer, RNN, loadMnist10k } from '../lib';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '100' },
    hidden: { type: 'string', default: '128' },
    update: { type: 'string', default: 'exact' },
    seed: { type: 'string', default: '0' },
  },
});

async function main(): Promise<void> {
  const iterations = Number(values.iterations), hidden = Number(values.hidden), seed = Number(values.seed);
  const update = values.update as 'exact' | 'linearized';
  const { train, test } = loadMnist10k({ seed });
  const model = new RNN({ inputSize: 28, hiddenSize: hidden, outputSize: 10, init: { scheme: 'normal', scale: 0.1, seed } });
  const trainer = new AdmmTrainer(model, { update });
  console.log(
    `ADMMiRNN on mnist10k: ${train.targets.length} train / ${test.targets.length} test sequences, T = 28, d = 28, h = ${hidden}, ` +
      `update '${update}', rho ${trainer.options.rho.join('/')} (${trainer.options.rhoPolicy.kind}), seed ${seed}`
  );
  console.log('iter   loss  train   test   aux-loss  r(a)     r(s)     r(o)     dual     rho1     s/iter');
  let best = { accuracy: 0, iteration: 0, elapsed: 0 };
  const result = await trainer.fit(train, {
    maxIterations: iterations,
    onIteration: (r) => {
      const accuracy = model.evaluate(test).accuracy;
      if (accuracy > best.accuracy) best = { accuracy, iteration: r.iteration, elapsed: r.elapsed };
      const e = (v: number) => v.toExponential(2).padStart(8);
      console.log(
        `${String(r.iteration).padStart(4)} ${r.loss.toFixed(4)} ${r.accuracy.toFixed(4)} ${accuracy.toFixed(4)} ${r.auxiliaryLoss.toFixed(4).padStart(9)} ` +
          `${e(r.primalResiduals.a)} ${e(r.primalResiduals.s)} ${e(r.primalResiduals.o)} ${e(r.dualResidual)} ${r.rho[0].toFixed(1).padStart(8)} ${r.seconds.toFixed(2).padStart(8)}`
      );
    },
  });
  console.log(`status: ${result.status} (${result.message}); ${result.seconds.toFixed(1)} s in all`);
  console.log(`best test accuracy ${best.accuracy.toFixed(4)} at iteration ${best.iteration} (${best.elapsed.toFixed(1)} s)`);
  console.log(`test accuracy: ${model.evaluate(test).accuracy.toFixed(4)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
