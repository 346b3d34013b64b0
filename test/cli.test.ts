/** The `admmirnn` command, spawned as a user runs it, on tiny data so each command takes seconds. */
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { readCheckpoint } from '../lib/checkpoint';
import { encodeNpy } from '../lib/npy';

const root = path.resolve(__dirname, '..', '..');
const bin = path.join(root, 'bin', 'admmirnn.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'admmirnn-cli-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => path.join(dir, name);

function run(args: string[], input?: string): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [bin, ...args], { cwd: dir, input, encoding: 'utf8', timeout: 120_000 });
}

function ok(
  t: { is: (a: unknown, b: unknown, m?: string) => void },
  r: SpawnSyncReturns<string>
): SpawnSyncReturns<string> {
  t.is(r.status, 0, `exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

const words = ['hello world', 'the cat sat', 'on the mat', 'hello cat'];
fs.writeFileSync(at('corpus.txt'), Array.from({ length: 160 }, (_, i) => words[(i * 7) % 4]).join(' '));
fs.writeFileSync(
  at('reviews.tsv'),
  Array.from({ length: 40 }, (_, i) =>
    i % 2 ? `pos\t${['good', 'great fun'][i % 4 === 1 ? 0 : 1]}` : `neg\t${['bad', 'awful day'][i % 4 === 0 ? 0 : 1]}`
  ).join('\n')
);
{
  const N = 24,
    T = 5,
    d = 3;
  const x = Float32Array.from({ length: N * T * d }, (_, i) => Math.sin(i));
  const y = Int32Array.from({ length: N }, (_, n) => (x[n * T * d] > 0 ? 1 : 0));
  fs.writeFileSync(at('x.npy'), encodeNpy(x, [N, T, d]));
  fs.writeFileSync(at('y.npy'), encodeNpy(y, [N]));
  fs.writeFileSync(
    at('yreg.npy'),
    encodeNpy(
      Float32Array.from({ length: N * 2 }, (_, i) => Math.cos(i)),
      [N, 2]
    )
  );
}

// The persistent mode keeps the full ADMM state, which checkpoints carry and resume restores.
const charTrain = [
  'train',
  '--text',
  'corpus.txt',
  '--sequence-length',
  '12',
  '--hidden',
  '12',
  '--seed',
  '3',
  '--mode',
  'persistent',
];

test('train → info → sample → eval → predict on a character model', async (t) => {
  const trained = ok(t, run([...charTrain, '-n', '3', '-o', 'char.safetensors']));
  t.regex(trained.stdout, /max-iterations.*\n.*iteration 3: loss \d/);
  t.regex(trained.stderr, /\[=+\] 3\/3 100%/);
  const ck = await readCheckpoint(at('char.safetensors'));
  t.is(ck.task!.source, 'text');
  t.is(ck.admmState!.iteration, 3);

  const info = ok(t, run(['info', 'char.safetensors']));
  t.regex(info.stdout, /admmirnn\.checkpoint v1/);
  t.regex(info.stdout, /vocabulary: 14 characters/);
  t.regex(info.stdout, /ADMM state: iteration 3/);
  t.is(JSON.parse(ok(t, run(['info', 'char.safetensors', '--json'])).stdout).trainer.iteration, 3);

  const sample = ok(
    t,
    run(['sample', 'char.safetensors', '--prime', 'hello', '--length', '30', '--temperature', '0.7', '--seed', '4'])
  );
  t.is(Array.from(sample.stdout.trimEnd()).length, 35);
  t.true(sample.stdout.startsWith('hello'));
  t.is(
    ok(
      t,
      run(['sample', 'char.safetensors', '--prime', 'hello', '--length', '30', '--temperature', '0.7', '--seed', '4'])
    ).stdout,
    sample.stdout
  );

  const evaluated = JSON.parse(ok(t, run(['eval', 'char.safetensors', '--text', 'corpus.txt', '--json'])).stdout);
  t.true(evaluated.loss > 0 && evaluated.accuracy >= 0 && evaluated.accuracy <= 1);

  const predicted = ok(t, run(['predict', 'char.safetensors'], '{"text": "hello wor"}\n\n"the ca"\n'))
    .stdout.trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.is(predicted.length, 2);
  t.is(typeof predicted[0].label, 'string');
  t.is(predicted[0].probabilities.length, 14);
  const bad = run(['predict', 'char.safetensors'], '{"text": "hello"}\n{"text": "xyz"}\n');
  t.is(bad.status, 1);
  t.regex(bad.stderr, /stdin line 2: .*character 0 \("x"\)/);
});

test('train on labelled text classifies; predict names the label', (t) => {
  ok(t, run(['train', '--labelled', 'reviews.tsv', '--hidden', '8', '-n', '4', '-o', 'cls.safetensors', '-q']));
  const lines = ok(t, run(['predict', 'cls.safetensors'], '{"text": "good"}\n{"text": "awful day"}\n'))
    .stdout.trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.true(lines.every((l) => ['pos', 'neg'].includes(l.label)));
  t.regex(ok(t, run(['eval', 'cls.safetensors', '--labelled', 'reviews.tsv'])).stdout, /loss \d.*accuracy \d/);
});

test('train from .npy arrays with BPTT, classification and regression; eval and predict', (t) => {
  ok(
    t,
    run([
      'train',
      '--inputs',
      'x.npy',
      '--targets',
      'y.npy',
      '--trainer',
      'bptt',
      '--lr',
      '0.01',
      '--batch-size',
      '8',
      '-n',
      '3',
      '-o',
      'npy.safetensors',
      '-q',
    ])
  );
  t.is(
    JSON.parse(ok(t, run(['eval', 'npy.safetensors', '--inputs', 'x.npy', '--targets', 'y.npy', '--json'])).stdout)
      .count,
    24
  );
  const flat = JSON.parse(
    ok(
      t,
      run(
        ['predict', 'npy.safetensors'],
        JSON.stringify({
          inputs: [
            [0, 1, 2],
            [1, 2, 3],
          ],
        }) + '\n'
      )
    ).stdout
  );
  t.is(flat.probabilities.length, 2);
  ok(t, run(['train', '--inputs', 'x.npy', '--targets', 'yreg.npy', '-n', '2', '-o', 'reg.safetensors', '-q']));
  const reg = JSON.parse(
    ok(t, run(['eval', 'reg.safetensors', '--inputs', 'x.npy', '--targets', 'yreg.npy', '--json'])).stdout
  );
  t.is(reg.accuracy, null);
  t.is(
    JSON.parse(ok(t, run(['predict', 'reg.safetensors', '--every'], '{"inputs": [0, 1, 2]}\n')).stdout).steps[0].outputs
      .length,
    2
  );
});

test('train on bundled mnist10k and evaluate on its test split', (t) => {
  const r = ok(
    t,
    run(['train', '--mnist', '--limit', '60', '--hidden', '8', '-n', '2', '-o', 'mnist.safetensors', '--json'])
  );
  t.is(JSON.parse(r.stdout).status, 'max-iterations');
  t.is(JSON.parse(ok(t, run(['eval', 'mnist.safetensors', '--mnist', '--limit', '50', '--json'])).stdout).count, 50);
});

test('resuming from a checkpoint reproduces the uninterrupted run bit for bit', async (t) => {
  ok(t, run([...charTrain, '-n', '4', '-o', 'straight.safetensors', '-q']));
  ok(t, run([...charTrain, '-n', '2', '-o', 'half.safetensors', '-q']));
  const resumed = ok(
    t,
    run(['train', '--text', 'corpus.txt', '--resume', 'half.safetensors', '-n', '2', '-o', 'resumed.safetensors'])
  );
  t.regex(resumed.stderr, /resuming ADMM at iteration 2/);
  const [a, b] = await Promise.all([
    readCheckpoint(at('straight.safetensors')),
    readCheckpoint(at('resumed.safetensors')),
  ]);
  t.is(a.metadata.sha256, b.metadata.sha256); // every tensor, the ADMM state included
  t.is(b.trainer!.iteration, 4);
  const fresh = ok(
    t,
    run([
      'train',
      '--text',
      'corpus.txt',
      '--resume',
      'half.safetensors',
      '--reset-state',
      '-n',
      '1',
      '-o',
      'reset.safetensors',
    ])
  );
  t.regex(fresh.stderr, /--reset-state: auxiliaries re-initialised/);
  t.is((await readCheckpoint(at('reset.safetensors'))).admmState!.iteration, 1);
});

/** Runs `admmirnn …args`, sends Ctrl-C once its stderr matches `when`, and returns how it ended. */
async function interrupted(
  args: string[],
  when: RegExp
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { cwd: dir });
  let stderr = '',
    stdout = '';
  child.stdout.on('data', (b) => (stdout += b));
  const code = await new Promise<number | null>((resolve) => {
    child.stderr.on('data', (b) => {
      stderr += b;
      if (when.test(stderr) && !child.killed) child.kill('SIGINT');
    });
    // 'close', not 'exit': the child's stdout can still be arriving when it has exited.
    child.on('close', (c) => resolve(c));
  });
  return { code, stdout, stderr };
}

test('Ctrl-C stops after the current iteration, writes the checkpoint and exits 130', async (t) => {
  const args = [...charTrain, '-n', '100000', '-o', 'interrupted.safetensors'];
  const { code, stdout, stderr } = await interrupted(args, /\] 1\/100000/);
  t.is(code, 130, stderr);
  t.regex(stderr, /interrupted — stopping after the current iteration/);
  t.regex(stdout, /interrupted: interrupted after iteration \d+/);
  const ck = await readCheckpoint(at('interrupted.safetensors'));
  t.true(ck.admmState!.iteration >= 1);
  t.is(ck.admmState!.iteration, ck.trainer!.iteration);
});

test('Ctrl-C before the first iteration ends stops the fit at once: no iteration, the initial weights saved', async (t) => {
  // Large enough that the persistent warm start and iteration 1 take well over the signal's delivery.
  const big = Array.from({ length: 24000 }, (_, i) => words[(i * 7 + (i >> 3)) % 4]).join(' ');
  fs.writeFileSync(at('big-corpus.txt'), big);
  const args = ['train', '--text', 'big-corpus.txt', '--hidden', '64', '--mode', 'persistent'];
  // The run's description is logged once the Ctrl-C handler is in place, just before the fit.
  const { code, stdout, stderr } = await interrupted([...args, '-n', '5', '-o', 'early.safetensors'], /ADMM on text/);
  t.is(code, 130, stderr);
  t.regex(stderr, /interrupted — stopping now, before this run's first iteration ends/);
  t.regex(stdout, /interrupted: interrupted after iteration 0/);
  const ck = await readCheckpoint(at('early.safetensors'));
  t.is(ck.trainer!.iteration, 0);
  t.is(ck.admmState, undefined);
});

test('export-tfjs and import-tfjs round-trip a model through the TensorFlow.js format', async (t) => {
  ok(t, run(['train', '--inputs', 'x.npy', '--targets', 'y.npy', '-n', '1', '-o', 'tf.safetensors', '-q']));
  t.regex(ok(t, run(['export-tfjs', 'tf.safetensors', 'tfjs-out'])).stdout, /model\.json/);
  ok(t, run(['import-tfjs', 'tfjs-out/model.json', 'imported.safetensors']));
  const [a, b] = await Promise.all([readCheckpoint(at('tf.safetensors')), readCheckpoint(at('imported.safetensors'))]);
  t.deepEqual(b.model.W, a.model.W);
  t.deepEqual(b.model.U, a.model.U);
});

test('every command has --help; usage errors exit 2, runtime errors exit 1, with a clear message', (t) => {
  for (const cmd of ['train', 'eval', 'predict', 'sample', 'info', 'export-tfjs', 'import-tfjs'])
    t.regex(ok(t, run([cmd, '--help'])).stdout, new RegExp(`Usage: admmirnn ${cmd}`));
  t.regex(ok(t, run(['--help'])).stdout, /Commands:/);
  t.regex(ok(t, run(['--version'])).stdout, /^\d+\.\d+\.\d+/);
  const usage: [string[], RegExp][] = [
    [['train', '--bogus'], /unknown option '--bogus'/],
    [['train', '--mnist', '--hidden', '0'], /--hidden.*invalid.*integer/],
    [['train', '--mnist', '--trainer', 'sgd'], /--trainer.*choices/],
    [['train'], /exactly one data source/],
    [['train', '--mnist', '--text', 'corpus.txt'], /exactly one data source.*--mnist, --text/],
    [['train', '--text', 'corpus.txt', '--trainer', 'bptt', '--optimizer', 'sgd'], /trainer options: .*lr/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['info'], /missing required argument 'checkpoint'/],
    [['sample', 'x', '--temperature', '-1'], /--temperature.*invalid/],
    [[], /Usage: admmirnn/],
  ];
  for (const [args, message] of usage) {
    const r = run(args);
    t.is(r.status, 2, `${args.join(' ')} → ${r.status}: ${r.stderr}`);
    t.regex(r.stderr, message, args.join(' '));
  }
  fs.writeFileSync(at('garbage.safetensors'), 'this is not a checkpoint');
  const runtime: [string[], RegExp][] = [
    [['info', 'missing.safetensors'], /ENOENT.*missing\.safetensors/],
    [['info', 'garbage.safetensors'], /garbage\.safetensors must be/],
    [['train', '--text', 'missing.txt'], /ENOENT/],
    [['train', '--inputs', 'y.npy', '--targets', 'y.npy'], /y\.npy must be float32 \[N,T,d\] or int32 \[N,T\]/],
  ];
  for (const [args, message] of runtime) {
    const r = run(args);
    t.is(r.status, 1, `${args.join(' ')} → ${r.status}: ${r.stderr}`);
    t.regex(r.stderr, /^admmirnn: error: /);
    t.regex(r.stderr, message);
  }
});
