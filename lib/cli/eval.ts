/** `admmirnn eval`: loss and accuracy of a checkpoint's model on data encoded as it was trained. */
import type { Command } from 'commander';
import { type DataFlags, addDataOptions, loadData } from './data-options';
import { openCheckpoint } from './checkpoint-file';
import { EXIT } from './usage';

export function registerEval(program: Command): void {
  const cmd = program
    .command('eval')
    .description("evaluate a checkpoint's model: mean loss and accuracy")
    .argument('<checkpoint>', 'a checkpoint written by train')
    .option('--json', 'print the result as JSON');
  addDataOptions(cmd, 'test');
  cmd.action(async (file: string, flags: DataFlags & { json?: boolean }) => {
    const ck = await openCheckpoint(file);
    const { data, task, inputSize, outputSize } = loadData(flags, ck);
    const model = ck.model;
    if (inputSize !== model.inputSize || outputSize !== model.outputSize)
      throw new RangeError(
        `the data has ${inputSize} inputs and ${outputSize} outputs, the model ${model.inputSize} and ${model.outputSize}`
      );
    const r = await model.evaluateAsync(data, { loss: task.loss, lossSteps: task.lossSteps });
    const result = { loss: r.loss, accuracy: Number.isNaN(r.accuracy) ? null : r.accuracy, count: r.count };
    if (flags.json) process.stdout.write(JSON.stringify(result) + '\n');
    else
      process.stdout.write(
        `loss ${r.loss.toFixed(4)}${result.accuracy !== null ? `  accuracy ${result.accuracy.toFixed(4)}` : ''}  (${r.count} loss terms)\n`
      );
    process.exitCode = EXIT.ok;
  });
}
