/**
 * The kernels' per-thread scratch buffers (native/scratch.h): measured and freed between kernels,
 * and freed when a fit ends, whichever way it ends.
 */
import test from 'ava';
import { AdmmTrainer, BpttTrainer, nativeScratchBytes, releaseNativeScratch } from '../lib';
import { type ProblemSpec, randomProblem } from './problems';

// Serial: the tests count one process-wide set of buffers.
const SPEC: ProblemSpec = { N: 600, T: 12, d: 4, h: 16, K: 3, lossSteps: 'last', loss: 'softmax-cross-entropy' };

test.serial('a step leaves the scratch allocated; releaseNativeScratch frees all of it', async (t) => {
  await releaseNativeScratch();
  t.is(await nativeScratchBytes(), 0);
  const { model, data } = randomProblem(SPEC);
  const trainer = new AdmmTrainer(model, { mode: 'persistent', dualWalk: false });
  await trainer.initialise(data);
  await trainer.step();
  const held = await nativeScratchBytes();
  // The forward pass alone keeps N·T·h-sized rows; the s-step's gradient N·h.
  t.true(held >= 4 * SPEC.N * SPEC.h, `${held} bytes held after a step`);
  t.is(await releaseNativeScratch(), held);
  t.is(await nativeScratchBytes(), 0);
  // The next kernel allocates afresh, and the run goes on as one that never released.
  const before = Float32Array.from(model.W);
  await trainer.step();
  t.notDeepEqual(model.W, before);
  t.true((await nativeScratchBytes()) > 0);
  const kept = randomProblem(SPEC);
  const unreleased = new AdmmTrainer(kept.model, { mode: 'persistent', dualWalk: false });
  await unreleased.initialise(kept.data);
  await unreleased.step();
  await unreleased.step();
  t.deepEqual(model.weights(), kept.model.weights());
  await releaseNativeScratch();
});

for (const [name, fit] of [
  [
    'AdmmTrainer (every mode)',
    async () => {
      for (const mode of ['persistent', 'adjoint', 'local-duals', 'sweeps'] as const) {
        const { model, data } = randomProblem(SPEC);
        await new AdmmTrainer(model, { mode }).fit(data, { maxIterations: 1 });
      }
    },
  ],
  [
    'BpttTrainer',
    async () => {
      const { model, data } = randomProblem(SPEC);
      await new BpttTrainer(model).fit(data, { maxIterations: 1 });
    },
  ],
  [
    'a fit stopped by onIteration',
    async () => {
      const { model, data } = randomProblem(SPEC);
      await new AdmmTrainer(model).fit(data, { maxIterations: 5, onIteration: () => false });
    },
  ],
] as const)
  test.serial(`${name}: a fit frees the scratch when it ends`, async (t) => {
    let during = 0;
    const { model, data } = randomProblem(SPEC);
    // Measured from inside a fit: the buffers are held while it runs.
    await new AdmmTrainer(model, { mode: 'adjoint' }).fit(data, {
      maxIterations: 1,
      onIteration: async () => void (during = await nativeScratchBytes()),
    });
    t.true(during > 0, 'nothing held during the fit');
    await fit();
    t.is(await nativeScratchBytes(), 0);
  });

test.serial('a fit that fails frees the scratch too', async (t) => {
  const { model, data } = randomProblem(SPEC);
  const trainer = new AdmmTrainer(model, { mode: 'persistent', dualWalk: false });
  await t.throwsAsync(
    trainer.fit(data, {
      maxIterations: 2,
      onIteration: () => {
        throw new Error('the caller failed');
      },
    }),
    { message: 'the caller failed' }
  );
  t.is(await nativeScratchBytes(), 0);
});
