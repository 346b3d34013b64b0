/**
 * The `admmirnn` command line. Exit codes: 0 success, 1 runtime error (bad file, failed
 * training), 2 usage error (unknown option, invalid value, wrong arguments), 130 interrupted.
 */
import { Command, CommanderError } from 'commander';
import { registerEval } from './eval';
import { registerInfo } from './info';
import { registerPredict } from './predict';
import { registerSample } from './sample';
import { registerTfjs } from './tfjs';
import { registerTrain } from './train';
import { registerWorker } from './worker';
import { EXIT, UsageError } from './usage';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- package.json lies outside rootDir: no import
const VERSION = (require('../../../package.json') as { version: string }).version;

export function createProgram(): Command {
  const program = new Command('admmirnn')
    .description(
      'Train recurrent neural networks with ADMM (ADMMiRNN) or BPTT; evaluate, predict and sample from checkpoints.'
    )
    .version(VERSION)
    .exitOverride() // inherited by the subcommands created below: errors come back as exceptions
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ outputError: (text, write) => write(`admmirnn: ${text}`) });
  registerTrain(program);
  registerEval(program);
  registerPredict(program);
  registerSample(program);
  registerInfo(program);
  registerTfjs(program);
  registerWorker(program);
  return program;
}

/** Runs the CLI on `argv` (without node and the script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT.ok); // e.g. `admmirnn predict … | head`
  });
  process.exitCode = undefined;
  try {
    await createProgram().parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? EXIT.ok);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (e instanceof UsageError) {
      process.stderr.write(`admmirnn: error: ${e.message}\n(add --help for usage)\n`);
      return EXIT.usage;
    }
    process.stderr.write(`admmirnn: error: ${(e as Error)?.message ?? String(e)}\n`);
    if (process.env.ADMMIRNN_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
    return EXIT.failure;
  }
}
