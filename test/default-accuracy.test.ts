/**
 * Guards the accuracy of the default AdmmTrainer on a small fixed mnist10k subset. Measured
 * when the default was chosen (seeds 0–2, h = 64, 2,000 train / 2,000 test sequences,
 * 3 epochs): test accuracy 0.707–0.748 against a readout-only floor of 0.54–0.56.
 * The bounds below leave a margin of ~0.05 for machine differences.
 */
import test from 'ava';
import { AdmmTrainer, RNN, loadMnist10k, refitReadout } from '../lib';

const { train, test: held } = loadMnist10k({ limit: 2000 });
const make = () =>
  new RNN({ inputSize: 28, hiddenSize: 64, outputSize: 10, init: { scheme: 'normal', scale: 0.1, seed: 0 } });

test('the default AdmmTrainer beats 0.65 test accuracy and the readout-only floor by 0.08', async (t) => {
  const floorModel = make();
  refitReadout(floorModel, train);
  const floor = floorModel.evaluate(held).accuracy;
  const model = make();
  const result = await new AdmmTrainer(model).fit(train, { maxIterations: 3 });
  const accuracy = model.evaluate(held).accuracy;
  t.log(
    `default mode: test accuracy ${accuracy.toFixed(4)}, readout-only floor ${floor.toFixed(4)}, ${result.seconds.toFixed(1)} s`
  );
  t.is(result.status, 'max-iterations');
  t.true(accuracy >= 0.65, `test accuracy ${accuracy}`);
  t.true(accuracy >= floor + 0.08, `test accuracy ${accuracy} is not 0.08 above the floor ${floor}`);
});
