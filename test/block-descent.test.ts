/**
 * The property docs/ALGORITHM.md asks to test first: after every primal block the augmented
 * Lagrangian does not increase (float32 tolerance), for the exact and linearised variants.
 */
import test from 'ava';
import { AdmmTrainer } from '../lib';
import { perturbState, randomProblem, type ProblemSpec } from './problems';

/** The paper's full-batch loop (not the default mode). */
const PERSISTENT = { mode: 'persistent' } as const;

const BLOCKS = [
  'updateInputWeights',
  'updatePreactivations',
  'updateStates',
  'updateOutputWeights',
  'updateOutputs',
] as const;

const cases: (ProblemSpec & { update: 'exact' | 'linearized'; rho: [number, number, number] })[] = [
  { N: 9, T: 5, d: 3, h: 6, K: 4, lossSteps: 'last', loss: 'softmax-cross-entropy', update: 'exact', rho: [1, 1, 1] },
  {
    N: 7,
    T: 4,
    d: 5,
    h: 5,
    K: 3,
    lossSteps: 'every',
    loss: 'softmax-cross-entropy',
    update: 'exact',
    rho: [10, 10, 3],
  },
  { N: 6, T: 6, d: 4, h: 7, K: 2, lossSteps: 'every', loss: 'squared-error', update: 'exact', rho: [2, 5, 1] },
  {
    N: 8,
    T: 5,
    d: 6,
    h: 5,
    K: 3,
    lossSteps: 'last',
    loss: 'softmax-cross-entropy',
    update: 'exact',
    rho: [1, 6, 1],
    tokens: true,
  },
  {
    N: 9,
    T: 5,
    d: 3,
    h: 6,
    K: 4,
    lossSteps: 'last',
    loss: 'softmax-cross-entropy',
    update: 'linearized',
    rho: [1, 1, 1],
  },
  { N: 6, T: 6, d: 4, h: 7, K: 2, lossSteps: 'every', loss: 'squared-error', update: 'linearized', rho: [2, 5, 1] },
  {
    N: 8,
    T: 5,
    d: 6,
    h: 5,
    K: 3,
    lossSteps: 'every',
    loss: 'softmax-cross-entropy',
    update: 'linearized',
    rho: [3, 3, 3],
    tokens: true,
  },
];

for (const c of cases) {
  const name = `${c.update} ${c.loss} loss at ${c.lossSteps} step${c.tokens ? ', token inputs' : ''}, rho ${c.rho}`;
  test(`no primal block increases the augmented Lagrangian: ${name}`, async (t) => {
    const { model, data } = randomProblem(c);
    const trainer = new AdmmTrainer(model, {
      ...PERSISTENT,
      update: c.update,
      rho: c.rho,
      rhoPolicy: { kind: 'fixed' },
      beta: 0.01,
      lossSteps: c.lossSteps,
    });
    await trainer.initialise(data);
    const st = trainer.state!;
    let checked = 0,
      decreased = 0;
    for (let sweep = 0; sweep < 6; sweep++) {
      perturbState(st, 100 + sweep);
      let before = await trainer.lagrangian();
      for (const block of BLOCKS) {
        await trainer[block]();
        const after = await trainer.lagrangian();
        const tolerance = 2e-5 * Math.max(1, Math.abs(before));
        t.true(after <= before + tolerance, `${block} (sweep ${sweep}) raised L from ${before} to ${after}`);
        if (after < before - tolerance) decreased++;
        checked++;
        before = after;
      }
      await trainer.updateDuals();
    }
    t.is(checked, 30);
    // Blocks do real work: most of them lower L strictly after the perturbation.
    t.true(decreased >= 18, `only ${decreased} of ${checked} blocks decreased L`);
  });
}

test('the augmented Lagrangian equals loss + decay when every constraint holds and duals are zero', async (t) => {
  const { model, data } = randomProblem({
    N: 5,
    T: 4,
    d: 3,
    h: 4,
    K: 3,
    lossSteps: 'last',
    loss: 'softmax-cross-entropy',
  });
  const trainer = new AdmmTrainer(model, { ...PERSISTENT, beta: 0.1 }); // β = 0.1 per sample × 5 samples
  await trainer.initialise(data);
  const evaluation = model.evaluate(data);
  let decay = 0;
  for (const w of [model.U, model.W, model.V]) for (const v of w) decay += v * v;
  const expected = evaluation.loss * evaluation.count + 0.25 * decay;
  t.true(Math.abs((await trainer.lagrangian()) - expected) < 1e-4 * Math.abs(expected));
});
