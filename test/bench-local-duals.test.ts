/** The item-5 bench's ratio to the same accuracy (scripts/bench/local-duals.ts), on made-up epochs. */
import test from 'ava';
import { sameAccuracy } from '../scripts/bench/local-duals';

test('the same-accuracy ratio times both modes to the lower of their best accuracies', (t) => {
  const adjoint = { seconds: [1, 1, 1], accuracy: [0.86, 0.91, 0.93] };
  const localDuals = { seconds: [1.5, 1.5, 1.5], accuracy: [0.87, 0.9, 0.92] };
  // 0.92 (local-duals' best): adjoint first reaches it after epoch 3, local-duals after epoch 3.
  t.deepEqual(sameAccuracy(adjoint, localDuals), {
    accuracy: 0.92,
    adjoint: { epochs: 3, seconds: 3 },
    localDuals: { epochs: 3, seconds: 4.5 },
    ratio: 1.5,
  });
  // A mode that learns more per epoch needs fewer of them: local-duals at 0.91 after its first epoch.
  const faster = { seconds: [1.5, 1.5, 1.5], accuracy: [0.91, 0.95, 0.96] };
  const same = sameAccuracy(adjoint, faster);
  t.is(same.accuracy, 0.93);
  t.deepEqual([same.adjoint.epochs, same.localDuals.epochs], [3, 2]);
  t.is(same.ratio, 1);
});
