/**
 * Child process for the atomicity test: saves one large checkpoint to argv[2] and prints
 * "writing" just before, so the parent can SIGKILL it mid-save.
 */
import { saveCheckpoint } from '../../lib/checkpoint';
import { RNN } from '../../lib/rnn';

async function main(): Promise<void> {
  const target = process.argv[2];
  const hidden = Number(process.argv[3] ?? 3000);
  const model = new RNN({ inputSize: 4, hiddenSize: hidden, outputSize: 3, init: { seed: 9 } });
  process.stdout.write('writing\n');
  await saveCheckpoint(target, { model, config: { inputSize: 4, hiddenSize: hidden, outputSize: 3 } });
  process.stdout.write('done\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
