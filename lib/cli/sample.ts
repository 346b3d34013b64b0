/** `admmirnn sample`: generate text from a character model. */
import type { Command } from 'commander';
import { sampleText } from '../sampling';
import type { Vocabulary } from '../text';
import { openCheckpoint } from './checkpoint-file';
import { EXIT, UsageError, integer, number } from './usage';

/** The prime is a flag: characters the model does not know are a usage error (exit 2). */
function checkPrime(vocabulary: Vocabulary, prime: string): void {
  try {
    vocabulary.encode(prime, '--prime');
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
}

export function registerSample(program: Command): void {
  program
    .command('sample')
    .description('generate text from a character model (trained with --text)')
    .argument('<checkpoint>', 'a checkpoint of a character model')
    .option('-l, --length <n>', 'characters to generate', integer(0, 1e7), 200)
    .option('-t, --temperature <t>', 'softmax temperature (0: always the most likely character)', number(0), 1)
    .option('-p, --prime <text>', 'text to start from', '')
    .option('--seed <n>', 'seed of the random draws', integer(0, 2 ** 32 - 1), 0)
    .action(async (file: string, flags: { length: number; temperature: number; prime: string; seed: number }) => {
      const ck = await openCheckpoint(file);
      if (!ck.vocabulary || ck.task?.source !== 'text')
        throw new RangeError(
          `${file} is not a character model (train one with --text); it has ${ck.vocabulary ? 'a vocabulary but a classification task' : 'no vocabulary'}`
        );
      checkPrime(ck.vocabulary, flags.prime);
      const text = sampleText(ck.model, ck.vocabulary, {
        length: flags.length,
        temperature: flags.temperature,
        prime: flags.prime,
        seed: flags.seed,
      });
      process.stdout.write(flags.prime + text + '\n');
      process.exitCode = EXIT.ok;
    });
}
