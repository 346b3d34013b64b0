/** Character vocabularies, next-character windows, labelled lines and text sampling. */
import test from 'ava';
import { RNN } from '../lib/rnn';
import { sampleText } from '../lib/sampling';
import { PAD, Vocabulary, characterWindows, codePointLength, encodePadded, parseLabelledText } from '../lib/text';

test('a vocabulary holds whole code points, sorted, and round-trips through code points', (t) => {
  const v = Vocabulary.fromText('ba😀ab');
  t.deepEqual(v.characters, ['a', 'b', '😀']);
  t.deepEqual(Array.from(v.encode('😀a')), [2, 0]);
  t.deepEqual(Vocabulary.fromCodePoints(v.codePoints()).characters, v.characters);
  t.throws(() => v.encode('c'), { instanceOf: RangeError, message: /character 0 \("c"\)/ });
  t.is(Vocabulary.fromText('ab', { padding: true }).encode('zb')[0], 0); // unknown → PAD
  t.throws(() => new Vocabulary(['a', 'a']), { instanceOf: RangeError, message: /unique/ });
});

test('character windows pair each step with the next character', (t) => {
  const v = Vocabulary.fromText('abcdefg');
  const d = characterWindows('abcdefg', v, { sequenceLength: 3, stride: 2 });
  t.deepEqual(Array.from(d.inputs), [0, 1, 2, 2, 3, 4]);
  t.deepEqual(Array.from(d.targets), [1, 2, 3, 3, 4, 5]);
  t.throws(() => characterWindows('ab', v, { sequenceLength: 3 }), { instanceOf: RangeError, message: /longer than/ });
});

test('labelled lines parse, and texts are left-padded to T', (t) => {
  const parsed = parseLabelledText('pos\tgood\n\nneg\tbad day\n', 'f.tsv');
  t.deepEqual(parsed, { labels: ['pos', 'neg'], texts: ['good', 'bad day'] });
  t.throws(() => parseLabelledText('no tab here', 'f.tsv'), { instanceOf: RangeError, message: /f\.tsv line 1/ });
  const v = Vocabulary.fromText('goodbad', { padding: true });
  t.is(v.characters[0], PAD);
  t.deepEqual(Array.from(encodePadded(['bad'], v, 5)), [0, 0, ...v.encode('bad')]);
});

test('sampling is seeded, temperature 0 is greedy, and the model must match the vocabulary', (t) => {
  const v = Vocabulary.fromText('abc ');
  const model = new RNN({ inputSize: 4, hiddenSize: 8, outputSize: 4, init: { scale: 1, seed: 3 } });
  const a = sampleText(model, v, { length: 40, prime: 'ab', seed: 5 });
  t.is(Array.from(a).length, 40);
  t.is(sampleText(model, v, { length: 40, prime: 'ab', seed: 5 }), a);
  t.not(sampleText(model, v, { length: 40, prime: 'ab', seed: 6 }), a);
  t.is(
    sampleText(model, v, { length: 10, temperature: 0, seed: 1 }),
    sampleText(model, v, { length: 10, temperature: 0, seed: 2 })
  );
  t.throws(() => sampleText(new RNN({ inputSize: 5, hiddenSize: 2, outputSize: 5 }), v, { length: 1 }), {
    instanceOf: RangeError,
    message: /character model/,
  });
  t.throws(() => sampleText(model, v, { length: -1 }), { instanceOf: RangeError, message: /options\.length/ });
});

test('codePointLength counts code points; encode names NUL as the padding character (issue 15)', (t) => {
  for (const s of ['', 'abc', '😀a😀', 'é\u0301', '\ud800x', 'x\udc00'])
    t.is(codePointLength(s), Array.from(s).length, JSON.stringify(s));
  const v = Vocabulary.fromText('ab\u0000c');
  t.deepEqual(v.characters, ['a', 'b', 'c']);
  t.throws(() => v.encode('a\u0000'), {
    instanceOf: RangeError,
    message: /character 1 \("\\u0000"\) is not: NUL \(U\+0000\) is reserved for padding/,
  });
  t.deepEqual(Array.from(v.encode('cab')), [2, 0, 1]);
});
