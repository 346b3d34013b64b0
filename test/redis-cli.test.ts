/**
 * The Redis transport through the command line, end to end: a redis-server of the test's own,
 * two `admmirnn worker` processes (one shard index from --shard, one from JOB_COMPLETION_INDEX),
 * and `admmirnn train … --redis URL --run NAME --shards 2` as coordinator; the trained weights equal,
 * bit for bit, those of `admmirnn train … --workers 2` (threads, the same split), in mode 'persistent' and
 * in the mini-batch mode 'local-duals'. Workers refuse a
 * run whose data they cannot reproduce, and a configuration hash other than the one asked for;
 * incomplete sharding flags are usage errors.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { AdmmTrainer, RNN } from '../lib';
import { readCheckpoint } from '../lib/checkpoint';
import { encodeNpy } from '../lib/npy';
import { resolveTrainerOptions } from '../lib/admm/options';
import { configHash, readRunConfig, runConfig } from '../lib/parallel/run-config';
import { trainingLayout } from '../lib/training/layout';
import { startCli, writeTinyProblem } from './helpers/cli-process';
import { sharedRedisServer } from './helpers/redis-server';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'admmirnn-redis-cli-'));
const at = (name: string) => path.join(dir, name);
const { x, y, N, T, d } = writeTinyProblem(dir);
fs.writeFileSync(
  at('y-other.npy'),
  encodeNpy(
    y.map((v) => 1 - v),
    [N]
  )
);

const server = sharedRedisServer(test);
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

const command = (args: string[], env: NodeJS.ProcessEnv = process.env) => startCli(dir, args, env);

const train = [
  'train',
  '--inputs',
  'x.npy',
  '--targets',
  'y.npy',
  '--mode',
  'persistent',
  '--hidden',
  '6',
  '--seed',
  '3',
  '-n',
  '4',
  '--json',
  '-q',
];
const hex = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
const bits = (w: Record<string, Float32Array>) => Object.fromEntries(Object.entries(w).map(([k, v]) => [k, hex(v)]));

test('admmirnn train --redis with 2 admmirnn worker processes ≡ train --workers 2, bit for bit', async (t) => {
  const threads = await command([...train, '--workers', '2', '-o', 'threads.safetensors']).ended;
  t.is(threads.code, 0, threads.stderr);
  const run = `cli-${process.pid}`;
  const worker0 = command(['worker', '--redis', server.url, '--run', run, '--shard', '0']);
  const worker1 = command(['worker', '--redis', server.url, '--run', run], {
    ...process.env,
    JOB_COMPLETION_INDEX: '1',
  });
  const coordinator = await command([
    ...train,
    '--redis',
    server.url,
    '--run',
    run,
    '--shards',
    '2',
    '-o',
    'redis.safetensors',
  ]).ended;
  t.is(coordinator.code, 0, coordinator.stderr);
  const ends = [await worker0.ended, await worker1.ended];
  for (const [i, w] of ends.entries()) {
    t.is(w.code, 0, `worker ${i}: ${w.stderr}`);
    t.regex(w.stderr, new RegExp(`shard ${i} of 2 in run ${run} \\(persistent, N = 24`));
    t.regex(w.stderr, /ended/);
  }
  const summary = JSON.parse(coordinator.stdout) as { status: string; iteration: number };
  t.is(summary.status, 'max-iterations');
  t.is(summary.iteration, 4);
  const [a, b] = [await readCheckpoint(at('threads.safetensors')), await readCheckpoint(at('redis.safetensors'))];
  t.deepEqual(bits(b.model.weights()), bits(a.model.weights()));
  t.is(b.trainer?.options && 'parallel' in b.trainer.options, false);
});

test('admmirnn train --mode local-duals --redis with 2 workers ≡ train --mode local-duals --workers 2', async (t) => {
  const localDuals = train.map((a) => (a === 'persistent' ? 'local-duals' : a));
  const miniBatch = [...localDuals, '--batch-size', '8', '-n', '2'];
  const threads = await command([...miniBatch, '--workers', '2', '-o', 'ld-threads.safetensors']).ended;
  t.is(threads.code, 0, threads.stderr);
  const run = `cli-local-duals-${process.pid}`;
  const workers = [0, 1].map((i) => command(['worker', '--redis', server.url, '--run', run, '--shard', String(i)]));
  const redis = ['--redis', server.url, '--run', run, '--shards', '2', '-o', 'ld-redis.safetensors'];
  const coordinator = await command([...miniBatch, ...redis]).ended;
  t.is(coordinator.code, 0, coordinator.stderr);
  for (const [i, w] of (await Promise.all(workers.map((w) => w.ended))).entries()) {
    t.is(w.code, 0, `worker ${i}: ${w.stderr}`);
    t.regex(w.stderr, new RegExp(`shard ${i} of 2 in run ${run} \\(local-duals, N = 24`));
  }
  t.like(JSON.parse(coordinator.stdout), { status: 'max-iterations', iteration: 2 });
  const [a, b] = [await readCheckpoint(at('ld-threads.safetensors')), await readCheckpoint(at('ld-redis.safetensors'))];
  t.deepEqual(bits(b.model.weights()), bits(a.model.weights()));
});

test('a checkpoint with the safeguard and the dual walk resumes sharded: with both synchronously, without them under --staleness', async (t) => {
  const first = await command([...train, '-o', 'guarded.safetensors']).ended;
  t.is(first.code, 0, first.stderr);
  const saved = (await readCheckpoint(path.join(dir, 'guarded.safetensors'))).trainer!.options;
  t.like(saved, { safeguard: { backoff: 2 }, dualWalk: { scale: 20, every: 1 } });
  const resume = ['train', '--inputs', 'x.npy', '--targets', 'y.npy', '--resume', 'guarded.safetensors', '-n', '2'];
  const synchronous = await command([...resume, '--workers', '2', '-q', '-o', 'sp.safetensors']).ended;
  t.is(synchronous.code, 0, synchronous.stderr);
  t.like((await readCheckpoint(path.join(dir, 'sp.safetensors'))).trainer!.options, {
    safeguard: { backoff: 2 },
    dualWalk: { scale: 20, every: 1 },
  });
  const stale = await command([...resume, '--workers', '2', '--staleness', '1', '-o', 'ap.safetensors']).ended;
  t.is(stale.code, 0, stale.stderr);
  t.regex(stale.stderr, /--staleness > 0: the safeguard is off/);
  t.regex(stale.stderr, /--staleness > 0: the dual walk is off/);
  t.like((await readCheckpoint(path.join(dir, 'ap.safetensors'))).trainer!.options, {
    safeguard: false,
    dualWalk: false,
  });
});

test('a mini-batch checkpoint resumed sharded keeps the step safeguard, and drops it under --staleness', async (t) => {
  const adjoint = [...train.map((a) => (a === 'persistent' ? 'adjoint' : a)), '--batch-size', '8', '-n', '2'];
  const first = await command([...adjoint, '-o', 'mb-one.safetensors']).ended;
  t.is(first.code, 0, first.stderr);
  const resume = ['train', '--resume', 'mb-one.safetensors', '--inputs', 'x.npy', '--targets', 'y.npy', '-n', '2'];
  const synchronous = await command([...resume, '--workers', '2', '-o', 'mb-sync.safetensors']).ended;
  t.is(synchronous.code, 0, synchronous.stderr);
  t.notRegex(synchronous.stderr, /the safeguard is off/);
  const saved = await readCheckpoint(at('mb-sync.safetensors'));
  t.truthy((saved.trainer?.options as { safeguard?: unknown }).safeguard, 'the saved settings were kept');
  const stale = ['--workers', '2', '--staleness', '1', '-o', 'mb-stale.safetensors'];
  const asynchronous = await command([...resume, ...stale]).ended;
  t.is(asynchronous.code, 0, asynchronous.stderr);
  t.regex(asynchronous.stderr, /--staleness > 0: the safeguard is off/);
});

test("a worker whose data is not the coordinator's refuses the run; the fit fails with its reason", async (t) => {
  const run = `mismatch-${process.pid}`;
  const model = new RNN({ inputSize: d, hiddenSize: 4, outputSize: 2, init: { scheme: 'normal', seed: 1 } });
  // The published data options name other targets than the ones the coordinator trains on.
  const data = { inputs: at('x.npy'), targets: at('y-other.npy') };
  const trainer = new AdmmTrainer(model, {
    mode: 'persistent',
    parallel: { transport: 'redis', url: server.url, run, shards: 1, data },
  });
  const worker = command(['worker', '--redis', server.url, '--run', run, '--shard', '0']);
  const e = await t.throwsAsync(trainer.fit({ inputs: x, targets: y, sequenceLength: T }, { maxIterations: 2 }));
  t.regex(String(e?.message), /not the coordinator's/);
  t.is((e as { code?: string }).code, 'ERR_CONFIG_MISMATCH');
  await trainer.close();
  const ended = await worker.ended;
  t.is(ended.code, 1, ended.stderr);
  t.regex(ended.stderr, /not the coordinator's/);
});

test('a worker asking for another configuration hash is refused (ERR_CONFIG_MISMATCH)', async (t) => {
  const run = `hash-${process.pid}`;
  const model = new RNN({ inputSize: d, hiddenSize: 4, outputSize: 2 });
  const data = { inputs: at('x.npy'), targets: at('y.npy') };
  const trainer = new AdmmTrainer(model, {
    mode: 'persistent',
    parallel: { transport: 'redis', url: server.url, run, shards: 1, data },
  });
  const fit = trainer.fit({ inputs: x, targets: y, sequenceLength: T }, { maxIterations: 1 });
  const wrong = 'sha256:' + '0'.repeat(64);
  const args = ['worker', '--redis', server.url, '--run', run, '--shard', '0'];
  const refused = await command([...args, '--config-hash', wrong]).ended;
  t.is(refused.code, 1);
  t.regex(refused.stderr, /ERR_CONFIG_MISMATCH|configuration/);
  const worker = command(args);
  t.is((await fit).status, 'max-iterations');
  await trainer.close();
  t.is((await worker.ended).code, 0);
});

test('train and worker refuse incomplete sharding flags (usage errors exit 2; no shard index exits 1)', async (t) => {
  const data = ['train', '--inputs', 'x.npy', '--targets', 'y.npy', '-q', '-o', 'never.safetensors'];
  for (const [flags, says] of [
    [['--redis', server.url, '--shards', '2'], /--redis needs --run and --shards/],
    [['--run', 'r', '--shards', '2'], /--run and --shards go with --redis/],
    [['--staleness', '1'], /--staleness goes with --workers or --redis/],
    [['--workers', '2', '--redis', server.url, '--run', 'r', '--shards', '2'], /exclude each other/],
    [['--workers', '2', '--trainer', 'bptt'], /go with the ADMM trainer/],
  ] as const) {
    const r = await command([...data, ...flags]).ended;
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, says);
  }
  t.false(fs.existsSync(at('never.safetensors')));
  const env = { ...process.env, JOB_COMPLETION_INDEX: '' };
  const r = await command(['worker', '--redis', server.url, '--run', 'r'], env).ended;
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /JOB_COMPLETION_INDEX/);
});

test('options.parallel with transport redis is validated at the boundary, naming the parameter', (t) => {
  const model = new RNN({ inputSize: d, hiddenSize: 4, outputSize: 2 });
  const make = (parallel: unknown) => () => new AdmmTrainer(model, { mode: 'persistent', parallel } as never);
  const ok = { transport: 'redis', url: 'redis://127.0.0.1:6379', run: 'r', shards: 2 };
  t.notThrows(make(ok));
  t.throws(make({ ...ok, url: 'http://x' }), { instanceOf: RangeError, message: /options\.parallel\.url/ });
  t.throws(make({ ...ok, url: 5 }), { instanceOf: TypeError, message: /options\.parallel\.url/ });
  t.throws(make({ ...ok, run: '' }), { message: /options\.parallel\.run/ });
  t.throws(make({ ...ok, shards: 0 }), { instanceOf: RangeError, message: /options\.parallel\.shards/ });
  t.throws(make({ ...ok, shards: undefined }), { instanceOf: TypeError, message: /options\.parallel\.shards/ });
  t.throws(make({ ...ok, staleness: -1 }), { instanceOf: RangeError, message: /options\.parallel\.staleness/ });
  t.throws(make({ ...ok, data: 'x.npy' }), { instanceOf: TypeError, message: /options\.parallel\.data/ });
  t.throws(make({ ...ok, workers: 2 }), { instanceOf: RangeError, message: /options\.parallel\.workers/ });
  t.throws(make({ ...ok, transport: 'tcp' }), { instanceOf: RangeError, message: /options\.parallel\.transport/ });
  for (const mode of ['adjoint', 'local-duals', 'sweeps'])
    t.notThrows(() => new AdmmTrainer(model, { mode, parallel: { ...ok, staleness: 2 } } as never), mode);
});

test("a configuration whose text does not hash to the run's config hash is refused", (t) => {
  const text = JSON.stringify({ format: 'admmirnn-run/2' });
  const e = t.throws(() => readRunConfig(text + ' ', configHash(text)));
  t.is((e as { code?: string }).code, 'ERR_CONFIG_MISMATCH');
});

test("a mini-batch run's configuration names its multiplier settings, checked when read", (t) => {
  const model = new RNN({ inputSize: d, hiddenSize: 4, outputSize: 2 });
  const options = resolveTrainerOptions({ mode: 'sweeps', sweeps: 2 });
  const layout = trainingLayout({ inputs: x, targets: y, sequenceLength: T }, model, options);
  const { text, hash } = runConfig(layout, options, 2, undefined);
  const config = readRunConfig(text, hash);
  t.is(config.mode, 'sweeps');
  t.deepEqual(config.resync, {
    regressors: 'forward',
    localSweeps: 5,
    gamma: 2,
    sweeps: 2,
    dualWalk: { scale: 1, every: 1 },
  });
  const read = (edit: (c: Record<string, unknown>) => void) => () => {
    const c = JSON.parse(text) as Record<string, unknown>;
    edit(c);
    const edited = JSON.stringify(c);
    return readRunConfig(edited, configHash(edited));
  };
  t.throws(
    read((c) => delete c.resync),
    { instanceOf: TypeError, message: /config\.resync/ }
  );
  t.throws(
    read((c) => (c.resync = { ...config.resync, sweeps: 0 })),
    { message: /config\.resync\.sweeps/ }
  );
  t.throws(
    read((c) => (c.resync = { ...config.resync, gamma: -1 })),
    { message: /config\.resync\.gamma/ }
  );
  t.throws(
    read((c) => (c.resync = { ...config.resync, dualWalk: { scale: 1, every: 2 } })),
    { message: /config\.resync\.dualWalk\.every/ }
  );
  t.throws(
    read((c) => (c.resync = { ...config.resync, dualWalk: 'yes' })),
    { instanceOf: TypeError, message: /config\.resync\.dualWalk/ }
  );
  // A coordinator of an earlier version sent no dualWalk; its workers did not walk.
  const { dualWalk: _walk, ...unwalked } = config.resync!;
  t.deepEqual(read((c) => (c.resync = unwalked))().resync, unwalked);
  t.is(config.format, 'admmirnn-run/2', 'the shards walk: a worker of /1 refuses the run');
  t.is(read((c) => (c.format = 'admmirnn-run/1'))().format, 'admmirnn-run/1', 'a /1 run is still read');
  t.throws(
    read((c) => (c.format = 'admmirnn-run/3')),
    { message: /config\.format/ }
  );
  const regressors = { ...config.resync, regressors: 'both' };
  t.throws(
    read((c) => (c.resync = regressors)),
    { message: /config\.resync\.regressors/ }
  );
  t.throws(
    read((c) => (c.mode = 'bptt')),
    { message: /config\.mode/ }
  );
  const persistent = runConfig(layout, { ...options, mode: 'persistent' }, 2, undefined);
  t.is(readRunConfig(persistent.text, persistent.hash).resync, undefined);
});
