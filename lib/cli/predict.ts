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
import type { SequenceInputs } from '../data';
import { invalidFile } from '../file-error';
import { encodePadded } from '../text';
import { openCheckpoint } from './checkpoint-file';
import { EXIT } from './usage';

/** Token ids, each checked before it is stored (Int32Array.from would wrap 2^32 and 1e300 to 0). */
function tokenIds(ids: unknown[], d: number): Int32Array {
  if (ids.length === 0) throw new RangeError('ids must not be empty');
  const out = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    if (typeof v !== 'number' || !Number.isInteger(v))
      throw new TypeError(`ids[${i}] must be an integer token id, got ${JSON.stringify(v)}`);
    if (v < 0 || v >= d) throw new RangeError(`ids[${i}] must be a token id in [0, ${d}), got ${v}`);
    out[i] = v;
  }
  return out;
}

function inputValue(where: string, v: unknown): number {
  if (typeof v !== 'number') throw new TypeError(`${where} must be a number, got ${JSON.stringify(v)}`);
  // JSON numbers are finite, but 1e39 is not a float32 and 1e400 parses as Infinity.
  if (!Number.isFinite(Math.fround(v))) throw new RangeError(`${where} must be a finite float32, got ${v}`);
  return v;
}

/** Dense inputs, flat [T·d] or nested [T][d] with every row of exactly d numbers (ragged rows are refused). */
function denseInputs(rows: unknown[], d: number): Float32Array {
  if (rows.length === 0) throw new RangeError('inputs must not be empty');
  if (!Array.isArray(rows[0])) {
    if (rows.length % d !== 0) throw new RangeError(`inputs must hold T·d numbers with d = ${d}, got ${rows.length}`);
    return Float32Array.from(rows, (v, i) => inputValue(`inputs[${i}]`, v));
  }
  const out = new Float32Array(rows.length * d);
  rows.forEach((row, t) => {
    if (!Array.isArray(row))
      throw new TypeError(`inputs[${t}] must be a row of ${d} numbers (rows all nested [T][d], or all inputs flat)`);
    if (row.length !== d)
      throw new RangeError(`inputs[${t}] must hold d = ${d} numbers, got ${row.length} (rows of unequal width)`);
    row.forEach((v, k) => (out[t * d + k] = inputValue(`inputs[${t}][${k}]`, v)));
  });
  return out;
}

function sequence(ck: LoadedCheckpoint, value: unknown): SequenceInputs {
  const { model, vocabulary, task } = ck;
  const line = (typeof value === 'string' ? { text: value } : value) as Record<string, unknown>;
  if (typeof line !== 'object' || line === null || Array.isArray(line))
    throw new TypeError('expected a JSON object such as {"text": "..."} or {"inputs": [...]}');
  if (typeof line.text === 'string') {
    if (!vocabulary)
      throw new TypeError('this model was not trained on text: give {"inputs": [...]} or {"ids": [...]}');
    if (vocabulary.hasPadding)
      return {
        inputs: encodePadded([line.text], vocabulary, task!.sequenceLength),
        sequenceLength: task!.sequenceLength,
      };
    const ids = vocabulary.encode(line.text, 'text');
    if (ids.length === 0) throw new RangeError('text must not be empty');
    return { inputs: ids, sequenceLength: ids.length };
  }
  if (Array.isArray(line.ids)) return { inputs: tokenIds(line.ids, model.inputSize), sequenceLength: line.ids.length };
  if (Array.isArray(line.inputs)) {
    const inputs = denseInputs(line.inputs, model.inputSize);
    return { inputs, sequenceLength: inputs.length / model.inputSize };
  }
  throw new TypeError('expected a field "text", "inputs" or "ids"');
}

function describe(ck: LoadedCheckpoint, logits: Float32Array): Record<string, unknown> {
  if (ck.task?.loss === 'squared-error') return { outputs: Array.from(logits) };
  let max = -Infinity,
    best = 0,
    total = 0;
  logits.forEach((v, k) => v > max && ((max = v), (best = k)));
  const p = Array.from(logits, (v) => ((total += Math.exp(v - max)), Math.exp(v - max)));
  const label = ck.task?.labels?.[best] ?? (ck.task?.source === 'text' ? ck.vocabulary?.characters[best] : undefined);
  return {
    prediction: best,
    ...(label !== undefined ? { label } : {}),
    probabilities: p.map((v) => Number((v / total).toPrecision(6))),
  };
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description('predict for JSON lines read from --input or stdin; writes one JSON line per input line')
    .argument('<checkpoint>', 'a checkpoint written by train')
    .option('-i, --input <file>', 'JSON lines file (default: stdin)')
    .option('--every', 'predict at every step, not only the last')
    .action(async (file: string, flags: { input?: string; every?: boolean }) => {
      const ck = await openCheckpoint(file);
      const K = ck.model.outputSize;
      if (flags.input && fs.statSync(flags.input).isDirectory())
        throw invalidFile(flags.input, 'the --input file', 'a file of JSON lines, it is a directory');
      const input = flags.input ? fs.createReadStream(flags.input) : process.stdin;
      let n = 0;
      for await (const text of readline.createInterface({ input, crlfDelay: Infinity })) {
        n++;
        if (text.trim() === '') continue;
        try {
          const seq = sequence(ck, JSON.parse(text));
          const out = await ck.model.predictAsync(seq, { outputs: flags.every ? 'every' : 'last' });
          const steps = out.length / K;
          const result = flags.every
            ? { steps: Array.from({ length: steps }, (_, t) => describe(ck, out.subarray(t * K, (t + 1) * K))) }
            : describe(ck, out);
          process.stdout.write(JSON.stringify(result) + '\n');
        } catch (e) {
          throw new (e instanceof TypeError ? TypeError : RangeError)(
            `${flags.input ?? 'stdin'} line ${n}: ${(e as Error).message}`
          );
        }
      }
      process.exitCode = EXIT.ok;
    });
}
