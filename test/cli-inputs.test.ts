/**
 * The CLI on bad files and bad input lines (issue 15: D6, D9, D10, D13, D14, D16, D17, D22): a bad
 * file exits 1 with an error naming it, bad usage exits 2, and nothing trains before `-o` is
 * known to be writable.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { encodeNpy } from '../lib/npy';
import { readCheckpoint } from '../lib';

const root = path.resolve(__dirname, '..', '..');
const bin = path.join(root, 'bin', 'admmirnn.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'admmirnn-cli-inputs-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => path.join(dir, name);

function run(args: string[], input?: string): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [bin, ...args], { cwd: dir, input, encoding: 'utf8', timeout: 120_000 });
}

type Assertions = {
  is: (a: unknown, b: unknown, m?: string) => void;
  regex: (s: string, r: RegExp, m?: string) => void;
};

/** Exits `code` with `admmirnn: error: …` matching `message`. */
function fails(t: Assertions, args: string[], code: number, message: RegExp, input?: string): SpawnSyncReturns<string> {
  const r = run(args, input);
  t.is(r.status, code, `${args.join(' ')} → ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  t.regex(r.stderr, /^admmirnn: error: /, args.join(' '));
  t.regex(r.stderr, message, args.join(' '));
  return r;
}

function ok(t: Assertions, args: string[], input?: string): SpawnSyncReturns<string> {
  const r = run(args, input);
  t.is(r.status, 0, `${args.join(' ')} → ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

const words = ['hello world', 'the cat sat', 'on the mat', 'hello cat'];
fs.writeFileSync(at('corpus.txt'), Array.from({ length: 80 }, (_, i) => words[(i * 7) % 4]).join(' '));
const quick = ['--sequence-length', '8', '--hidden', '4', '-n', '1', '-q'];

/** A copy of checkpoint `from` whose JSON metadata entry `key` is changed by `edit`. */
function editMetadata(from: string, to: string, key: string, edit: (value: Record<string, unknown>) => void): void {
  const file = fs.readFileSync(from);
  const n = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + n).toString('utf8'));
  const value = JSON.parse(header.__metadata__[key]);
  edit(value);
  header.__metadata__[key] = JSON.stringify(value);
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  fs.writeFileSync(to, Buffer.concat([length, Buffer.from(json), file.subarray(8 + n)]));
}

/** A copy of checkpoint `from` whose tensor `name` (Int32) is changed by `edit`, with its checksum updated. */
function editInt32Tensor(from: string, to: string, name: string, edit: (values: Int32Array) => void): void {
  const file = Buffer.from(fs.readFileSync(from));
  const n = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + n).toString('utf8'));
  const data = file.subarray(8 + n);
  const [begin, end] = header[name].data_offsets as [number, number];
  const values = new Int32Array(data.buffer.slice(data.byteOffset + begin, data.byteOffset + end));
  edit(values);
  Buffer.from(values.buffer).copy(data, begin);
  header.__metadata__.sha256 = createHash('sha256').update(data).digest('hex'); // same length: the offsets hold
  const json = JSON.stringify(header).padEnd(n, ' ');
  if (Buffer.byteLength(json) !== n) throw new Error('the edited header changed length');
  fs.writeFileSync(to, Buffer.concat([file.subarray(0, 8), Buffer.from(json), data]));
}

test.before(() => {
  const r = run(['train', '--text', 'corpus.txt', ...quick, '-o', 'good.st']);
  if (r.status !== 0) throw new Error(`training the test checkpoint failed: ${r.stderr}`);
});

test('D6: train -o into a missing directory, a directory or below a file fails before training', (t) => {
  const missing = fails(
    t,
    ['train', '--text', 'corpus.txt', ...quick, '-o', 'no/such/dir/x.st'],
    1,
    /cannot write the checkpoint no\/such\/dir\/x\.st: its directory no\/such\/dir does not exist/
  );
  t.notRegex(missing.stderr, /\.tmp/);
  t.notRegex(missing.stdout, /iteration/); // nothing was trained
  fails(
    t,
    ['train', '--text', 'corpus.txt', ...quick, '-o', '.'],
    1,
    /cannot write the checkpoint \.: it is a directory/
  );
  fails(
    t,
    ['train', '--text', 'corpus.txt', ...quick, '-o', 'corpus.txt/x.st'],
    1,
    /cannot write the checkpoint corpus\.txt\/x\.st: corpus\.txt is not a directory/
  );
  t.false(fs.existsSync(at('no')));
  t.deepEqual(
    fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    []
  ); // the probe file is gone
});

test('D6: import-tfjs checks its output before reading the model', (t) => {
  fails(
    t,
    ['import-tfjs', 'missing/model.json', 'no/such/dir/x.st'],
    1,
    /cannot write the checkpoint no\/such\/dir\/x\.st: its directory/
  );
});

test('D9: a labelled file of 200,000 lines trains without a stack overflow', (t) => {
  const lines = Array.from({ length: 200_000 }, (_, i) => `${i % 2 ? 'pos' : 'neg'}\tgood fun\n`);
  fs.writeFileSync(at('big.tsv'), lines.join(''));
  const r = ok(t, ['train', '--labelled', 'big.tsv', '-n', '0', '-q', '--json', '-o', 'big.st']);
  t.is(JSON.parse(r.stdout).status, 'max-iterations');
});

test('D10: a text that is not UTF-8 is refused, naming the file and the first bad byte', (t) => {
  fs.writeFileSync(at('latin1.txt'), Buffer.from('café naïve résumé '.repeat(40), 'latin1'));
  fails(
    t,
    ['train', '--text', 'latin1.txt', ...quick, '-o', 'l1.st'],
    1,
    /latin1\.txt is not valid UTF-8 text \(byte 3, on line 1, is 0xe9\)/
  );
  fs.writeFileSync(at('latin1.tsv'), Buffer.from('pos\tgood\nneg\tcafé\n', 'latin1'));
  fails(
    t,
    ['train', '--labelled', 'latin1.tsv', '-q', '-o', 'l1.st'],
    1,
    /latin1\.tsv is not valid UTF-8 text \(byte \d+, on line 2/
  );
  t.false(fs.existsSync(at('l1.st')));
});

test('D13: invalid trainer options in a checkpoint fail info and --resume with exit 1, naming the file', (t) => {
  editMetadata(
    at('good.st'),
    at('badopts.st'),
    'trainer',
    (trainer) => ((trainer.options as Record<string, unknown>).mode = 'bogus')
  );
  fails(t, ['info', 'badopts.st'], 1, /badopts\.st: __metadata__\.trainer: options\.mode must be one of/);
  const resume = ['train', '--text', 'corpus.txt', '--resume', 'badopts.st', '-n', '1', '-q', '-o', 'o.st'];
  const resumed = fails(t, resume, 1, /badopts\.st: __metadata__\.trainer: options\.mode/);
  t.notRegex(resumed.stderr, /--help/);
  editMetadata(
    at('good.st'),
    at('badloss.st'),
    'trainer',
    (trainer) => ((trainer.options as Record<string, unknown>).lossSteps = 'last')
  );
  fails(
    t,
    ['info', 'badloss.st'],
    1,
    /badloss\.st: __metadata__\.trainer\.options\.lossSteps must be the task's "every"/
  );
});

test('D13: .npy token ids and class ids out of range exit 1, naming the file', (t) => {
  const N = 10,
    T = 4;
  fs.writeFileSync(
    at('ids.npy'),
    encodeNpy(
      Int32Array.from({ length: N * T }, (_, i) => i % 3),
      [N, T]
    )
  );
  fs.writeFileSync(
    at('negids.npy'),
    encodeNpy(
      Int32Array.from({ length: N * T }, (_, i) => (i % 3) - 1),
      [N, T]
    )
  );
  fs.writeFileSync(
    at('y.npy'),
    encodeNpy(
      Int32Array.from({ length: N }, (_, i) => i % 2),
      [N]
    )
  );
  fs.writeFileSync(
    at('ybig.npy'),
    encodeNpy(
      Int32Array.from({ length: N }, (_, i) => (i === 3 ? 2 ** 31 - 1 : i % 2)),
      [N]
    )
  );
  fs.writeFileSync(
    at('xnan.npy'),
    encodeNpy(
      Float32Array.from({ length: N * T }, (_, i) => (i === 5 ? NaN : 1)),
      [N, T, 1]
    )
  );
  const npy = (x: string, y: string, ...more: string[]) => [
    'train',
    '--inputs',
    x,
    '--targets',
    y,
    '-n',
    '1',
    '-q',
    '-o',
    'npy.st',
    ...more,
  ];
  fails(t, npy('ids.npy', 'ybig.npy'), 1, /ybig\.npy must be below 1048576.*got 2147483647 at element 3/);
  fails(t, npy('negids.npy', 'y.npy'), 1, /negids\.npy must be non-negative, got -1 at element 0/);
  fails(t, npy('ids.npy', 'y.npy', '--classes', '1'), 1, /y\.npy must be below 1 \(--classes\), got 1 at element 1/);
  fails(t, npy('xnan.npy', 'y.npy'), 1, /xnan\.npy must be finite.*NaN at element 5/);
  ok(t, npy('ids.npy', 'y.npy'));
  // eval on data that uses fewer ids than the model takes is not a size mismatch.
  fs.writeFileSync(
    at('ids01.npy'),
    encodeNpy(
      Int32Array.from({ length: N * T }, (_, i) => i % 2),
      [N, T]
    )
  );
  ok(t, ['eval', 'npy.st', '--inputs', 'ids01.npy', '--targets', 'y.npy']);
});

test('D14: empty and too short texts, unknown characters and directories are errors naming the file', (t) => {
  fs.writeFileSync(at('empty.txt'), '');
  fs.writeFileSync(at('short.txt'), 'abc');
  fs.mkdirSync(at('folder.txt'));
  fails(t, ['train', '--text', 'empty.txt', '-q', '-o', 'o.st'], 1, /empty\.txt is empty/);
  fails(
    t,
    ['train', '--text', 'short.txt', '-q', '-o', 'o.st'],
    1,
    /short\.txt is too short: its 3 characters make no window of T \+ 1 = 33 \(lower --sequence-length\)/
  );
  fails(
    t,
    ['train', '--text', 'folder.txt', '-q', '-o', 'o.st'],
    1,
    /folder\.txt must be a regular file, it is a directory/
  );
  fs.writeFileSync(at('other.txt'), 'zzzz qqqq '.repeat(10));
  fails(
    t,
    ['eval', 'good.st', '--text', 'other.txt'],
    1,
    /other\.txt: text must be made of the model's \d+ characters — character 0 \("z"\)/
  );
  fails(t, ['info', 'folder.txt'], 1, /checkpoint folder\.txt must be a regular file, it is a directory/);
  fails(t, ['eval', 'good.st', '--labelled', 'empty.txt'], 1, /the checkpoint holds a character model/);
  fails(
    t,
    ['predict', 'good.st', '-i', 'folder.txt'],
    1,
    /folder\.txt must be a file of JSON lines, it is a directory/
  );
  fs.writeFileSync(at('empty.tsv'), 'pos\t\nneg\t\n');
  fails(
    t,
    ['train', '--labelled', 'empty.tsv', '-q', '-o', 'o.st'],
    1,
    /empty\.tsv must hold at least one non-empty text/
  );
});

test('D14: a checkpoint with a bad vocabulary is a bad file; an unknown --prime is bad usage', (t) => {
  editInt32Tensor(at('good.st'), at('badvocab.st'), 'vocabulary', (codes) => (codes[1] = codes[0]));
  fails(t, ['info', 'badvocab.st'], 1, /badvocab\.st: .*characters\[1\] must be unique/);
  editInt32Tensor(at('good.st'), at('badcode.st'), 'vocabulary', (codes) => (codes[2] = 0x110000));
  fails(t, ['sample', 'badcode.st'], 1, /badcode\.st: vocabulary\[2\] must be a Unicode code point/);
  fails(t, ['sample', 'good.st', '--prime', 'Ω', '-l', '3'], 2, /--prime must be made of the model's \d+ characters/);
});

test('D16: predict refuses ids that are not token ids and ragged rows instead of guessing', (t) => {
  fails(
    t,
    ['predict', 'good.st'],
    1,
    /stdin line 1: ids\[0\] must be a token id in \[0, \d+\), got 4294967296/,
    '{"ids":[4294967296, 1e300]}\n'
  );
  fails(
    t,
    ['predict', 'good.st'],
    1,
    /stdin line 2: ids\[1\] must be an integer token id, got 1\.5/,
    '{"ids":[1, 2]}\n{"ids":[1, 1.5]}\n'
  );
  fails(t, ['predict', 'good.st'], 1, /ids\[0\] must be a token id .*got -1/, '{"ids":[-1]}\n');
  const d = 3,
    N = 6,
    T = 2;
  fs.writeFileSync(
    at('x.npy'),
    encodeNpy(
      Float32Array.from({ length: N * T * d }, (_, i) => Math.sin(i)),
      [N, T, d]
    )
  );
  fs.writeFileSync(
    at('y2.npy'),
    encodeNpy(
      Int32Array.from({ length: N }, (_, i) => i % 2),
      [N]
    )
  );
  ok(t, ['train', '--inputs', 'x.npy', '--targets', 'y2.npy', '-n', '1', '-q', '-o', 'dense.st']);
  fails(
    t,
    ['predict', 'dense.st'],
    1,
    /inputs\[0\] must hold d = 3 numbers, got 2/,
    '{"inputs": [[1, 2], [3, 4, 5, 6]]}\n'
  );
  fails(t, ['predict', 'dense.st'], 1, /inputs\[1\] must be a row of 3 numbers/, '{"inputs": [[1, 2, 3], 4, 5, 6]}\n');
  fails(
    t,
    ['predict', 'dense.st'],
    1,
    /inputs\[0\]\[1\] must be a finite float32, got 1e\+300/,
    '{"inputs": [[1, 1e300, 3]]}\n'
  );
  const lines = '{"inputs": [[1, 2, 3], [4, 5, 6]]}\n{"inputs": [1, 2, 3, 4, 5, 6]}\n';
  const good = ok(t, ['predict', 'dense.st'], lines).stdout.trim().split('\n');
  t.is(good.length, 2);
  t.is(good[0], good[1]); // nested and flat rows are the same sequence
});

test('D17: --labelled with a single class is refused', (t) => {
  fs.writeFileSync(at('one.tsv'), 'pos\tgreat fun\n'.repeat(30));
  fails(
    t,
    ['train', '--labelled', 'one.tsv', '-n', '2', '--hidden', '4', '-q', '-o', 'one.st'],
    1,
    /one\.tsv must hold texts of at least 2 classes to train a classifier, found 1 \("pos"\)/
  );
  t.false(fs.existsSync(at('one.st')));
});

test('D22: a NUL character in a text is refused, naming the file, the line and the column', (t) => {
  const text = [Buffer.from('hello world '.repeat(10)), Buffer.of(0), Buffer.from('again and again '.repeat(10))];
  fs.writeFileSync(at('nul.txt'), Buffer.concat(text));
  fails(
    t,
    ['train', '--text', 'nul.txt', ...quick, '-o', 'n.st'],
    1,
    /nul\.txt contains a NUL character \(U\+0000\) at line 1, column 121: NUL is reserved for padding/
  );
  fs.writeFileSync(at('utf16.txt'), Buffer.from('hello\nworld '.repeat(20), 'utf16le'));
  fails(
    t,
    ['train', '--text', 'utf16.txt', ...quick, '-o', 'n.st'],
    1,
    /utf16\.txt contains a NUL character .* at line 1, column 2: .*UTF-16/
  );
});

/** A checkpoint's metadata, without the time and generator of its save. */
function savedMetadata(file: string): Record<string, string> {
  const bytes = fs.readFileSync(at(file));
  const n = Number(bytes.readBigUInt64LE(0));
  const { created: _c, generator: _g, ...rest } = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')).__metadata__;
  return rest;
}

const RESUMED_RUNS = [
  ['--mode', 'adjoint'],
  ['--mode', 'local-duals'],
  ['--mode', 'sweeps'],
  ['--mode', 'persistent'],
  ['--trainer', 'bptt', '--lr', '0.01'],
];
for (const flags of RESUMED_RUNS)
  test(`D7: train ${flags.join(' ')}: -n 2, then --resume -n 2 equals -n 4 bit for bit`, (t) => {
    const name = flags.join('').replace(/[^a-z0-9]/g, '');
    const train = [
      'train',
      '--text',
      'corpus.txt',
      '--sequence-length',
      '8',
      '--hidden',
      '4',
      '--batch-size',
      '8',
      '-q',
      '--json',
    ];
    const four = JSON.parse(ok(t, [...train, ...flags, '-n', '4', '-o', `${name}4.st`]).stdout);
    ok(t, [...train, ...flags, '-n', '2', '-o', `${name}2.st`]);
    const resume = ['train', '--text', 'corpus.txt', '--resume', `${name}2.st`, '-n', '2', '--json'];
    const resumed = run([...resume, '-o', `${name}r.st`]);
    t.is(resumed.status, 0, resumed.stderr);
    t.regex(resumed.stderr, /resuming (ADMM at iteration|BPTT at epoch) 2 with the saved/);
    const summary = JSON.parse(resumed.stdout);
    t.is(summary.iteration, 4);
    t.is(summary.loss, four.loss);
    // The metadata holds the trainer, its count and run state (ρ, generator); sha256 covers every tensor.
    const straight = savedMetadata(`${name}4.st`);
    t.deepEqual(savedMetadata(`${name}r.st`), straight);
    t.truthy(straight.admm ?? straight.bptt);
  });

test('D7: with --state never or --reset-state a mini-batch resume restarts ρ and the shuffling, and says so', (t) => {
  const train = [
    'train',
    '--text',
    'corpus.txt',
    '--sequence-length',
    '8',
    '--hidden',
    '4',
    '--batch-size',
    '8',
    '--json',
  ];
  ok(t, [...train, '-q', '-n', '1', '--state', 'never', '-o', 'never.st']);
  t.false('admm' in savedMetadata('never.st'));
  const resumed = ok(t, ['train', '--text', 'corpus.txt', '--resume', 'never.st', '-n', '1', '-o', 'never2.st']);
  t.regex(resumed.stderr, /no ADMM state saved; ρ initial, shuffling restarted from seed 0/);
  ok(t, [...train, '-q', '-n', '1', '-o', 'reset.st']);
  const reset = ok(t, [
    'train',
    '--text',
    'corpus.txt',
    '--resume',
    'reset.st',
    '--reset-state',
    '-n',
    '1',
    '-o',
    'reset2.st',
  ]);
  t.regex(reset.stderr, /--reset-state: ρ initial, shuffling restarted/);
  t.regex(ok(t, ['info', 'reset2.st']).stdout, /ADMM state: iteration 1, mini-batch schedule and shuffling generator/);
});

test("D7: a run state that does not fit the file's trainer is a bad file for info and --resume", (t) => {
  const options = (edit: (o: Record<string, unknown>) => void) => (v: Record<string, unknown>) =>
    edit(v.options as Record<string, unknown>);
  ok(t, ['train', '--text', 'corpus.txt', ...quick, '--trainer', 'bptt', '--batch-size', '8', '-o', 'adam.st']);
  editMetadata(
    at('adam.st'),
    at('sgd.st'),
    'trainer',
    options((o) => (o.optimizer = { kind: 'momentum', lr: 0.1 }))
  );
  fails(
    t,
    ['info', 'sgd.st'],
    1,
    /sgd\.st: __metadata__\.bptt: snapshot\.optimizer\.buffers\[0\] must be an array of 1/
  );
  fails(
    t,
    ['train', '--text', 'corpus.txt', '--resume', 'sgd.st', '-n', '1', '-q', '-o', 'x.st'],
    1,
    /sgd\.st: __metadata__\.bptt/
  );
  ok(t, ['train', '--text', 'corpus.txt', ...quick, '--batch-size', '8', '-o', 'mb.st']);
  editMetadata(
    at('mb.st'),
    at('mbp.st'),
    'trainer',
    // Otherwise valid persistent options (that mode has no step clip): only the run state misfits.
    options((o) => Object.assign(o, { mode: 'persistent', stepClip: false }))
  );
  fails(
    t,
    ['info', 'mbp.st'],
    1,
    /mbp\.st: __metadata__\.admm is a mini-batch state, but the trainer's mode is 'persistent'/
  );
});

test('D7 (CLI part): the iteration count continues across --resume in the mini-batch and --reset-state runs', (t) => {
  const train = ['train', '--text', 'corpus.txt', ...quick.filter((f) => f !== '-n' && f !== '1'), '--json'];
  ok(t, [...train, '-n', '2', '-o', 'r2.st']);
  const resumed = JSON.parse(ok(t, [...train, '--resume', 'r2.st', '-n', '2', '-o', 'r4.st']).stdout);
  t.is(resumed.iteration, 4);
  t.regex(ok(t, ['info', 'r4.st']).stdout, /trainer: admm, 4 iterations/);
  ok(t, [...train, '--mode', 'persistent', '-n', '2', '-o', 'p2.st']);
  t.is(
    JSON.parse(ok(t, [...train, '--resume', 'p2.st', '--reset-state', '-n', '1', '-o', 'p3.st']).stdout).iteration,
    3
  );
});

test('train --options: a JSON object over the flags, kept in the checkpoint; bad JSON, a non-object, parallel and bad fields exit 2', async (t) => {
  const train = ['train', '--text', 'corpus.txt', ...quick];
  ok(t, [
    ...train,
    '--mode',
    'adjoint',
    '--options',
    '{"mode":"sweeps","dualWalk":false,"stepClip":1.5}',
    '-o',
    'o.st',
  ]);
  const { trainer } = await readCheckpoint(at('o.st'));
  const saved = trainer!.options as Record<string, unknown>;
  t.like(saved, { mode: 'sweeps', dualWalk: false, stepClip: 1.5, sweeps: 3 }, '--options wins over --mode');
  fails(t, [...train, '--options', 'nope', '-o', 'x.st'], 2, /--options <json>.*expected a JSON object \(/);
  fails(t, [...train, '--options', '[1]', '-o', 'x.st'], 2, /--options <json>.*expected a JSON object\./);
  fails(t, [...train, '--options', '{"parallel":{"workers":2}}', '-o', 'x.st'], 2, /--options: parallel .*--workers/);
  fails(t, [...train, '--options', '{"stepClip":0.5}', '-o', 'x.st'], 2, /trainer options: options\.stepClip/);
  t.false(fs.existsSync(at('x.st')));
});
