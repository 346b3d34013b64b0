/**
 * Checkpoints from untrusted sources cost bounded memory and time (D3, D4), are read through a
 * file handle with no 2 GiB limit (D11) and only when they are regular files (D12); saves keep
 * the target's mode and write through symlinks (D18), clear stale temporary files (D19), and
 * never write an iteration count the reader refuses (D21).
 */
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { decodeCheckpoint, encodeCheckpoint, readCheckpoint, saveCheckpoint, writeFileAtomic } from '../lib/checkpoint';
import { removeStaleTemporaries } from '../lib/checkpoint/atomic';
import { readCheckpointFile } from '../lib/checkpoint/read';
import { byteViews } from '../lib/checkpoint/safetensors';
import { encodeCheckpointParts } from '../lib/checkpoint/write';
import { FileFormatError } from '../lib/file-error';
import { RNN } from '../lib/rnn';
import { CHECKPOINT_CASES } from './fuzz/checkpoint-cases';

const run = promisify(execFile);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'admmirnn-ck-untrusted-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

const child = path.join(__dirname, 'helpers', 'read-checkpoint-child.js');
const small = () => new RNN({ inputSize: 3, hiddenSize: 5, outputSize: 2, init: { seed: 4 } });
const config = { inputSize: 3, hiddenSize: 5, outputSize: 2 };
const MB = 1 << 20;

/** Writes a case's files into a directory of their own; returns the path given to the reader. */
function materialise(index: number): string {
  const dir = path.join(tmp, `case-${index}`);
  fs.mkdirSync(dir, { recursive: true });
  const files = Object.entries(CHECKPOINT_CASES[index].files());
  for (const [name, bytes] of files) fs.writeFileSync(path.join(dir, name), bytes);
  return path.join(dir, files[0][0]);
}

const refusal = (file: string) => ({ instanceOf: FileFormatError, message: (m: string) => m.includes(file) });

CHECKPOINT_CASES.forEach((c, index) => {
  if (c.special) return; // a FIFO or /dev/zero: the D12 test below and the fuzz file stage make those
  test(`crafted checkpoint: ${c.name}`, async (t) => {
    const file = materialise(index);
    t.true(fs.statSync(file).size <= MB, 'a fuzz case is at most 1 MB');
    if (c.valid) {
      t.is((await readCheckpoint(file)).bytes, fs.statSync(file).size);
      t.truthy(decodeCheckpoint(fs.readFileSync(file), 'in-memory').model);
      return;
    }
    const error = await t.throwsAsync(readCheckpoint(file), refusal(file));
    t.true(error instanceof RangeError);
    t.throws(() => decodeCheckpoint(fs.readFileSync(file), 'in-memory'), refusal('in-memory'));
  });
});

// D3, D4: measured in a process of its own. On 1efbffa the 0.6 MB D3 case copied 1 GB, and the
// 232-byte D4 case allocated and initialised a 580 MB model.
test('crafted checkpoints are refused within 200 MB of RSS above the baseline and 2 s of CPU', async (t) => {
  const worst = { rss: 0, ms: 0, cpuMs: 0 };
  for (const [index, c] of CHECKPOINT_CASES.entries()) {
    if (!/^D[34]:/.test(c.name)) continue;
    const file = materialise(index);
    const { stdout } = await run(process.execPath, [child, file]);
    const { baselineBytes, peakBytes, ms, cpuMs, error } = JSON.parse(stdout);
    t.is(error?.name, 'FileFormatError', c.name);
    const above = peakBytes - baselineBytes;
    t.true(above < 200 * MB, `${c.name}: ${(above / MB).toFixed(0)} MB above baseline`);
    // CPU time, not wall time: a busy machine stretches the latter (1efbffa spent 7–33 s of CPU on D4).
    t.true(cpuMs < 2000, `${c.name}: ${cpuMs.toFixed(0)} ms of CPU`);
    worst.rss = Math.max(worst.rss, above);
    worst.ms = Math.max(worst.ms, ms);
    worst.cpuMs = Math.max(worst.cpuMs, cpuMs);
  }
  const { rss, ms, cpuMs } = worst;
  t.log(`worst: ${(rss / MB).toFixed(1)} MB above baseline, ${ms.toFixed(0)} ms, ${cpuMs.toFixed(0)} ms CPU`);
});

// D11: the writer hands out views of the tensors, the reader fills the arrays by positioned reads.
test('a checkpoint is encoded as parts that view the tensors, without a copy or a concatenation', (t) => {
  const model = small();
  const parts = encodeCheckpointParts({ model, config }, 16);
  t.true(
    parts.every((p) => p.length <= 16 || p === parts[1]),
    'tensors are cut into parts of at most 16 bytes'
  );
  t.true(
    parts.some((p) => p.buffer === model.U.buffer),
    'model.U is written from its own memory'
  );
  t.true(
    parts.some((p) => p.buffer === model.V.buffer),
    'model.V is written from its own memory'
  );
  const whole = Buffer.concat(parts);
  t.is(
    whole.length,
    parts.reduce((n, p) => n + p.length, 0)
  );
  // The same file as the single-Buffer encoder's, but for the creation time in the metadata.
  const again = encodeCheckpoint({ model, config });
  t.is(again.length, whole.length);
  t.deepEqual(decodeCheckpoint(whole, 'parts').model.V, model.V);
});

test('byteViews cuts an array into views of whole elements that cover its bytes exactly (none above 4 GiB)', (t) => {
  const whole = Float32Array.from({ length: 11 }, (_, i) => i + 0.5);
  const a = whole.subarray(2, 9);
  for (const piece of [1, 4, 7, 8, 28, 1000]) {
    const views = byteViews(a, piece);
    const step = Math.max(4, piece - (piece % 4));
    t.true(
      views.every((v) => v.length % 4 === 0 && v.length <= step),
      `pieces of ${piece}`
    );
    t.deepEqual(new Float32Array(Uint8Array.from(Buffer.concat(views)).buffer), a.slice(), `pieces of ${piece}`);
    t.true(
      views.every((v) => v.buffer === whole.buffer),
      'views, not copies'
    );
  }
  t.deepEqual(byteViews(new Float32Array(0)), []);
});

test('a checkpoint is read through positioned reads in pieces, whatever the seams', async (t) => {
  const model = small();
  const file = path.join(tmp, 'pieces.safetensors');
  await writeFileAtomic(file, encodeCheckpointParts({ model, config }, 12));
  for (const piece of [1, 7, 64, 2 ** 30]) {
    const back = await readCheckpointFile(file, fs.statSync(file).size, piece);
    for (const name of ['U', 'W', 'b', 'V', 'c'] as const)
      t.deepEqual(back.model[name], model[name], `${name}, pieces of ${piece}`);
  }
  await t.throwsAsync(readCheckpointFile(file, fs.statSync(file).size - 1), {
    instanceOf: FileFormatError,
    message: (m) => m.includes(file) && /more than the \d+ this reader accepts.*maxBytes/.test(m),
  });
  await t.throwsAsync(readCheckpoint(file, { maxBytes: 100 }), { instanceOf: FileFormatError, message: /maxBytes/ });
  await t.throwsAsync(readCheckpoint(file, { maxBytes: -1 }), { instanceOf: RangeError, message: /options\.maxBytes/ });
});

test('a 2.5 GB file is opened and refused by its header, not by a 2 GiB read limit', async (t) => {
  const file = path.join(tmp, 'big.safetensors');
  fs.writeFileSync(file, '');
  fs.truncateSync(file, 2500 * MB); // sparse: costs no disk
  t.teardown(() => fs.rmSync(file, { force: true }));
  await t.throwsAsync(readCheckpoint(file, { maxBytes: 2 ** 34 }), {
    instanceOf: FileFormatError,
    message: (m) => m.includes(file) && /header length/.test(m),
  });
  await t.throwsAsync(readCheckpoint(file, { maxBytes: 2 ** 31 }), {
    instanceOf: FileFormatError,
    message: (m) => m.includes(file) && m.includes(`has ${2500 * MB} bytes`),
  });
});

// D12. Serial: it runs before the concurrent tests, whose fsyncs could hold every libuv thread
// (and so this test's open) for seconds on a busy disk.
test.serial('/dev/zero (through a symlink), a FIFO or a directory is refused at once, naming it', async (t) => {
  const zero = path.join(tmp, 'zero.safetensors');
  fs.symlinkSync('/dev/zero', zero);
  const fifo = path.join(tmp, 'fifo.safetensors');
  execFileSync('mkfifo', [fifo]);
  const dir = path.join(tmp, 'dir.safetensors');
  fs.mkdirSync(dir);
  for (const [file, kind] of [
    [zero, 'character device'],
    [fifo, 'FIFO'],
    [dir, 'directory'],
  ]) {
    const timeout = new Promise((_, reject) => {
      setTimeout(() => reject(new Error(`${file}: still reading after 8 s`)), 8000).unref();
    });
    await t.throwsAsync(Promise.race([readCheckpoint(file), timeout]), {
      instanceOf: FileFormatError,
      message: (m) => m.includes(file) && m.includes(kind),
    });
  }
});

// D18
test('saving over a checkpoint keeps its permission bits', async (t) => {
  for (const mode of [0o600, 0o640, 0o604]) {
    const file = path.join(tmp, `mode-${mode.toString(8)}.safetensors`);
    await saveCheckpoint(file, { model: small(), config });
    fs.chmodSync(file, mode);
    await saveCheckpoint(file, { model: small(), config });
    t.is(fs.statSync(file).mode & 0o777, mode);
  }
});

test('saving to a symlink writes the file it points to and keeps the link, dangling or chained', async (t) => {
  const dir = path.join(tmp, 'links');
  fs.mkdirSync(path.join(dir, 'runs'), { recursive: true });
  const real = path.join(dir, 'runs', 'run1.safetensors');
  await saveCheckpoint(real, { model: small(), config });
  fs.chmodSync(real, 0o600);
  fs.symlinkSync('runs/run1.safetensors', path.join(dir, 'latest.safetensors'));
  fs.symlinkSync('latest.safetensors', path.join(dir, 'chain.safetensors'));
  const model = new RNN({ ...config, init: { seed: 99 } });
  await saveCheckpoint(path.join(dir, 'chain.safetensors'), { model, config });
  t.true(fs.lstatSync(path.join(dir, 'chain.safetensors')).isSymbolicLink());
  t.true(fs.lstatSync(path.join(dir, 'latest.safetensors')).isSymbolicLink());
  t.is(fs.statSync(real).mode & 0o777, 0o600);
  t.deepEqual((await readCheckpoint(real)).model.W, model.W);
  t.deepEqual(fs.readdirSync(dir).sort(), ['chain.safetensors', 'latest.safetensors', 'runs']);
  // A dangling link names the file to create.
  fs.symlinkSync('runs/run2.safetensors', path.join(dir, 'next.safetensors'));
  await saveCheckpoint(path.join(dir, 'next.safetensors'), { model, config });
  t.true(fs.lstatSync(path.join(dir, 'next.safetensors')).isSymbolicLink());
  t.deepEqual((await readCheckpoint(path.join(dir, 'runs', 'run2.safetensors'))).model.W, model.W);
  // A loop is an error, not a hang.
  fs.symlinkSync('loop-b', path.join(dir, 'loop-a'));
  fs.symlinkSync('loop-a', path.join(dir, 'loop-b'));
  await t.throwsAsync(saveCheckpoint(path.join(dir, 'loop-a'), { model, config }), { code: 'ELOOP' });
});

const asRoot = process.getuid?.() === 0 ? test : test.skip;
asRoot('a symlink another user planted in a shared sticky directory is not followed', async (t) => {
  const shared = path.join(tmp, 'shared');
  fs.mkdirSync(shared);
  fs.chmodSync(shared, 0o1777);
  fs.chownSync(shared, 0, 0);
  const victim = path.join(tmp, 'victim.txt');
  fs.writeFileSync(victim, 'keep');
  const link = path.join(shared, 'out.safetensors');
  fs.symlinkSync(victim, link);
  fs.lchownSync(link, 4242, 4242);
  await t.throwsAsync(saveCheckpoint(link, { model: small(), config }), {
    code: 'EPERM',
    message: /another user.*not followed/,
  });
  t.is(fs.readFileSync(victim, 'utf8'), 'keep');
});

// D19
test('stale temporary files of dead processes are removed before a save; live, own, foreign ones stay', async (t) => {
  const dir = path.join(tmp, 'stale');
  fs.mkdirSync(dir);
  const target = path.join(dir, 'run.safetensors');
  const dead = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => dead.on('exit', resolve));
  const alive = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  t.teardown(() => alive.kill());
  const names = {
    dead: `.run.safetensors.${dead.pid}.0123abcd.tmp`,
    dead2: `.run.safetensors.${dead.pid}.ffffffff.tmp`,
    alive: `.run.safetensors.${alive.pid}.0123abcd.tmp`,
    own: `.run.safetensors.${process.pid}.0123abcd.tmp`,
    otherTarget: `.other.safetensors.${dead.pid}.0123abcd.tmp`,
    longerName: `.run.safetensors.1.${dead.pid}.0123abcd.tmp`,
    notHex: `.run.safetensors.${dead.pid}.0123abcg.tmp`,
    suffix: `.run.safetensors.${dead.pid}.0123abcd.tmp.keep`,
  };
  for (const name of Object.values(names)) fs.writeFileSync(path.join(dir, name), 'partial');
  fs.mkdirSync(path.join(dir, `.run.safetensors.${dead.pid}.aaaaaaaa.tmp`));
  await saveCheckpoint(target, { model: small(), config });
  const left = fs.readdirSync(dir);
  t.false(left.includes(names.dead));
  t.false(left.includes(names.dead2));
  for (const key of ['alive', 'own', 'otherTarget', 'longerName', 'notHex', 'suffix'] as const)
    t.true(left.includes(names[key]), key);
  t.true(left.includes(`.run.safetensors.${dead.pid}.aaaaaaaa.tmp`), 'a directory is not removed');
  t.deepEqual(await removeStaleTemporaries(target), []);
});

test('the writer refuses a header the reader would refuse (above 16 MiB)', (t) => {
  const labels = Array.from({ length: 2 }, (_, i) => `${i}`.padEnd(9 << 20, 'x'));
  const task = {
    source: 'labelled',
    sequenceLength: 2,
    loss: 'softmax-cross-entropy' as const,
    lossSteps: 'last' as const,
    inputs: 'ids' as const,
    labels,
  };
  t.throws(() => encodeCheckpoint({ model: small(), config, task }), {
    instanceOf: RangeError,
    message: /metadata must be small enough for a header of at most 16777216 bytes/,
  });
});

// D21
test('the writer refuses an iteration count the reader would refuse; the shared bound round-trips', async (t) => {
  const model = small();
  const trainer = (iteration: number) => ({
    model,
    config,
    trainer: { kind: 'admm' as const, options: {}, iteration },
  });
  const refused = { instanceOf: RangeError, message: /checkpoint\.trainer\.iteration/ };
  for (const iteration of [2 ** 53, 2 ** 52 + 1, 1.5, -1])
    t.throws(() => encodeCheckpoint(trainer(iteration)), refused);
  const file = path.join(tmp, 'iterations.safetensors');
  await t.throwsAsync(saveCheckpoint(file, trainer(2 ** 53 - 1)), { instanceOf: RangeError });
  t.false(fs.existsSync(file));
  await saveCheckpoint(file, trainer(2 ** 52));
  t.is((await readCheckpoint(file)).trainer!.iteration, 2 ** 52);
});

test('train --resume refuses up front a count that could not be saved, naming the checkpoint (exit 1)', async (t) => {
  const dir = path.join(tmp, 'cli');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'text.txt'), 'the quick brown fox jumps over the lazy dog. '.repeat(20));
  const bin = path.resolve(__dirname, '..', '..', 'bin', 'admmirnn.js');
  const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8' });
  const data = ['--text', 'text.txt', '--sequence-length', '8'];
  t.is(cli('train', ...data, '--hidden', '4', '-n', '1', '-q', '-o', 'a.st').status, 0);
  const ck = await readCheckpoint(path.join(dir, 'a.st'));
  await saveCheckpoint(path.join(dir, 'late.st'), { ...ck, trainer: { ...ck.trainer!, iteration: 2 ** 52 } });
  const r = cli('train', ...data, '--resume', 'late.st', '-n', '2', '-q', '-o', 'b.st');
  t.is(r.status, 1, r.stderr);
  t.regex(r.stderr, /late\.st: its iteration count 4503599627370496 leaves no room for 2 more/);
  t.false(fs.existsSync(path.join(dir, 'b.st')));
});
