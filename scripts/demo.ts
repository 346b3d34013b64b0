/**
 * npm run demo — ADMMiRNN on mnist10k (rows as 28 steps, h = 128), one line per iteration
 * (an epoch in the mini-batch modes), ending with `test accuracy: 0.XXXX`.
 *
 *   npm run demo -- --mode adjoint --iterations 10 --hidden 128 --seed 0
 *   npm run demo -- --mode persistent --update linearized
 */
import { parseArgs } from 'node:util';
import { AdmmTrainer, RNN, loadMnist10k, type AdmmIterationRecord, type AdmmMode } from '../lib';

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    iterations: { type: 'string' },
    hidden: { type: 'string', default: '128' },
    update: { type: 'string', default: 'exact' },
    seed: { type: 'string', default: '0' },
  },
});

function columns(r: AdmmIterationRecord, test: number): string {
  const e = (v: number) => v.toExponential(2).padStart(9);
  const common = `${String(r.iteration).padStart(4)} ${r.loss.toFixed(4)} ${r.accuracy.toFixed(4)} ${test.toFixed(4)} ${r.auxiliaryLoss.toFixed(4).padStart(9)}`;
  const specific =
    r.stepSignal || r.kind !== 'persistent'
      ? `${e(r.stepSignal?.[0] ?? NaN)} ${e(r.stepSignal?.at(-1) ?? NaN)}`
      : `${e(r.primalResiduals.a)} ${e(r.primalResiduals.s)} ${e(r.primalResiduals.o)} ${e(r.dualResidual)}`;
  return `${common} ${specific} ${r.rho[0].toPrecision(4).padStart(8)} ${r.seconds.toFixed(2).padStart(7)}`;
}

async function main(): Promise<void> {
  const hidden = Number(values.hidden),
    seed = Number(values.seed);
  const { train, test } = loadMnist10k({ seed });
  const model = new RNN({
    inputSize: 28,
    hiddenSize: hidden,
    outputSize: 10,
    init: { scheme: 'normal', scale: 0.1, seed },
  });
  const trainer = new AdmmTrainer(model, {
    ...(values.mode ? { mode: values.mode as AdmmMode } : {}),
    update: values.update as 'exact' | 'linearized',
    seed,
  });
  const { mode } = trainer.options;
  const iterations = values.iterations ? Number(values.iterations) : mode === 'persistent' ? 100 : 10;
  console.log(
    `ADMMiRNN on mnist10k: ${train.targets.length} train / ${test.targets.length} test sequences, T = 28, d = 28, h = ${hidden}; ` +
      `mode '${mode}'${mode === 'persistent' ? `, update '${trainer.options.update}'` : `, batch ${trainer.options.batchSize}`}, ` +
      `rho ${trainer.options.rho.join('/')} (${trainer.options.rhoPolicy.kind}), seed ${seed}`
  );
  console.log(
    mode === 'persistent'
      ? 'iter   loss  train   test  aux-loss      r(a)      r(s)      r(o)      dual     rho1  s/iter'
      : 'epoch  loss  train   test  aux-loss  signal@1 signal@28     rho1 s/epoch'
  );
  let best = { accuracy: 0, iteration: 0, elapsed: 0 };
  const result = await trainer.fit(train, {
    maxIterations: iterations,
    onIteration: (r) => {
      const accuracy = model.evaluate(test).accuracy;
      if (accuracy > best.accuracy) best = { accuracy, iteration: r.iteration, elapsed: r.elapsed };
      console.log(columns(r, accuracy));
    },
  });
  console.log(`status: ${result.status} (${result.message}); ${result.seconds.toFixed(1)} s in all`);
  console.log(
    `best test accuracy ${best.accuracy.toFixed(4)} at iteration ${best.iteration} (${best.elapsed.toFixed(1)} s of training)`
  );
  console.log(`test accuracy: ${model.evaluate(test).accuracy.toFixed(4)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
