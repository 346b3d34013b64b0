/** `admmirnn export-tfjs` / `import-tfjs`: TensorFlow.js LayersModel files (SimpleRNN + Dense). */
import type { Command } from 'commander';
import { Option } from 'commander';
import { loadTfjsModel, saveTfjsModel } from '../interop/tfjs';
import { openCheckpoint } from './checkpoint-file';
import { fromFileAsync } from './file-errors';
import { checkWritable, saveCheckpointTo } from './output-file';
import { EXIT, integer } from './usage';

export function registerTfjs(program: Command): void {
  program
    .command('export-tfjs')
    .description("write a checkpoint's model as a TensorFlow.js LayersModel (dir/model.json + dir/weights.bin)")
    .argument('<checkpoint>', 'a checkpoint written by train')
    .argument('<dir>', 'output directory')
    .addOption(
      new Option('--outputs <which>', 'output of the last step or every step (return_sequences)')
        .choices(['last', 'every'])
        .default('last')
    )
    .option('--sequence-length <T>', 'fix T in the input shape (default: any length)', integer(1))
    .action(async (file: string, dir: string, flags: { outputs: 'last' | 'every'; sequenceLength?: number }) => {
      const ck = await openCheckpoint(file);
      await saveTfjsModel(dir, ck.model, { outputs: flags.outputs, sequenceLength: flags.sequenceLength });
      process.stdout.write(`wrote ${dir}/model.json and ${dir}/weights.bin\n`);
      process.exitCode = EXIT.ok;
    });
  program
    .command('import-tfjs')
    .description('read a TensorFlow.js LayersModel (SimpleRNN tanh + Dense linear) into a checkpoint')
    .argument('<model.json>', 'the model.json of a tfjs LayersModel (weight files beside it)')
    .argument('<checkpoint>', 'checkpoint to write')
    .action(async (modelJson: string, out: string) => {
      checkWritable(out);
      const model = await fromFileAsync(modelJson, () => loadTfjsModel(modelJson));
      const config = { inputSize: model.inputSize, hiddenSize: model.hiddenSize, outputSize: model.outputSize };
      await saveCheckpointTo(out, { model, config });
      process.stdout.write(`wrote ${out} (d = ${model.inputSize}, h = ${model.hiddenSize}, K = ${model.outputSize})\n`);
      process.exitCode = EXIT.ok;
    });
}
