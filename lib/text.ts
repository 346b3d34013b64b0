/**
 * Character-level text data: a vocabulary of Unicode characters, next-character windows for
 * language modelling, and `label<TAB>text` lines for sequence classification. Inputs are token
 * ids (one-hot inputs, which the native core handles as column gathers).
 */
import type { TrainingData } from './data';
import { invalidRange, invalidType } from './errors';
import { checkInteger, checkObject } from './validate';

/** The padding character of classification vocabularies (index 0), left-filling short texts. */
export const PAD = '\u0000';

/** The number of code points of `text` (what `Array.from(text).length` gives, without the array). */
export function codePointLength(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

export class Vocabulary {
  /** One character (a whole code point) per token id. */
  readonly characters: readonly string[];
  private readonly index: Map<string, number>;

  constructor(characters: readonly string[]) {
    if (!Array.isArray(characters) || characters.length === 0)
      throw invalidType('characters', 'a non-empty array of characters', characters);
    this.index = new Map();
    characters.forEach((c, i) => {
      if (typeof c !== 'string' || Array.from(c).length !== 1)
        throw invalidRange(`characters[${i}]`, 'a single character', c);
      if (this.index.has(c)) throw invalidRange(`characters[${i}]`, 'unique (each character once)', c);
      this.index.set(c, i);
    });
    this.characters = [...characters];
  }

  /** The sorted distinct characters of `text`, optionally with PAD first. */
  static fromText(text: string, options: { padding?: boolean } = {}): Vocabulary {
    if (typeof text !== 'string') throw invalidType('text', 'a string', text);
    const distinct = new Set<string>();
    for (const c of text) if (c !== PAD) distinct.add(c);
    const chars = [...distinct].sort();
    if (chars.length === 0 && !options.padding) throw invalidRange('text', 'non-empty');
    return new Vocabulary(options.padding ? [PAD, ...chars] : chars);
  }

  /** Unicode code points, one per token id (how checkpoints store the vocabulary). */
  static fromCodePoints(codes: Int32Array): Vocabulary {
    return new Vocabulary(
      Array.from(codes, (c, i) => {
        if (c < 0 || c > 0x10ffff) throw invalidRange(`vocabulary[${i}]`, 'a Unicode code point', c);
        return String.fromCodePoint(c);
      })
    );
  }

  get size(): number {
    return this.characters.length;
  }

  get hasPadding(): boolean {
    return this.characters[0] === PAD;
  }

  codePoints(): Int32Array {
    return Int32Array.from(this.characters, (c) => c.codePointAt(0)!);
  }

  id(character: string): number | undefined {
    return this.index.get(character);
  }

  /**
   * Token ids of `text`. Unknown characters map to PAD when the vocabulary has one, otherwise
   * they are a RangeError naming the character.
   */
  encode(text: string, name = 'text'): Int32Array {
    if (typeof text !== 'string') throw invalidType(name, 'a string', text);
    const ids = new Int32Array(codePointLength(text));
    let i = 0;
    for (const c of text) {
      const id = this.index.get(c);
      if (id === undefined && !this.hasPadding) {
        const why = c === PAD ? ': NUL (U+0000) is reserved for padding' : '';
        const character = `character ${i} (${JSON.stringify(c)})`;
        throw invalidRange(name, `made of the model's ${this.size} characters — ${character} is not${why}`);
      }
      ids[i++] = id ?? 0;
    }
    return ids;
  }
}

/**
 * Next-character windows: inputs chars[i, i+T), targets chars[i+1, i+T+1) at every step, for
 * i = 0, stride, 2·stride, … (default stride T: non-overlapping windows).
 */
export function characterWindows(
  text: string,
  vocabulary: Vocabulary,
  options: { sequenceLength: number; stride?: number; maxSamples?: number }
): TrainingData {
  if (!(vocabulary instanceof Vocabulary)) throw invalidType('vocabulary', 'a Vocabulary', vocabulary);
  checkObject('options', options);
  const T = checkInteger('options.sequenceLength', options.sequenceLength, 1, 1 << 20);
  const stride = options.stride === undefined ? T : checkInteger('options.stride', options.stride, 1, 1 << 20);
  const maxSamples =
    options.maxSamples === undefined ? Infinity : checkInteger('options.maxSamples', options.maxSamples, 1);
  const ids = vocabulary.encode(text);
  const N = Math.min(maxSamples, ids.length > T ? Math.floor((ids.length - T - 1) / stride) + 1 : 0);
  if (N < 1) throw invalidRange('text', `longer than sequenceLength + 1 = ${T + 1} characters`, ids.length);
  const inputs = new Int32Array(N * T),
    targets = new Int32Array(N * T);
  for (let n = 0; n < N; n++) {
    inputs.set(ids.subarray(n * stride, n * stride + T), n * T);
    targets.set(ids.subarray(n * stride + 1, n * stride + T + 1), n * T);
  }
  return { inputs, targets, sequenceLength: T };
}

export interface LabelledText {
  labels: string[];
  texts: string[];
}

/** Parses `label<TAB>text` lines (blank lines skipped); `name` locates errors (e.g. the path). */
export function parseLabelledText(content: string, name = 'text'): LabelledText {
  if (typeof content !== 'string') throw invalidType(name, 'a string', content);
  const labels: string[] = [],
    texts: string[] = [];
  content.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const tab = line.indexOf('\t');
    if (tab <= 0) throw invalidRange(`${name} line ${i + 1}`, 'of the form label<TAB>text', line);
    labels.push(line.slice(0, tab));
    texts.push(line.slice(tab + 1));
  });
  if (texts.length === 0) throw invalidRange(name, 'at least one label<TAB>text line');
  return { labels, texts };
}

/** Token ids [N, T]: each text's first T characters, left-padded with PAD (id 0) when shorter. */
export function encodePadded(texts: readonly string[], vocabulary: Vocabulary, sequenceLength: number): Int32Array {
  if (!Array.isArray(texts)) throw invalidType('texts', 'an array of strings', texts);
  if (!(vocabulary instanceof Vocabulary)) throw invalidType('vocabulary', 'a Vocabulary', vocabulary);
  const T = checkInteger('sequenceLength', sequenceLength, 1, 1 << 20);
  if (!vocabulary.hasPadding) throw invalidRange('vocabulary', 'a vocabulary with padding (PAD at index 0)');
  const out = new Int32Array(texts.length * T);
  texts.forEach((text, n) => {
    const ids = vocabulary.encode(text, `texts[${n}]`).subarray(0, T);
    out.set(ids, n * T + T - ids.length);
  });
  return out;
}
