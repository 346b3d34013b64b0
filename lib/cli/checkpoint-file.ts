/**
 * Checkpoints as the commands read them: validated fully (the trainer options too, by building
 * the trainer they describe), every problem a FileFormatError naming the file.
 */
import { AdmmTrainer } from '../admm/trainer';
import { BpttTrainer } from '../bptt/trainer';
import type { LoadedCheckpoint, TrainerInfo } from '../checkpoint/format';
import { readCheckpoint } from '../checkpoint/read';
import type { RNN } from '../rnn';
import { fromFile, fromFileAsync } from './file-errors';

/** The trainer a checkpoint describes, on `model`; invalid options are an error of `file`. */
export function savedTrainer(file: string, trainer: TrainerInfo, model: RNN): AdmmTrainer | BpttTrainer {
  return fromFile(file, () => {
    try {
      if (trainer.kind === 'admm') return new AdmmTrainer(model, trainer.options);
      return new BpttTrainer(model, trainer.options);
    } catch (e) {
      if (e instanceof TypeError || e instanceof RangeError)
        throw new RangeError(`${file}: __metadata__.trainer: ${e.message}`, { cause: e });
      throw e;
    }
  });
}

/** What the file's parts must agree on, beyond what each part checks alone. */
function checkConsistent(file: string, ck: LoadedCheckpoint): void {
  const { task, trainer, model } = ck;
  if (task?.labels && task.labels.length !== model.outputSize)
    throw new RangeError(
      `${file}: __metadata__.task.labels must name the model's ${model.outputSize} classes, got ${task.labels.length}`
    );
  if (task && trainer) {
    for (const key of ['loss', 'lossSteps'] as const) {
      const value = trainer.options[key];
      if (value !== undefined && value !== task[key])
        throw new RangeError(
          `${file}: __metadata__.trainer.options.${key} must be the task's ${JSON.stringify(task[key])}, ` +
            `got ${JSON.stringify(value)}`
        );
    }
  }
  if (trainer) savedTrainer(file, trainer, model);
  checkRunState(file, ck);
}

/** A run state belongs to the trainer the file describes (and to its mode). */
function checkRunState(file: string, { trainer, admmState, bpttState, model }: LoadedCheckpoint): void {
  if (!trainer) return;
  if (bpttState && trainer.kind !== 'bptt')
    throw new RangeError(`${file}: __metadata__.bptt must go with a BPTT trainer, the file's is ${trainer.kind}`);
  if (bpttState) {
    // Restoring into the trainer the file describes checks the buffers against its optimizer.
    const bptt = savedTrainer(file, trainer, model) as BpttTrainer;
    try {
      bptt.restoreState(bpttState);
    } catch (e) {
      throw new RangeError(`${file}: __metadata__.bptt: ${(e as Error).message}`, { cause: e });
    }
  }
  if (!admmState) return;
  if (trainer.kind !== 'admm')
    throw new RangeError(`${file}: __metadata__.admm must go with an ADMM trainer, the file's is ${trainer.kind}`);
  const mode = (trainer.options.mode as string | undefined) ?? 'adjoint';
  const kind = admmState.kind ?? 'persistent';
  if ((mode === 'persistent') !== (kind === 'persistent'))
    throw new RangeError(`${file}: __metadata__.admm is a ${kind} state, but the trainer's mode is '${mode}'`);
}

/** Reads and validates the checkpoint `file` for a command. */
export async function openCheckpoint(file: string): Promise<LoadedCheckpoint> {
  const ck = await fromFileAsync(file, () => readCheckpoint(file));
  fromFile(file, () => checkConsistent(file, ck));
  return ck;
}
