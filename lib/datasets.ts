/**
 * Data set loaders on top of lib/text.ts: character-level text files split into train and
 * held-out windows, labelled texts (one `label<TAB>text` file or a directory with a file per
 * class), and seeded shuffles and splits of user arrays. Every loader names the file in its
 * errors, so a bad path or a malformed file says which one and why.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TrainingData } from './data';
import { invalidRange, invalidType } from './errors';
import { FileFormatError } from './file-error';
import { Random } from './random';
import {
  type LabelledText,
  PAD,
  Vocabulary,
  characterWindows,
  codePointLength,
  encodePadded,
  parseLabelledText,
} from './text';
import { readUntrustedFileSync } from './untrusted-file';
import { checkInteger, checkNumber, checkObject, checkOptionalObject } from './validate';

/**
 * Largest text file read, in bytes. A text's UTF-16 length is at most its UTF-8 byte count, so
 * every file under the cap decodes into one V8 string (whose length limit is 2^29 − 24).
 */
export const MAX_TEXT_BYTES = 2 ** 29 - 24;

/** Offset of the first byte that does not start a well-formed UTF-8 sequence, or −1. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length;) {
    const lead = bytes[i];
    if (lead < 0x80) {
      i++;
      continue;
    }
    let length = 0;
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) length = 3;
    else if (lead >= 0xf0 && lead <= 0xf4) length = 4;
    if (length === 0 || i + length > bytes.length) return i;
    let code = lead & (0x7f >> length);
    for (let k = 1; k < length; k++) {
      if ((bytes[i + k] & 0xc0) !== 0x80) return i;
      code = (code << 6) | (bytes[i + k] & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points above U+10FFFF are not UTF-8.
    if (length === 3 && (code < 0x800 || (code >= 0xd800 && code <= 0xdfff))) return i;
    if (length === 4 && (code < 0x10000 || code > 0x10ffff)) return i;
    i += length;
  }
  return -1;
}

function lineOfByte(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

/**
 * Reads a UTF-8 file, refusing invalid UTF-8 (instead of silently turning it into U+FFFD), files
 * that are not regular files and files above MAX_TEXT_BYTES, with a FileFormatError naming it.
 */
export function readUtf8File(file: string, name = 'path'): string {
  if (typeof file !== 'string' || file === '') throw invalidType(name, 'a file path', file);
  let bytes: Buffer;
  try {
    bytes = readUntrustedFileSync(file, 'text file', { maxBytes: MAX_TEXT_BYTES });
  } catch (e) {
    if (e instanceof FileFormatError) throw e;
    throw new Error(`cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    const hex = at < 0 ? '' : bytes[at].toString(16).padStart(2, '0');
    const where = at < 0 ? '' : ` (byte ${at}, on line ${lineOfByte(bytes, at)}, is 0x${hex})`;
    throw new FileFormatError(
      file,
      `${file} is not valid UTF-8 text${where}; convert it first, e.g. iconv -f latin1 -t utf-8`
    );
  }
}

/**
 * Refuses a NUL character: it is the padding token of classification vocabularies, so it cannot
 * also be a character of the text (and a text full of NULs is usually UTF-16, not UTF-8).
 */
export function checkNoNul(text: string, file: string): void {
  const at = text.indexOf(PAD);
  if (at < 0) return;
  const lineStart = text.lastIndexOf('\n', at) + 1;
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) line++;
  const column = codePointLength(text.slice(lineStart, at)) + 1;
  throw new FileFormatError(
    file,
    `${file} contains a NUL character (U+0000) at line ${line}, column ${column}: NUL is reserved for padding and ` +
      'cannot be a character of a text (a file with a NUL after every letter is UTF-16: convert it, ' +
      'e.g. iconv -f utf-16 -t utf-8)'
  );
}

/** A text file for the text loaders: UTF-8 (readUtf8File) without NUL characters (checkNoNul). */
export function readTextFile(file: string, name = 'path'): string {
  const text = readUtf8File(file, name);
  checkNoNul(text, file);
  return text;
}

export interface CharacterTextOptions {
  /** T, characters per window. */
  sequenceLength: number;
  /** Fraction of the text (its end) held out for testing, in (0, 1). Default 0.1. */
  heldOut?: number;
  /** Characters between window starts (default T: non-overlapping windows). */
  stride?: number;
  /** At most this many training windows (the first ones), for quick runs. */
  maxSamples?: number;
}

export interface CharacterText {
  /** The file's distinct characters (both parts use it, so every test character is known). */
  vocabulary: Vocabulary;
  /** Next-character windows of the first (1 − heldOut) of the text: inputs [N, T] ids, targets [N, T]. */
  train: TrainingData;
  /** Windows of the held-out end of the text (never overlapping the training part). */
  test: TrainingData;
}

/** Next-character modelling data from any UTF-8 text file: the start trains, the end is held out. */
export function loadCharacterText(file: string, options: CharacterTextOptions): CharacterText {
  checkObject('options', options);
  const T = checkInteger('options.sequenceLength', options.sequenceLength, 1, 1 << 20);
  const heldOut = options.heldOut === undefined ? 0.1 : checkNumber('options.heldOut', options.heldOut, 0, 1, true);
  if (heldOut >= 1) throw invalidRange('options.heldOut', 'in (0, 1)', heldOut);
  const text = readTextFile(file);
  const chars = Array.from(text);
  // Both parts need at least one window of T + 1 characters.
  const cut = Math.floor(chars.length * (1 - heldOut));
  if (cut < T + 1 || chars.length - cut < T + 1)
    throw new FileFormatError(
      file,
      `${file} is too short: ${chars.length} characters cannot give windows of ${T + 1} characters to both the ` +
        `training part and the held-out ${heldOut} (need about ${Math.ceil((T + 1) / Math.min(heldOut, 1 - heldOut))})`
    );
  const vocabulary = Vocabulary.fromText(text);
  const windows = { sequenceLength: T, stride: options.stride };
  return {
    vocabulary,
    train: characterWindows(chars.slice(0, cut).join(''), vocabulary, { ...windows, maxSamples: options.maxSamples }),
    test: characterWindows(chars.slice(cut).join(''), vocabulary, windows),
  };
}

export interface LabelledTextOptions {
  /** T: texts are cut to their first T characters or left-padded with PAD (default: the longest, at most maxLength). */
  sequenceLength?: number;
  /** Cap of the default sequence length (default 256). */
  maxLength?: number;
  /** Class names in id order (default: the sorted distinct labels); a label not in it is an error. */
  labels?: readonly string[];
  /** A vocabulary with PAD at index 0 (default: PAD + the texts' characters); unknown characters become PAD. */
  vocabulary?: Vocabulary;
  /** Names the source in errors. */
  name?: string;
}

export interface LabelledData {
  /** inputs: token ids [N, T], targets: class ids [N] (loss at the last step). */
  data: TrainingData;
  vocabulary: Vocabulary;
  /** Class names: label id i is labels[i]. */
  labels: string[];
}

/** The code points of the longest text, at least 1 (a loop: spreading 10^6 lengths into Math.max overflows). */
function longestText(texts: readonly string[]): number {
  let longest = 1;
  for (const text of texts) longest = Math.max(longest, codePointLength(text));
  return longest;
}

/** Encodes parsed labelled texts as padded token ids and class ids (shared with the CLI). */
export function encodeLabelledText(parsed: LabelledText, options: LabelledTextOptions = {}): LabelledData {
  return encodeLabelled(parsed, options, (message) => new RangeError(message));
}

/** encodeLabelledText, with `fail` making the errors about the texts themselves (not the options). */
function encodeLabelled(
  parsed: LabelledText,
  options: LabelledTextOptions,
  fail: (message: string) => RangeError
): LabelledData {
  checkObject('parsed', parsed);
  checkOptionalObject('options', options);
  const name = options.name ?? 'texts';
  const { texts } = parsed;
  if (!Array.isArray(texts) || !texts.every((x) => typeof x === 'string'))
    throw invalidType('parsed.texts', 'an array of strings', texts);
  if (
    !Array.isArray(parsed.labels) ||
    parsed.labels.length !== texts.length ||
    !parsed.labels.every((x) => typeof x === 'string')
  )
    throw invalidType('parsed.labels', `an array of ${texts.length} label strings`, parsed.labels);
  if (texts.length === 0) throw invalidRange('parsed.texts', 'at least one text');
  if (
    options.labels !== undefined &&
    (!Array.isArray(options.labels) || !options.labels.every((x) => typeof x === 'string'))
  )
    throw invalidType('options.labels', 'an array of strings', options.labels);
  if (options.vocabulary !== undefined && !(options.vocabulary instanceof Vocabulary))
    throw invalidType('options.vocabulary', 'a Vocabulary', options.vocabulary);
  const labels = options.labels ? [...options.labels] : [...new Set(parsed.labels)].sort();
  // A classifier needs two classes: one class would train a K = 1 model whose loss is always 0.
  if (!options.labels && labels.length < 2)
    throw fail(
      `${name} must hold texts of at least 2 classes to train a classifier, found 1 (${JSON.stringify(labels[0])})`
    );
  const vocabulary = options.vocabulary ?? Vocabulary.fromText(texts.join(''), { padding: true });
  if (!options.vocabulary && vocabulary.size === 1)
    throw fail(`${name} must hold at least one non-empty text (every text is empty)`);
  const maxLength =
    options.maxLength === undefined ? 256 : checkInteger('options.maxLength', options.maxLength, 1, 1 << 20);
  const T =
    options.sequenceLength === undefined
      ? Math.min(maxLength, longestText(texts))
      : checkInteger('options.sequenceLength', options.sequenceLength, 1, 1 << 20);
  const ids = new Map<string, number>();
  labels.forEach((label, id) => ids.has(label) || ids.set(label, id));
  const targets = Int32Array.from(parsed.labels, (label, i) => {
    const id = ids.get(label) ?? -1;
    if (id < 0)
      throw fail(
        `${name} text ${i + 1}: label ${JSON.stringify(label)} is not one the model was trained on ` +
          `(${labels.join(', ')})`
      );
    return id;
  });
  return { data: { inputs: encodePadded(texts, vocabulary, T), targets, sequenceLength: T }, vocabulary, labels };
}

/** Texts of a directory with one file per class: the file name without extension is the label, each non-blank line a text. */
function readClassDirectory(dir: string): LabelledText {
  const files = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  if (files.length < 2)
    throw new FileFormatError(dir, `${dir} must hold one text file per class (at least 2), found ${files.length}`);
  const labels: string[] = [],
    texts: string[] = [];
  for (const file of files) {
    const label = path.parse(file).name;
    const where = path.join(dir, file);
    const lines = readTextFile(where)
      .split(/\r?\n/)
      .filter((l) => l.trim() !== '');
    if (lines.length === 0)
      throw new FileFormatError(where, `${where} (class ${JSON.stringify(label)}) holds no text lines`);
    for (const line of lines) {
      labels.push(label);
      texts.push(line);
    }
  }
  return { labels, texts };
}

function parseLabelledFile(file: string): LabelledText {
  const content = readTextFile(file);
  try {
    return parseLabelledText(content, file);
  } catch (e) {
    throw e instanceof RangeError ? new FileFormatError(file, e.message) : e;
  }
}

/** Sequence classification data from a `label<TAB>text` file or a directory with one file per class. */
export function loadLabelledText(source: string, options: LabelledTextOptions = {}): LabelledData {
  if (typeof source !== 'string' || source === '') throw invalidType('source', 'a file or directory path', source);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(source);
  } catch (e) {
    throw new Error(`cannot read ${source}: ${(e as Error).message}`, { cause: e });
  }
  const parsed = stat.isDirectory() ? readClassDirectory(source) : parseLabelledFile(source);
  return encodeLabelled(parsed, { name: source, ...options }, (message) => new FileFormatError(source, message));
}

/** The number of sequences and the values per sequence of inputs and targets. */
function rowLayout(
  data: TrainingData,
  inputSize: number | undefined
): { N: number; inputRow: number; targetRow: number } {
  checkObject('data', data);
  const T = checkInteger('data.sequenceLength', data.sequenceLength, 1);
  const { inputs, targets } = data;
  if (!(inputs instanceof Float32Array || inputs instanceof Int32Array))
    throw invalidType('data.inputs', 'a Float32Array or an Int32Array', inputs);
  if (!(targets instanceof Float32Array || targets instanceof Int32Array))
    throw invalidType('data.targets', 'a Float32Array or an Int32Array', targets);
  // Dense inputs [N, T, d] do not reveal N without d; token ids [N, T] do.
  let d = 1;
  if (inputs instanceof Float32Array) {
    if (inputSize === undefined)
      throw invalidType('options.inputSize', 'the input size d (needed for Float32Array inputs [N, T, d])', inputSize);
    d = checkInteger('options.inputSize', inputSize, 1);
  }
  const N = inputs.length / (T * d);
  if (!Number.isInteger(N) || N < 1) throw invalidRange('data.inputs', `of length N·T·d = N·${T}·${d}`, inputs);
  if (targets.length % N !== 0 || targets.length === 0)
    throw invalidRange('data.targets', `a whole number of values per sequence (N = ${N})`, targets);
  return { N, inputRow: inputs.length / N, targetRow: targets.length / N };
}

/** The sequences `order` picks, copied, in that order. */
function gather(
  data: TrainingData,
  order: ArrayLike<number>,
  rows: { inputRow: number; targetRow: number }
): TrainingData {
  const inputs = new (data.inputs.constructor as Float32ArrayConstructor | Int32ArrayConstructor)(
    order.length * rows.inputRow
  );
  const targets = new (data.targets.constructor as Float32ArrayConstructor | Int32ArrayConstructor)(
    order.length * rows.targetRow
  );
  for (let i = 0; i < order.length; i++) {
    const n = order[i];
    inputs.set(data.inputs.subarray(n * rows.inputRow, (n + 1) * rows.inputRow), i * rows.inputRow);
    targets.set(data.targets.subarray(n * rows.targetRow, (n + 1) * rows.targetRow), i * rows.targetRow);
  }
  return { inputs, targets, sequenceLength: data.sequenceLength };
}

export interface ShuffleOptions {
  /** Seed of the permutation (default 0): the same seed gives the same order on every machine. */
  seed?: number;
  /** d, required for Float32Array inputs [N, T, d]. */
  inputSize?: number;
}

/** A copy of `data` with its sequences (inputs with their targets) in a seeded random order. */
export function shuffleData(data: TrainingData, options: ShuffleOptions = {}): TrainingData {
  checkOptionalObject('options', options);
  const seed = options.seed === undefined ? 0 : checkInteger('options.seed', options.seed, 0, 2 ** 32 - 1);
  const rows = rowLayout(data, options.inputSize);
  const order = new Random(seed).shuffle(Int32Array.from({ length: rows.N }, (_, i) => i));
  return gather(data, order, rows);
}

export interface SplitOptions extends ShuffleOptions {
  /** Fraction of the sequences for the test set, in (0, 1); both sets get at least one. */
  testFraction: number;
}

/** Seeded random split into train and test sets (copies; the input arrays are not touched). */
export function splitData(data: TrainingData, options: SplitOptions): { train: TrainingData; test: TrainingData } {
  checkObject('options', options);
  const fraction = checkNumber('options.testFraction', options.testFraction, 0, 1, true);
  if (fraction >= 1) throw invalidRange('options.testFraction', 'in (0, 1)', fraction);
  const shuffled = shuffleData(data, options);
  const rows = rowLayout(shuffled, options.inputSize);
  if (rows.N < 2) throw invalidRange('data', 'at least 2 sequences to split', rows.N);
  const nTest = Math.min(rows.N - 1, Math.max(1, Math.round(rows.N * fraction)));
  const nTrain = rows.N - nTest;
  const slice = (from: number, to: number): TrainingData => ({
    inputs: shuffled.inputs.subarray(from * rows.inputRow, to * rows.inputRow),
    targets: shuffled.targets.subarray(from * rows.targetRow, to * rows.targetRow),
    sequenceLength: shuffled.sequenceLength,
  });
  return { train: slice(0, nTrain), test: slice(nTrain, rows.N) };
}
