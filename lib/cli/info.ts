/** `admmirnn info`: what a checkpoint holds. */
import type { Command } from 'commander';
import type { AdmmRunSnapshot } from '../admm/snapshot';
import { openCheckpoint } from './checkpoint-file';
import { EXIT } from './usage';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('describe a checkpoint (validating it fully)')
    .argument('<checkpoint>', 'a checkpoint file')
    .option('--json', 'print the description as JSON')
    .action(async (file: string, flags: { json?: boolean }) => {
      const ck = await openCheckpoint(file);
      const m = ck.model;
      const info = {
        file,
        bytes: ck.bytes,
        format: `${ck.metadata.format} v${ck.metadata.version}`,
        generator: ck.metadata.generator ?? null,
        created: ck.metadata.created ?? null,
        model: {
          inputSize: m.inputSize,
          hiddenSize: m.hiddenSize,
          outputSize: m.outputSize,
          parameters: m.parameterCount,
          init: ck.config.init ?? null,
        },
        task: ck.task ?? null,
        vocabulary: ck.vocabulary ? ck.vocabulary.size : null,
        trainer: ck.trainer ?? null,
        admmState: describeAdmmState(ck.admmState, (ck.task?.sequenceLength ?? 1) * m.hiddenSize),
        bpttState: ck.bpttState ? { iteration: ck.bpttState.iteration, steps: ck.bpttState.optimizer.steps } : null,
      };
      if (flags.json) {
        process.stdout.write(JSON.stringify(info) + '\n');
      } else {
        const lines = [
          `${file}: ${info.format}, ${ck.bytes} bytes${info.created ? `, created ${info.created}` : ''}${info.generator ? ` by ${info.generator}` : ''}`,
          `model: RNN d = ${m.inputSize}, h = ${m.hiddenSize}, K = ${m.outputSize} (${m.parameterCount} parameters)${ck.config.init ? `, init ${JSON.stringify(ck.config.init)}` : ''}`,
        ];
        if (ck.task)
          lines.push(
            `task: ${ck.task.source}, T = ${ck.task.sequenceLength}, ${ck.task.loss} at ${ck.task.lossSteps === 'every' ? 'every step' : 'the last step'}, ${ck.task.inputs} inputs${ck.task.labels ? `, labels ${ck.task.labels.join(', ')}` : ''}`
          );
        if (ck.vocabulary) lines.push(`vocabulary: ${ck.vocabulary.size} characters`);
        if (ck.trainer)
          lines.push(
            `trainer: ${ck.trainer.kind}, ${ck.trainer.iteration} iterations, options ${JSON.stringify(ck.trainer.options)}`
          );
        const st = info.admmState;
        const what =
          st?.kind === 'mini-batch' ? 'mini-batch schedule and shuffling generator' : `${st?.sequences} sequences`;
        const readout = st?.refittedReadout ? ', readout before its refit' : '';
        if (st) lines.push(`ADMM state: iteration ${st.iteration}, ${what}, rho ${st.rho.join('/')}${readout}`);
        const bptt = info.bpttState;
        if (bptt) lines.push(`BPTT state: epoch ${bptt.iteration}, ${bptt.steps} optimizer steps, shuffling generator`);
        if (!st && !bptt) lines.push('ADMM state: none');
        process.stdout.write(lines.join('\n') + '\n');
      }
      process.exitCode = EXIT.ok;
    });
}

/** The run state's summary: its kind, count, ρ, and sequences (persistent) or none (mini-batch). */
function describeAdmmState(state: AdmmRunSnapshot | undefined, floatsPerSequence: number) {
  if (!state) return null;
  const { iteration, rho } = state,
    refittedReadout = state.readout !== undefined;
  if (state.kind === 'mini-batch') return { kind: state.kind, iteration, rho, sequences: null, refittedReadout };
  const sequences = state.A.length / floatsPerSequence;
  return { kind: 'persistent' as const, iteration, rho, sequences, refittedReadout };
}
