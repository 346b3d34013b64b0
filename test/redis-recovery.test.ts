/**
 * Automatic recovery of a synchronous sharded run over Redis (issue 17), with real processes: the
 * `admmirnn train … --redis … --shard-checkpoints DIR` coordinator and `admmirnn worker` processes.
 * A worker killed with kill -9 mid-run and replaced (same --shard), a paused worker replaced and
 * then woken (its late write refused), the coordinator killed and started again, redis-server
 * killed and restarted with AOF (the run goes on) and without (every process started again):
 * each run ends with weights bit-identical to the fault-free run. The true-loss safeguard is on (the
 * default): this run's iterations are rejected from the 14th on, so every rollback restores its state.
 * A lost worker that nobody replaces still fails the run with ERR_SHARD_LOST, after the timeout.
 * The mini-batch mode 'local-duals' (stateless shards: the coordinator's file alone) recovers from
 * a killed worker and a killed coordinator alike, its step safeguard on (the file keeps its state).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { AdmmTrainer, RNN } from '../lib';
import { readCheckpoint, saveCheckpoint } from '../lib/checkpoint';
import type { AdmmTrainerOptions } from '../lib/admm/options';
import type { MiniBatchIterationRecord } from '../lib/admm/record';
import { LoopbackTransport } from '../lib/parallel/loopback';
import { MiniBatchCoordinator } from '../lib/parallel/mini-batch-coordinator';
import { CoordinatorCheckpoints, committedIteration, coordinatorFile, guardSnapshot } from '../lib/parallel/recovery';
import { type CliProcess, type Ended, startCli, writeTinyProblem } from './helpers/cli-process';
import { sharedRedisServer, startRedisServer } from './helpers/redis-server';
import { shardedProblem } from './helpers/sharded-problem';
import { randomProblem, withoutTimes } from './problems';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'admmirnn-recovery-'));
const at = (name: string) => path.join(dir, name);
const { d } = writeTinyProblem(dir);

const server = sharedRedisServer(test);
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Iterations of every run, and the checkpoint after which each fault strikes (well before the end). */
const ITERATIONS = 40,
  EVERY = 4,
  STRIKE = 8;
/** Short, so a killed worker is noticed soon; the live ones refresh it every third of it. */
const HEARTBEAT = '1500';

const command = (args: string[]): CliProcess => startCli(dir, args);

/** The mini-batch runs: 'local-duals' in batches of 8 (3 batches per epoch). */
const LOCAL_DUALS = ['--mode', 'local-duals', '--batch-size', '8'];

const train = (out: string, mode = ['--mode', 'persistent']) => [
  'train',
  '--inputs',
  'x.npy',
  '--targets',
  'y.npy',
  ...mode,
  '--hidden',
  '6',
  '--seed',
  '3',
  '-n',
  String(ITERATIONS),
  '--json',
  '-o',
  out,
];

/** The fault-free weights: the threads run, which equals the fault-free Redis run bit for bit (redis-cli.test.ts). */
const references = new Map<string, Promise<Record<string, Float32Array>>>();
function faultFree(mode?: string[]): Promise<Record<string, Float32Array>> {
  const key = JSON.stringify(mode ?? null);
  if (!references.has(key))
    references.set(
      key,
      (async () => {
        const out = `reference-${references.size}.safetensors`;
        const r = await command([...train(out, mode), '-q', '--workers', '2']).ended;
        if (r.code !== 0) throw new Error(`the reference run failed: ${r.stderr}`);
        return (await readCheckpoint(at(out))).model.weights();
      })()
    );
  return references.get(key)!;
}

/** A run of 2 shards: its name, checkpoint directory, and the commands of its coordinator and workers. */
function recoverableRun(label: string, url = server.url, extra: string[] = [], mode?: string[]) {
  const run = server.runName(label);
  const checkpoints = at(`${run}-checkpoints`);
  const out = `${run}.safetensors`;
  const coordinator = () =>
    command([
      ...train(out, mode),
      '--redis',
      url,
      '--run',
      run,
      '--shards',
      '2',
      '--shard-checkpoints',
      checkpoints,
      '--checkpoint-every',
      String(EVERY),
      '--lease',
      '1000',
      ...extra,
    ]);
  const worker = (shard: number) =>
    command(['worker', '--redis', url, '--run', run, '--shard', String(shard), '--heartbeat', HEARTBEAT]);
  /** Resolves once shard `shard` has written its file of checkpoint `iteration`. */
  const written = (shard: number, iteration: number) =>
    waitFor(() => fs.existsSync(path.join(checkpoints, `shard-${shard}-${iteration}.safetensors`)));
  /** Resolves once the coordinator has committed checkpoint `iteration` (or a later one). */
  const committed = (iteration: number) =>
    waitFor(() => fs.existsSync(path.join(checkpoints, 'coordinator.safetensors'))).then(async () => {
      while (((await committedIteration(checkpoints, run)) ?? 0) < iteration)
        await new Promise((resolve) => setTimeout(resolve, 5));
    });
  return { run, checkpoints, out, coordinator, worker, written, committed };
}

async function waitFor(condition: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms in vain`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Every weight array of `out` compared byte for byte with the fault-free run's (Buffer.compare: 0 each). */
async function compareWithFaultFree(out: string, mode?: string[]): Promise<Record<string, number>> {
  const [want, got] = [await faultFree(mode), (await readCheckpoint(at(out))).model.weights()];
  const bytes = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return Object.fromEntries(
    Object.keys(want).map((k) => [k, Buffer.compare(bytes(got[k as 'U']), bytes(want[k as 'U']))])
  );
}

const zeros = { U: 0, W: 0, b: 0, V: 0, c: 0 };
const running = (c: CliProcess) => c.child.exitCode === null && c.child.signalCode === null;
const summary = (e: Ended) => JSON.parse(e.stdout) as { status: string; iteration: number };

/**
 * Starts the run's coordinator and two workers, waits for `reached` and kills worker 1 with kill -9
 * while the run is still going; the processes, for the test's own checks of the recovery.
 */
async function workerKilled(
  t: ExecutionContext,
  r: ReturnType<typeof recoverableRun>,
  reached: () => Promise<unknown>
) {
  const workers = [r.worker(0), r.worker(1)];
  const coordinator = r.coordinator();
  t.teardown(() => [coordinator, ...workers].forEach((c) => c.child.kill('SIGKILL')));
  await reached();
  t.true(running(coordinator), 'the run ended before the fault');
  workers[1].child.kill('SIGKILL');
  t.is((await workers[1].ended).signal, 'SIGKILL');
  return { workers, coordinator };
}

test.serial(
  'a worker killed with kill -9 mid-run is replaced; the run rolls back and ends bit-identical',
  async (t) => {
    const r = recoverableRun('kill9');
    const { workers, coordinator } = await workerKilled(t, r, () => r.written(1, STRIKE));
    workers.push(r.worker(1)); // its replacement: same shard index, a new incarnation
    const ended = await coordinator.ended;
    t.is(ended.code, 0, ended.stderr);
    t.regex(ended.stderr, /shard 1 lost/);
    const back = Number(/rolled back to the checkpoint of iteration (\d+)/.exec(ended.stderr)?.[1]);
    // Shard 1 wrote its file of STRIKE: the last commit is that one or the one before.
    t.true(back >= STRIKE - EVERY && back % EVERY === 0, `rolled back to ${back}`);
    t.like(summary(ended), { status: 'max-iterations', iteration: ITERATIONS });
    for (const w of [workers[0], workers[2]]) t.is((await w.ended).code, 0);
    t.deepEqual(await compareWithFaultFree(r.out), zeros);
    // Shard files older than the last committed checkpoint are gone; the coordinator's names the last one.
    // (A save that kill -9 interrupted may leave a `.…tmp` beside them: the atomic writer's, not a checkpoint.)
    const files = fs
      .readdirSync(r.checkpoints)
      .filter((f) => !f.startsWith('.'))
      .sort();
    t.true(files.includes('coordinator.safetensors'));
    t.true(
      files.every((f) => f === 'coordinator.safetensors' || /^shard-[01]-(36|40)\.safetensors$/.test(f)),
      `${files}`
    );
    t.is((await readCheckpoint(path.join(r.checkpoints, 'coordinator.safetensors'))).sharded?.iteration, ITERATIONS);
  }
);

test.serial(
  "a paused worker is replaced; the zombie's late write is refused and the run ends bit-identical",
  async (t) => {
    const r = recoverableRun('zombie');
    const workers = [r.worker(0), r.worker(1)];
    const coordinator = r.coordinator();
    t.teardown(() => [coordinator, ...workers].forEach((c) => [c.child.kill('SIGCONT'), c.child.kill('SIGKILL')]));
    await r.written(1, STRIKE);
    t.true(running(coordinator), 'the run ended before the fault');
    workers[1].child.kill('SIGSTOP');
    workers.push(r.worker(1));
    await waitFor(() => /rolled back to the checkpoint of iteration \d+/.test(coordinator.stderr()));
    // The zombie wakes while the run is held (so it cannot see the run end first): its next write is refused.
    coordinator.child.kill('SIGSTOP');
    workers[1].child.kill('SIGCONT');
    const zombie = await workers[1].ended;
    coordinator.child.kill('SIGCONT');
    t.is(zombie.code, 1);
    t.regex(zombie.stderr, /ERR_STALE_WRITER shard 1: token \S+ was superseded/);
    const ended = await coordinator.ended;
    t.is(ended.code, 0, ended.stderr);
    t.is((await workers[2].ended).code, 0);
    t.deepEqual(await compareWithFaultFree(r.out), zeros);
  }
);

/**
 * Kills the coordinator of `r` with kill -9 once `fault` resolves, runs the same command again, and
 * checks that it continues from a checkpoint at or after `earliest` and ends bit-identical.
 */
async function coordinatorRestarted(
  t: ExecutionContext,
  r: ReturnType<typeof recoverableRun>,
  fault: () => Promise<unknown>,
  earliest: number,
  mode?: string[]
): Promise<void> {
  const workers = [r.worker(0), r.worker(1)];
  const first = r.coordinator();
  const commands = [first, ...workers];
  t.teardown(() => commands.forEach((c) => c.child.kill('SIGKILL')));
  await fault();
  t.true(running(first), 'the run ended before the fault');
  first.child.kill('SIGKILL');
  t.is((await first.ended).signal, 'SIGKILL');
  // The same command again: it waits out the dead one's lease, then goes on from the committed checkpoint.
  const second = r.coordinator();
  commands.push(second);
  const ended = await second.ended;
  t.is(ended.code, 0, ended.stderr);
  const from = Number(/continuing from the checkpoint of iteration (\d+)/.exec(ended.stderr)?.[1]);
  t.true(from >= earliest && from % EVERY === 0, `continued from ${from}`);
  t.like(summary(ended), { status: 'max-iterations', iteration: ITERATIONS });
  for (const w of workers) t.is((await w.ended).code, 0);
  t.deepEqual(await compareWithFaultFree(r.out, mode), zeros);
}

test.serial('the coordinator killed with kill -9 and started again continues the run, bit-identical', async (t) => {
  const r = recoverableRun('coordinator');
  await coordinatorRestarted(t, r, () => r.written(1, STRIKE), EVERY);
});

test.serial('redis-server killed and restarted (AOF on) mid-run: the run goes on, bit-identical', async (t) => {
  const redis = await startRedisServer({ appendOnly: true });
  t.teardown(() => redis.stop());
  const r = recoverableRun('redis-restart', redis.url);
  const workers = [r.worker(0), r.worker(1)];
  const coordinator = r.coordinator();
  t.teardown(() => [coordinator, ...workers].forEach((c) => c.child.kill('SIGKILL')));
  await r.written(1, STRIKE);
  t.true(running(coordinator), 'the run ended before the fault');
  await redis.restart();
  const ended = await coordinator.ended;
  t.is(ended.code, 0, ended.stderr);
  t.like(summary(ended), { status: 'max-iterations', iteration: ITERATIONS });
  for (const w of workers) t.is((await w.ended).code, 0);
  t.deepEqual(await compareWithFaultFree(r.out), zeros);
});

test.serial(
  'redis-server restarted without AOF: every process is refused; started again, the run resumes, bit-identical',
  async (t) => {
    const redis = await startRedisServer({ appendOnly: false });
    t.teardown(() => redis.stop());
    const r = recoverableRun('redis-lost', redis.url);
    const first = [r.coordinator(), r.worker(0), r.worker(1)];
    const commands = [...first];
    t.teardown(() => commands.forEach((c) => c.child.kill('SIGKILL')));
    await r.written(1, STRIKE);
    t.true(running(first[0]), 'the run ended before the fault');
    await redis.restart(); // empty: the run's keys, its epoch and the workers' tokens are gone
    for (const c of first) {
      const ended = await c.ended;
      t.is(ended.code, 1, ended.stderr);
      t.regex(ended.stderr, /ERR_STALE_WRITER .* superseded by none/);
    }
    const again = [r.coordinator(), r.worker(0), r.worker(1)];
    commands.push(...again);
    const ended = await again[0].ended;
    t.is(ended.code, 0, ended.stderr);
    t.regex(ended.stderr, /continuing from the checkpoint of iteration \d+/);
    t.like(summary(ended), { status: 'max-iterations', iteration: ITERATIONS });
    for (const w of again.slice(1)) t.is((await w.ended).code, 0);
    t.deepEqual(await compareWithFaultFree(r.out), zeros);
  }
);

test.serial(
  "'local-duals': a worker killed with kill -9 is replaced; the run rolls back to the coordinator's file, bit-identical",
  async (t) => {
    const r = recoverableRun('kill9-local-duals', server.url, [], LOCAL_DUALS);
    const { workers, coordinator } = await workerKilled(t, r, () => r.committed(STRIKE));
    // Replaced once the run noticed the loss (a replacement before that answers in its place: no rollback).
    await waitFor(() => /shard 1 lost/.test(coordinator.stderr()));
    workers.push(r.worker(1));
    const ended = await coordinator.ended;
    t.is(ended.code, 0, ended.stderr);
    const back = Number(/rolled back to the checkpoint of iteration (\d+)/.exec(ended.stderr)?.[1]);
    t.true(back >= STRIKE && back % EVERY === 0, `rolled back to ${back}`);
    t.like(summary(ended), { status: 'max-iterations', iteration: ITERATIONS });
    for (const w of [workers[0], workers[2]]) t.is((await w.ended).code, 0);
    t.deepEqual(await compareWithFaultFree(r.out, LOCAL_DUALS), zeros);
    // Stateless shards: the coordinator's file is the whole checkpoint.
    const files = fs.readdirSync(r.checkpoints).filter((f) => !f.startsWith('.'));
    t.deepEqual(files, ['coordinator.safetensors']);
    const last = (await readCheckpoint(path.join(r.checkpoints, files[0]))).sharded;
    t.is(last?.iteration, ITERATIONS);
    t.true(Number.isFinite(last?.safeguard?.epochLoss), 'the file keeps the step safeguard (on by default)');
  }
);

test.serial("'local-duals': a worker replaced at once after kill -9 answers in its place; bit-identical", async (t) => {
  const r = recoverableRun('replaced-local-duals', server.url, [], LOCAL_DUALS);
  const { workers, coordinator } = await workerKilled(t, r, () => r.committed(STRIKE));
  workers.push(r.worker(1));
  const ended = await coordinator.ended;
  t.is(ended.code, 0, ended.stderr);
  t.like(summary(ended), { status: 'max-iterations', iteration: ITERATIONS });
  for (const w of [workers[0], workers[2]]) t.is((await w.ended).code, 0);
  t.deepEqual(await compareWithFaultFree(r.out, LOCAL_DUALS), zeros);
});

test.serial(
  "'local-duals': the coordinator killed with kill -9 and started again continues, bit-identical",
  async (t) => {
    const r = recoverableRun('coordinator-local-duals', server.url, [], LOCAL_DUALS);
    await coordinatorRestarted(t, r, () => r.committed(STRIKE), STRIKE, LOCAL_DUALS);
  }
);

test.serial(
  'a lost worker that nobody replaces fails the run with ERR_SHARD_LOST after --replacement-timeout',
  async (t) => {
    const r = recoverableRun('unreplaced', server.url, ['--replacement-timeout', '300']);
    const { coordinator } = await workerKilled(t, r, () => r.written(1, STRIKE));
    const ended = await coordinator.ended;
    t.is(ended.code, 1, ended.stderr);
    t.regex(ended.stderr, /shard 1 lost and not replaced within 300 ms/);
    t.false(fs.existsSync(at(r.out)) && (await readCheckpoint(at(r.out))).trainer?.iteration === ITERATIONS);
  }
);

test('recovery options and flags are validated, naming the parameter', async (t) => {
  const model = new RNN({ inputSize: d, hiddenSize: 4, outputSize: 2 });
  const make =
    (parallel: unknown, mode = 'persistent') =>
    () =>
      new AdmmTrainer(model, { mode, parallel } as never);
  const ok = { transport: 'redis', url: 'redis://127.0.0.1:6379', run: 'r', shards: 2 };
  t.notThrows(make({ ...ok, checkpoints: { dir: at('ok'), every: 3 }, replacementMs: 0, leaseMs: 500 }));
  const named = (name: string, instanceOf: typeof TypeError) => ({ instanceOf, message: new RegExp(name) });
  t.throws(make({ ...ok, checkpoints: 'dir' }), named('options\\.parallel\\.checkpoints', TypeError));
  t.throws(make({ ...ok, checkpoints: { dir: '', every: 1 } }), named('checkpoints\\.dir', TypeError));
  t.throws(make({ ...ok, checkpoints: { dir: 'x', every: 0 } }), named('checkpoints\\.every', RangeError));
  t.throws(make({ ...ok, checkpoints: { dir: 'x' } }), named('checkpoints\\.every', TypeError));
  t.throws(make({ ...ok, replacementMs: -1 }), named('options\\.parallel\\.replacementMs', RangeError));
  t.throws(make({ ...ok, leaseMs: 10 }), named('options\\.parallel\\.leaseMs', RangeError));
  t.throws(make({ ...ok, onRecovery: 'log' }), named('options\\.parallel\\.onRecovery', TypeError));
  t.throws(make({ workers: 2, checkpoints: { dir: 'x', every: 1 } }), named("checkpoints.*'threads'", RangeError));
  for (const mode of ['adjoint', 'local-duals', 'sweeps'])
    t.notThrows(make({ ...ok, checkpoints: { dir: at('ok'), every: 3 } }, mode), mode);
  for (const [flags, says] of [
    [['--shard-checkpoints', 'ck'], /--shard-checkpoints, --replacement-timeout and --lease go with --redis/],
    [
      ['--redis', server.url, '--run', 'r', '--shards', '2', '--replacement-timeout', '5'],
      /goes with --shard-checkpoints/,
    ],
    [['--redis', server.url, '--run', 'r', '--shards', '2', '--lease', '5'], /--lease/],
  ] as const) {
    const r = await command(['train', '--inputs', 'x.npy', '--targets', 'y.npy', '-q', ...flags]).ended;
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, says);
  }
});

test("another run's recovery checkpoint is refused (ERR_CONFIG_MISMATCH), never restored", async (t) => {
  const model = new RNN({ inputSize: d, hiddenSize: 4, outputSize: 2, init: { scheme: 'normal', seed: 1 } });
  const ckDir = at('foreign');
  const ours = { run: 'ours', shards: 2, configHash: 'sha256:ours' };
  await new CoordinatorCheckpoints(ckDir, { ...ours, run: 'theirs' }).save(model, 4, [1, 1, 1]);
  await t.throwsAsync(() => new CoordinatorCheckpoints(ckDir, ours).load(), {
    code: 'ERR_CONFIG_MISMATCH',
    message: /belongs to run theirs/,
  } as never);
  await new CoordinatorCheckpoints(ckDir, { ...ours, configHash: 'sha256:other' }).save(model, 4, [1, 1, 1]);
  await t.throwsAsync(() => new CoordinatorCheckpoints(ckDir, ours).load(), { message: /configuration/ });
  await new CoordinatorCheckpoints(ckDir, ours).save(model, 4, [2, 3, 4]);
  t.like(await new CoordinatorCheckpoints(ckDir, ours).load(), { iteration: 4, rho: [2, 3, 4] });
  // The record is checked on write too: a bad one is never written.
  const config = { inputSize: d, hiddenSize: 4, outputSize: 2 };
  const bad = { model, config, sharded: { ...ours, iteration: -1, rho: [1, 1, 1] as [number, number, number] } };
  await t.throwsAsync(() => saveCheckpoint(at('bad.safetensors'), bad), { message: /checkpoint\.sharded\.iteration/ });
});

test("the coordinator's recovery checkpoint keeps the safeguard's factor and last accepted loss, checked", async (t) => {
  const model = new RNN({ inputSize: d, hiddenSize: 4, outputSize: 2, init: { scheme: 'normal', seed: 1 } });
  const id = { run: 'guarded', shards: 2, configHash: 'sha256:guarded' };
  const checkpoints = new CoordinatorCheckpoints(at('guarded'), id);
  await checkpoints.save(model, 8, [2, 3, 4], guardSnapshot({ scale: 4, loss: 0.25 }));
  t.like(await checkpoints.load(), { iteration: 8, safeguard: { scale: 4, epochLoss: 0.25 } });
  // The start (no loss measured yet), and a run without the safeguard (no record).
  await checkpoints.save(model, 0, [2, 3, 4], guardSnapshot({ scale: 1, loss: undefined }));
  t.deepEqual((await checkpoints.load())!.safeguard, { scale: 1 });
  await checkpoints.save(model, 0, [2, 3, 4]);
  t.is((await checkpoints.load())!.safeguard, undefined);
  const config = { inputSize: d, hiddenSize: 4, outputSize: 2 };
  const sharded = { ...id, iteration: 8, rho: [1, 1, 1] as [number, number, number] };
  for (const [safeguard, says] of [
    [{ scale: 0.5 }, /sharded\.safeguard\.scale/],
    [{ scale: 2, epochLoss: -1 }, /sharded\.safeguard\.epochLoss/],
    ['on', /sharded\.safeguard/],
  ] as const)
    await t.throwsAsync(
      () => saveCheckpoint(at('bad-guard.safetensors'), { model, config, sharded: { ...sharded, safeguard } } as never),
      {
        message: says,
      }
    );
});

test("a mini-batch coordinator started from its file continues the step safeguard's state, bit for bit", async (t) => {
  // Small ρ and η: batch updates are rejected, and the scale the safeguard carries exceeds 1 at the checkpoint.
  const spec = { N: 25, T: 5, d: 3, h: 6, K: 3, lossSteps: 'last', loss: 'softmax-cross-entropy', seed: 3 } as const;
  const options: AdmmTrainerOptions = { mode: 'adjoint', batchSize: 8, rho: 0.05, eta: 0.01 };
  const id = { run: 'mini-batch-guard', shards: 2, configHash: 'sha256:guard' };
  const aborted = () => new Error('aborted');
  const run = async (epochs: number, ckDir?: string) => {
    const { model, data } = randomProblem(spec);
    const { shape, parts, miniBatch } = shardedProblem(model, data, options, 2);
    const transport = new LoopbackTransport(parts);
    const recovery =
      ckDir === undefined
        ? undefined
        : { every: 2, checkpoints: new CoordinatorCheckpoints(ckDir, id), replacementMs: 0 };
    const coordinator = new MiniBatchCoordinator(model, shape, transport, { ...miniBatch, recovery });
    const history: MiniBatchIterationRecord[] = [];
    try {
      await coordinator.start();
      while (coordinator.completed < epochs) history.push(await coordinator.epoch(undefined, aborted));
    } finally {
      await transport.close();
    }
    return { history, weights: model.weights() };
  };
  const straight = await run(6);
  const ckDir = at('mini-batch-guard');
  await run(4, ckDir);
  const saved = (await readCheckpoint(coordinatorFile(ckDir))).sharded!;
  t.is(saved.iteration, 4);
  t.true(saved.safeguard!.scale > 1, `scale ${saved.safeguard?.scale}`);
  t.true(Number.isFinite(saved.safeguard!.epochLoss));
  const continued = await run(6, ckDir);
  t.deepEqual(withoutTimes(continued.history), withoutTimes(straight.history.slice(4)));
  t.deepEqual(continued.weights, straight.weights);
  // The same file without the safeguard's state: the run goes on from scale 1 and departs.
  const { model } = randomProblem(spec);
  const ck = await readCheckpoint(coordinatorFile(ckDir));
  model.setWeights(ck.model.weights());
  await new CoordinatorCheckpoints(ckDir, id).save(model, 4, saved.rho);
  const forgetful = await run(6, ckDir);
  t.notDeepEqual(forgetful.weights, straight.weights);
});
