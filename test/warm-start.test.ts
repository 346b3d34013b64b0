/**
 * The persistent loop's warm start (issue 16, item 4): (V, c) refitted on the untrained network's
 * forward states before the auxiliaries are set, so iteration 1 starts from the readout-only floor
 * and not from the random readout's chance level; a restored run keeps its own readout.
 */
import test from 'ava';
import { AdmmTrainer, refitReadout } from '../lib';
import { warmStartIterations } from '../lib/admm/persistent/warm-start';
import { randomProblem } from './problems';

const SPEC = { N: 60, T: 5, d: 3, h: 8, K: 3, lossSteps: 'last', loss: 'softmax-cross-entropy' } as const;

test("warmStart 'readout' (persistent default) starts from the refitted readout; 'none' does not", async (t) => {
  const warm = randomProblem(SPEC),
    cold = randomProblem(SPEC),
    floor = randomProblem(SPEC);
  const initial = cold.model.evaluate(cold.data).loss;
  refitReadout(floor.model, floor.data, { beta: new AdmmTrainer(floor.model, { mode: 'persistent' }).options.beta });
  const floorLoss = floor.model.evaluate(floor.data).loss;
  t.true(floorLoss < 0.9 * initial, `the refit matters here: ${initial} → ${floorLoss}`);

  const trainer = new AdmmTrainer(warm.model, { mode: 'persistent' });
  t.is(trainer.options.warmStart, 'readout');
  await trainer.initialise(warm.data);
  t.deepEqual(warm.model.V, floor.model.V);
  t.deepEqual(warm.model.c, floor.model.c);
  // The auxiliary outputs are the refitted readout's forward outputs.
  const outputs = warm.model.predict(warm.data);
  t.deepEqual(trainer.state!.O, outputs);

  // Without the dual walk, which moves the weights in iteration 1 with either start.
  const loop = { mode: 'persistent', dualWalk: false } as const;
  const warmRun = await new AdmmTrainer(randomProblem(SPEC).model, loop).fit(warm.data, { maxIterations: 1 });
  const coldRun = await new AdmmTrainer(cold.model, { ...loop, warmStart: 'none' }).fit(cold.data, {
    maxIterations: 1,
  });
  t.true(
    warmRun.history[0].loss < floorLoss * 1.05,
    `iteration 1 near the floor: ${warmRun.history[0].loss} vs ${floorLoss}`
  );
  t.true(
    coldRun.history[0].loss > 0.95 * initial,
    `without it, iteration 1 near the random readout: ${coldRun.history[0].loss}`
  );
});

test('restoreState keeps the readout of the saved run (no warm start on a resumed run)', async (t) => {
  const p = randomProblem(SPEC);
  const trainer = new AdmmTrainer(p.model, { mode: 'persistent' });
  await trainer.fit(p.data, { maxIterations: 2 });
  const V = p.model.V.slice();
  await trainer.restoreState(p.data, trainer.exportState());
  t.deepEqual(p.model.V, V);
});

test('options.warmStart is checked and belongs to the persistent mode', (t) => {
  const { model } = randomProblem(SPEC);
  t.throws(() => new AdmmTrainer(model, { mode: 'persistent', warmStart: 'yes' as never }), {
    instanceOf: RangeError,
    message: /options\.warmStart/,
  });
  t.throws(() => new AdmmTrainer(model, { mode: 'adjoint', warmStart: 'readout' }), {
    instanceOf: RangeError,
    message: /options\.warmStart/,
  });
  t.is(new AdmmTrainer(model, { mode: 'adjoint' }).options.warmStart, 'none');
});

test('the warm start keeps the full refit on small problems and cuts it short on large logit counts', (t) => {
  t.is(warmStartIterations(8000, 10), 300); // mnist10k, a loss at the last step
  t.is(warmStartIterations(20000, 10), 300);
  // 4268 texts of 25 characters, a loss at every step over 61 characters: 0.3 CPU-s an iteration.
  t.is(warmStartIterations(4268 * 25, 61), 23);
  t.is(warmStartIterations(1e6, 1), 150);
  t.is(warmStartIterations(1e9, 1), 20);
});
