/** The readout refit: its event-loop-friendly driver computes what the synchronous one does. */
import test from 'ava';
import { refitReadout } from '../lib';
import { refitReadoutAsync } from '../lib/readout';
import { randomProblem } from './problems';

for (const loss of ['softmax-cross-entropy', 'squared-error'] as const)
  test(`refitReadoutAsync gives refitReadout's (V, c) and loss bit for bit (${loss})`, async (t) => {
    const { model, data } = randomProblem({ N: 300, T: 5, d: 4, h: 16, K: 3, lossSteps: 'every', loss });
    const twin = model.clone(),
      before = Array.from(model.V);
    const expected = refitReadout(model, data, { lossSteps: 'every' });
    const actual = await refitReadoutAsync(twin, data, { lossSteps: 'every' });
    t.is(actual, expected);
    t.deepEqual(Array.from(twin.V), Array.from(model.V));
    t.deepEqual(Array.from(twin.c), Array.from(model.c));
    t.notDeepEqual(Array.from(twin.V), before, 'the refit moved V');
  });

test('refitReadoutAsync rejects bad options as refitReadout throws them', async (t) => {
  const { model, data } = randomProblem({ N: 10, T: 3, d: 2, h: 4, K: 2, lossSteps: 'last', loss: 'squared-error' });
  const expected = { instanceOf: RangeError, message: /options\.maxIterations/ };
  t.throws(() => refitReadout(model, data, { maxIterations: 0 }), expected);
  await t.throwsAsync(refitReadoutAsync(model, data, { maxIterations: 0 }), expected);
});
