/**
 * `admmirnn predict`: JSON lines in, JSON lines out. Each input line is one sequence:
 * `{"text": "..."}` (models trained on text), `{"inputs": [[x_1], …, [x_T]]}` (dense inputs,
 * nested or flat) or `{"ids": [...]}` (token-id inputs). Each output line holds the prediction
 * (class id, label, probabilities) or the regression outputs, for the last step or every step.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import type { Command } from 'commander';
import type { LoadedCheckpoint } from '../checkpoint/format';
import { readCheckpoint } from '../checkpoint/read';
import type { SequenceInputs } from '../data';
import { encodePadded } from '../text';
import { EXIT } from './usage';

function sequence(ck: LoadedCheckpoint, value: unknown): SequenceInputs {
  const { model, vocabulary, task } = ck;
  const line = (typeof value === 'string' ? { text: value } : value) as Record<string, unknown>;
  if (typeof line !== 'object' || line === null || Array.isArray(line)) throw new TypeError('expected a JSON object such as {"text": "..."} or {"inputs": [...]}');
  if (typeof line.text === 'string') {
    if (!vocabulary) throw new TypeError('this model was not trained on text: give {"inputs": [...]} or {"ids": [...]}');
    if (vocabulary.hasPadding) return { inputs: encodePadded([line.text], vocabulary, task!.sequenceLength), sequenceLength: task!.sequenceLength };
    const ids = vocabulary.encode(line.text, 'text');
    if (ids.length === 0) throw new RangeError('text must not be empty');
    return { inputs: ids, sequenceLength: ids.length };
  }
  if (Array.isArray(line.ids)) {
    const ids = Int32Array.from(line.ids as number[]);
    if (ids.length === 0 || !(line.ids as unknown[]).every((v) => Number.isInteger(v))) throw new TypeError('ids must be a non-empty array of integers');
    return { inputs: ids, sequenceLength: ids.length };
  }
  if (Array.isArray(line.inputs)) {
    const flat = (line.inputs as unknown[]).flat();
    if (!flat.every((v) => typeof v === 'number')) throw new TypeError('inputs must be numbers, [T][d] nested or flat');
    if (flat.length === 0 || flat.length % model.inputSize !== 0) throw new RangeError(`inputs must hold T·d numbers with d = ${model.inputSize}, got ${flat.length}`);
    return { inputs: Float32Array.from(flat as number[]), sequenceLength: flat.length / model.inputSize };
  }
  throw new TypeError('expected a field "text", "inputs" or "ids"');
}

function describe(ck: LoadedCheckpoint, logits: Float32Array): Record<string, unknown> {
  if (ck.task?.loss === 'squared-error') return { outputs: Array.from(logits) };
  let max = -Infinity, best = 0, total = 0;
  logits.forEach((v, k) => v > max && ((max = v), (best = k)));
  const p = Array.from(logits, (v) => ((total += Math.exp(v - max)), Math.exp(v - max)));
  const label = ck.task?.labels?.[best] ?? (ck.task?.source === 'text' ? ck.vocabulary?.characters[best] : undefined);
  return { prediction: best, ...(label !== undefined ? { label } : {}), probabilities: p.map((v) => Number((v / total).toPrecision(6))) };
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description('predict for JSON lines read from --input or stdin; writes one JSON line per input line')
    .argument('<checkpoint>', 'a checkpoint written by train')
    .option('-i, --input <file>', 'JSON lines file (default: stdin)')
    .option('--every', 'predict at every step, not only the last')
    .action(async (file: string, flags: { input?: string; every?: boolean }) => {
      const ck = await readCheckpoint(file);
      const K = ck.model.outputSize;
      const input = flags.input ? fs.createReadStream(flags.input) : process.stdin;
      let n = 0;
      for await (const text of readline.createInterface({ input, crlfDelay: Infinity })) {
        n++;
        if (text.trim() === '') continue;
        try {
          const seq = sequence(ck, JSON.parse(text));
          const out = await ck.model.predictAsync(seq, { outputs: flags.every ? 'every' : 'last' });
          const steps = out.length / K;
          const result = flags.every ? { steps: Array.from({ length: steps }, (_, t) => describe(ck, out.subarray(t * K, (t + 1) * K))) } : describe(ck, out);
          process.stdout.write(JSON.stringify(result) + '\n');
        } catch (e) {
          throw new (e instanceof TypeError ? TypeError : RangeError)(`${flags.input ?? 'stdin'} line ${n}: ${(e as Error).message}`);
        }
      }
      process.exitCode = EXIT.ok;
    });
}
