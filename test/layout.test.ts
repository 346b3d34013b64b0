/** Training data is validated once per public call into an immutable TrainingLayout (lib/training/layout.ts). */
import test from 'ava';
import { AdmmTrainer, type AdmmMode } from '../lib';
import { trainingLayout } from '../lib/training/layout';
import { randomProblem } from './problems';

// The compiled modules call their imports through the module object, so wrapping its exports counts every call.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object itself, to wrap its exports
const dataModule = require('../lib/data') as Record<string, (...args: unknown[]) => unknown>;

function countCalls(names: readonly string[]): { counts: Record<string, number>; restore: () => void } {
  const counts: Record<string, number> = {},
    originals = names.map((name) => dataModule[name]);
  names.forEach((name, i) => {
    counts[name] = 0;
    dataModule[name] = (...args: unknown[]) => {
      counts[name]++;
      return originals[i](...args);
    };
  });
  return { counts, restore: () => names.forEach((name, i) => (dataModule[name] = originals[i])) };
}

for (const mode of ['persistent', 'adjoint'] as AdmmMode[])
  test.serial(
    `AdmmTrainer.fit (mode '${mode}', readoutRefit, then resumed) validates its data once per fit`,
    async (t) => {
      const spec = { N: 10, T: 3, d: 2, h: 4, K: 2, lossSteps: 'last', loss: 'softmax-cross-entropy' } as const;
      const { model, data } = randomProblem(spec);
      const trainer = new AdmmTrainer(model, { mode, readoutRefit: true, batchSize: 4 });
      const spy = countCalls(['inputLayout', 'targetLayout']);
      try {
        const first = await trainer.fit(data, { maxIterations: 2 });
        t.truthy(first.refit);
        t.deepEqual(spy.counts, { inputLayout: 1, targetLayout: 1 });
        await trainer.fit(data, { maxIterations: 1, resume: true });
        t.deepEqual(spy.counts, { inputLayout: 2, targetLayout: 2 });
      } finally {
        spy.restore();
      }
    }
  );

test('a training layout is immutable and infers the loss from the targets', (t) => {
  const { model, data } = randomProblem({ N: 4, T: 2, d: 2, h: 3, K: 2, lossSteps: 'every', loss: 'squared-error' });
  const layout = trainingLayout(data, model, { loss: undefined, lossSteps: 'every' });
  t.is(layout.loss, 'squared-error');
  t.deepEqual({ ...layout.shape }, { N: 4, T: 2, d: 2, h: 3, K: 2, everyStep: true });
  t.throws(() => ((layout as { loss: string }).loss = 'softmax-cross-entropy'), { instanceOf: TypeError });
  t.throws(() => ((layout.shape as { N: number }).N = 5), { instanceOf: TypeError });
  t.throws(() => trainingLayout({ ...data, targets: [1, 2] }, model, { loss: undefined, lossSteps: 'every' }), {
    instanceOf: TypeError,
    message: /data\.targets/,
  });
});
