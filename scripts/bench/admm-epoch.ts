/**
 * Epochs of the default ADMM mode ('adjoint': resynchronised mini-batches of 128 with the
 * closed-form multipliers) on mnist10k at h = 128, from the same initial weights as the BPTT
 * pair, so its epoch time can be read next to BPTT-Adam's and PyTorch's in the same run.
 * Epoch times include the training-set forward pass that fills each record's loss.
 */
import { AdmmTrainer, RNN, loadMnist10k } from '../../lib/index';
import { H, SEED } from './bptt-pytorch';

export interface AdmmEpochs {
  seconds: number[];
  testAccuracy: number;
}

export async function measureAdmmEpochs(epochs: number): Promise<AdmmEpochs> {
  const { train, test } = loadMnist10k();
  const model = new RNN({ inputSize: 28, hiddenSize: H, outputSize: 10, init: { scheme: 'orthogonal', seed: SEED } });
  const trainer = new AdmmTrainer(model, { mode: 'adjoint', seed: SEED });
  const result = await trainer.fit(train, { maxIterations: epochs });
  if (result.history.length !== epochs) throw new Error(`adjoint epochs: ${result.status} (${result.message})`);
  return { seconds: result.history.map((r) => r.seconds), testAccuracy: model.evaluate(test).accuracy };
}
