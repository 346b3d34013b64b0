/** Data set loaders: character text files, labelled texts (TSV or a file per class), seeded splits. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import {
  encodeLabelledText,
  loadCharacterText,
  loadLabelledText,
  readUtf8File,
  shuffleData,
  splitData,
} from '../lib/datasets';
import { FileFormatError } from '../lib/file-error';
import { PAD } from '../lib/text';
import { TEXT_CASES } from './fuzz/text-cases';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'admmirnn-datasets-'));
const file = (name: string, content: string | Buffer) => {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
  return p;
};

test('character text: shapes, next-character targets, held-out end, vocabulary round trip', (t) => {
  const text = 'abcdefghij'.repeat(10); // 100 characters
  const {
    vocabulary,
    train,
    test: held,
  } = loadCharacterText(file('book.txt', text), { sequenceLength: 4, heldOut: 0.2 });
  t.is(vocabulary.size, 10);
  t.is(train.sequenceLength, 4);
  // 80 training characters → floor((80 − 5) / 4) + 1 = 19 windows; 20 held-out → 4 windows.
  t.is(train.inputs.length, 19 * 4);
  t.is(held.inputs.length, 4 * 4);
  t.true(train.inputs instanceof Int32Array && train.targets instanceof Int32Array);
  t.is(train.targets[0], train.inputs[1]);
  const decoded = Array.from(train.inputs.subarray(0, 8), (id) => vocabulary.characters[id]).join('');
  t.is(decoded, text.slice(0, 8));
  t.is(Array.from(held.inputs.subarray(0, 4), (id) => vocabulary.characters[id]).join(''), text.slice(80, 84));
  const strided = loadCharacterText(path.join(dir, 'book.txt'), {
    sequenceLength: 4,
    heldOut: 0.2,
    stride: 1,
    maxSamples: 7,
  });
  t.is(strided.train.inputs.length, 7 * 4);
});

test('character text: bad files give clear errors', (t) => {
  t.throws(() => loadCharacterText(path.join(dir, 'missing.txt'), { sequenceLength: 4 }), {
    message: /cannot read .*missing\.txt/,
  });
  t.throws(() => loadCharacterText(file('short.txt', 'abc'), { sequenceLength: 4 }), {
    instanceOf: RangeError,
    message: /short\.txt is too short/,
  });
  t.throws(() => loadCharacterText(file('bad.txt', Buffer.from([0x61, 0xff, 0xfe, 0x62])), { sequenceLength: 1 }), {
    instanceOf: RangeError,
    message: /bad\.txt is not valid UTF-8/,
  });
  t.throws(() => loadCharacterText(path.join(dir, 'book.txt'), { sequenceLength: 4, heldOut: 1 }), {
    instanceOf: RangeError,
    message: /options\.heldOut/,
  });
  t.throws(() => loadCharacterText(path.join(dir, 'book.txt'), { sequenceLength: 0 }), {
    instanceOf: RangeError,
    message: /options\.sequenceLength/,
  });
});

test('labelled texts: a TSV file and a directory with one file per class agree', (t) => {
  const tsv = loadLabelledText(file('reviews.tsv', 'pos\tgood\nneg\tbad day\n\npos\tfun\n'));
  t.deepEqual(tsv.labels, ['neg', 'pos']);
  t.deepEqual(Array.from(tsv.data.targets), [1, 0, 1]);
  t.is(tsv.data.sequenceLength, 7);
  t.is(tsv.data.inputs.length, 3 * 7);
  t.is(tsv.vocabulary.characters[0], PAD);
  const decoded = Array.from(tsv.data.inputs.subarray(7, 14), (id) => tsv.vocabulary.characters[id]).join('');
  t.is(decoded, 'bad day');
  file('classes/pos.txt', 'good\nfun\n');
  file('classes/neg.txt', 'bad day\n');
  const perClass = loadLabelledText(path.join(dir, 'classes'), { sequenceLength: 5 });
  t.deepEqual(perClass.labels, ['neg', 'pos']);
  t.deepEqual(Array.from(perClass.data.targets), [0, 1, 1]);
  t.is(perClass.data.inputs.length, 3 * 5);
});

test('labelled texts: bad files give clear errors', (t) => {
  t.throws(() => loadLabelledText(file('notabs.tsv', 'pos good\n')), {
    instanceOf: RangeError,
    message: /notabs\.tsv line 1/,
  });
  t.throws(() => loadLabelledText(file('empty.tsv', '\n\n')), {
    instanceOf: RangeError,
    message: /empty\.tsv must be at least one/,
  });
  t.throws(() => loadLabelledText(path.join(dir, 'nothing-here')), { message: /cannot read .*nothing-here/ });
  file('one-class/only.txt', 'x\n');
  t.throws(() => loadLabelledText(path.join(dir, 'one-class')), {
    instanceOf: RangeError,
    message: /one text file per class/,
  });
  t.throws(() => loadLabelledText(path.join(dir, 'reviews.tsv'), { labels: ['pos'] }), {
    instanceOf: RangeError,
    message: /label "neg" is not one/,
  });
});

test('splitData is deterministic per seed, disjoint, complete and keeps inputs with targets', (t) => {
  // 10 sequences of T = 2 steps, d = 3; the target of sequence n is n, its inputs all equal n.
  const N = 10,
    T = 2,
    d = 3;
  const data = {
    inputs: Float32Array.from({ length: N * T * d }, (_, i) => Math.floor(i / (T * d))),
    targets: Int32Array.from({ length: N }, (_, n) => n),
    sequenceLength: T,
  };
  const a = splitData(data, { testFraction: 0.3, seed: 7, inputSize: d });
  const b = splitData(data, { testFraction: 0.3, seed: 7, inputSize: d });
  const c = splitData(data, { testFraction: 0.3, seed: 8, inputSize: d });
  t.is(a.test.targets.length, 3);
  t.is(a.train.targets.length, 7);
  t.deepEqual(Array.from(a.test.targets), Array.from(b.test.targets));
  t.notDeepEqual([...a.train.targets, ...a.test.targets], [...c.train.targets, ...c.test.targets]);
  t.deepEqual(
    [...a.train.targets, ...a.test.targets].sort((x, y) => x - y),
    Array.from(data.targets)
  );
  a.test.targets.forEach((n, i) => t.is(a.test.inputs[i * T * d + T * d - 1], n));
  t.deepEqual(Array.from(data.targets), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]); // the original is untouched
  // Token ids with per-step targets need no inputSize.
  const ids = {
    inputs: Int32Array.from({ length: 8 }, (_, i) => i),
    targets: Int32Array.from({ length: 8 }, (_, i) => i),
    sequenceLength: 2,
  };
  const shuffled = shuffleData(ids, { seed: 3 });
  for (let n = 0; n < 4; n++)
    t.deepEqual(
      Array.from(shuffled.inputs.subarray(2 * n, 2 * n + 2)),
      Array.from(shuffled.targets.subarray(2 * n, 2 * n + 2))
    );
});

test('splitData rejects what it cannot split', (t) => {
  const data = { inputs: new Float32Array(12), targets: new Int32Array(2), sequenceLength: 2 };
  t.throws(() => splitData(data, { testFraction: 0.5 }), { instanceOf: TypeError, message: /options\.inputSize/ });
  t.throws(() => splitData(data, { testFraction: 1, inputSize: 3 }), {
    instanceOf: RangeError,
    message: /options\.testFraction/,
  });
  t.throws(() => splitData(data, { testFraction: 0.5, inputSize: 5 }), {
    instanceOf: RangeError,
    message: /data\.inputs/,
  });
  t.throws(() => splitData({ ...data, targets: new Int32Array(3) }, { testFraction: 0.5, inputSize: 3 }), {
    instanceOf: RangeError,
    message: /data\.targets/,
  });
  t.throws(
    () =>
      splitData({ inputs: new Int32Array(2), targets: new Int32Array(1), sequenceLength: 2 }, { testFraction: 0.5 }),
    { instanceOf: RangeError, message: /at least 2/ }
  );
});

test('text files: bad UTF-8 names the byte, NUL the line and column; directories are refused (issue 15)', (t) => {
  const latin1 = file('latin1.txt', Buffer.from('ok\ncafé au lait '.repeat(10), 'latin1'));
  t.throws(() => readUtf8File(latin1), {
    instanceOf: FileFormatError,
    message: /latin1\.txt is not valid UTF-8 text \(byte 6, on line 2, is 0xe9\)/,
  });
  const nulBytes = [Buffer.from('first line\nab'), Buffer.of(0), Buffer.from('c'.repeat(50))];
  const nul = file('nul.txt', Buffer.concat(nulBytes));
  t.throws(() => loadCharacterText(nul, { sequenceLength: 4 }), {
    instanceOf: FileFormatError,
    message: /nul\.txt contains a NUL character \(U\+0000\) at line 2, column 3/,
  });
  t.is(readUtf8File(nul).length, 64); // NUL is valid UTF-8: only the text loaders refuse it
  fs.mkdirSync(path.join(dir, 'a-directory.txt'), { recursive: true });
  t.throws(() => loadCharacterText(path.join(dir, 'a-directory.txt'), { sequenceLength: 4 }), {
    instanceOf: FileFormatError,
    message: /must be a regular file, it is a directory/,
  });
  t.throws(() => loadCharacterText(file('short2.txt', 'abc'), { sequenceLength: 4 }), { instanceOf: FileFormatError });
  // Each malformed byte sequence is found where it starts.
  const malformed = [
    [[0x61, 0xc0, 0xaf], 1], // overlong
    [[0x61, 0x62, 0xed, 0xa0, 0x80], 2], // a UTF-16 surrogate
    [[0xf4, 0x90, 0x80, 0x80], 0], // above U+10FFFF
    [[0x61, 0xe2, 0x82], 1], // cut short
    [[0xe2, 0x82, 0xac, 0xff], 3], // 0xff never occurs
  ] as const;
  for (const [bytes, at] of malformed)
    t.throws(
      () => readUtf8File(file('bad-utf8.txt', Buffer.from(bytes))),
      { message: new RegExp(`\\(byte ${at}, on line 1`) },
      String(bytes)
    );
  t.is(readUtf8File(file('good-utf8.txt', Buffer.from('€😀é'))), '€😀é');
});

test('labelled texts: one class, empty texts, malformed lines are file errors; 250,000 lines load (issue 15)', (t) => {
  t.throws(() => loadLabelledText(file('one.tsv', 'pos\tgreat\n'.repeat(5))), {
    instanceOf: FileFormatError,
    message: /one\.tsv must hold texts of at least 2 classes.*found 1 \("pos"\)/,
  });
  t.throws(() => loadLabelledText(file('blank.tsv', 'pos\t\nneg\t\n')), {
    instanceOf: FileFormatError,
    message: /blank\.tsv must hold at least one non-empty text/,
  });
  t.throws(() => loadLabelledText(file('notabs2.tsv', 'pos good\n')), {
    instanceOf: FileFormatError,
    message: /notabs2\.tsv line 1/,
  });
  // Evaluating on texts of one class is fine once the labels are known.
  const known = loadLabelledText(path.join(dir, 'one.tsv'), { labels: ['neg', 'pos'] });
  t.deepEqual(Array.from(known.data.targets), [1, 1, 1, 1, 1]);
  const many = encodeLabelledText({
    labels: Array.from({ length: 250_000 }, (_, i) => (i % 2 ? 'a' : 'b')),
    texts: Array.from({ length: 250_000 }, (_, i) => 'x'.repeat(1 + (i % 3))),
  });
  t.is(many.data.sequenceLength, 3);
});

test('the crafted text cases of the fuzz corpus are refused with a FileFormatError naming the file', (t) => {
  TEXT_CASES.forEach((c, i) => {
    const [[name, bytes]] = Object.entries(c.files());
    t.true(bytes.length <= 1 << 20, c.name);
    const p = file(`case-${i}-${name}`, bytes);
    const load = () => (c.kind === 'text' ? loadCharacterText(p, { sequenceLength: 8 }) : loadLabelledText(p));
    if (c.valid) t.notThrows(load, c.name);
    else t.throws(load, { instanceOf: FileFormatError, message: new RegExp(`case-${i}-`) }, c.name);
  });
});
