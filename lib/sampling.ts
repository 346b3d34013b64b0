/**
 * Text generation from a character model (token-id inputs, one output per character): run the
 * prime through the RNN, then repeatedly draw the next character from softmax(o / temperature)
 * and feed it back. Stepping is done here in float64, one character at a time.
 */
import { invalidRange } from './errors';
import { Random } from './random';
import { RNN } from './rnn';
import { Vocabulary } from './text';
import { checkInteger, checkNumber, checkObject } from './validate';
import { invalidType } from './errors';

export interface SampleOptions {
  /** Characters to generate. */
  length: number;
  /** Text to condition on (default: none, the state starts at zero and the first draw uses b, c only). */
  prime?: string;
  /** Softmax temperature; 0 picks the most likely character every time. Default 1. */
  temperature?: number;
  /** Seed of the draws (default 0). */
  seed?: number;
}

export function sampleText(model: RNN, vocabulary: Vocabulary, options: SampleOptions): string {
  if (!(model instanceof RNN)) throw invalidType('model', 'an RNN', model);
  if (!(vocabulary instanceof Vocabulary)) throw invalidType('vocabulary', 'a Vocabulary', vocabulary);
  checkObject('options', options);
  const length = checkInteger('options.length', options.length, 0, 1e7);
  const temperature =
    options.temperature === undefined ? 1 : checkNumber('options.temperature', options.temperature, 0, 1e6);
  const rng = new Random(options.seed === undefined ? 0 : checkInteger('options.seed', options.seed, 0, 2 ** 32 - 1));
  const { inputSize: d, hiddenSize: h, outputSize: K } = model;
  if (vocabulary.size !== d || K !== d)
    throw invalidRange(
      'model',
      `a character model with ${vocabulary.size} inputs and outputs (the vocabulary), got ${d} inputs and ${K} outputs`
    );
  const prime = vocabulary.encode(options.prime ?? '', 'options.prime');

  let s = new Float64Array(h),
    next = new Float64Array(h);
  const o = new Float64Array(K);
  const step = (id: number) => {
    for (let i = 0; i < h; i++) {
      let a = model.U[i * d + id] + model.b[i];
      for (let j = 0; j < h; j++) a += model.W[i * h + j] * s[j];
      next[i] = Math.tanh(a);
    }
    [s, next] = [next, s];
    for (let k = 0; k < K; k++) {
      let v = model.c[k];
      for (let j = 0; j < h; j++) v += model.V[k * h + j] * s[j];
      o[k] = v;
    }
  };
  const draw = (): number => {
    let best = 0;
    for (let k = 1; k < K; k++) if (o[k] > o[best]) best = k;
    if (temperature === 0) return best;
    let total = 0;
    const p = new Float64Array(K);
    for (let k = 0; k < K; k++) total += p[k] = Math.exp((o[k] - o[best]) / temperature);
    let u = rng.uniform() * total;
    for (let k = 0; k < K; k++) if ((u -= p[k]) < 0) return k;
    return K - 1;
  };

  if (prime.length === 0) for (let k = 0; k < K; k++) o[k] = model.c[k];
  for (const id of prime) step(id);
  let out = '';
  for (let n = 0; n < length; n++) {
    const id = draw();
    out += vocabulary.characters[id];
    step(id);
  }
  return out;
}
