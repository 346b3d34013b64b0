/**
 * Each error code means one thing (issue 18, item 6): a table of the situations that throw each
 * code, every one checked for its code, its class and a message of that one meaning; the codes in
 * lib/ and native/ are exactly the table's and README "Errors"'s; BpttTrainer never throws an
 * AdmmError; an async native op's rejection carries its caller's stack.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import type { Worker } from 'node:worker_threads';
import fs from 'node:fs';
import path from 'node:path';
import { AdmmError, AdmmTrainer, BpttTrainer, RNN, TrainerError, setMemoryLimit } from '../lib';
import type { TrainerErrorCode } from '../lib';
import { native } from '../lib/native';
import { randomProblem } from './problems';

const root = path.resolve(__dirname, '..', '..');
const small = (seed = 1) =>
  randomProblem({ N: 12, T: 4, d: 3, h: 5, K: 3, lossSteps: 'last', loss: 'softmax-cross-entropy', seed });
const admm = (mode: 'persistent' | 'adjoint' | 'sweeps') => new AdmmTrainer(small().model, { mode });
const one = (v: number) => Float32Array.of(v);
const parallelTrainer = (model: RNN) => new AdmmTrainer(model, { mode: 'persistent', parallel: { workers: 2 } });
const nanState = () => ({
  n: 1,
  P: one(0),
  M1: one(0),
  S: one(NaN),
  M2: one(0),
  A: one(0),
  TA: one(0),
  rho1: 1,
  rho2: 1,
});

/** A weight solve from a Gram that is negative definite (no jitter makes it positive). */
function indefiniteGram() {
  const shape = { N: 1, T: 1, d: 1, h: 1, K: 1, everyStep: false },
    m = 3;
  const G = new Float32Array(m * m);
  for (let j = 0; j < m; j++) G[j * m + j] = -1e6;
  return { shape, G, R: new Float32Array(m), U: one(0), W: one(0), b: one(0), rho1: 1, beta: 0 };
}

type Case = { name: string; error: 'TrainerError' | 'AdmmError' | 'Error'; run: () => unknown };
interface Meaning {
  code: TrainerErrorCode;
  /** Every message of this code says this, and no other code's does. */
  says: RegExp;
  cases: Case[];
}

/** Runs `code` in a child process with the native fault switch set; returns its "code message" line. */
function faultyChild(kind: 'out-of-memory' | 'internal'): { code: string; message: string } {
  const lib = path.join(__dirname, '..', 'lib');
  const hooks = JSON.stringify(path.join(lib, 'internal', 'test-hooks'));
  const script = `const { native } = require(${JSON.stringify(path.join(lib, 'native'))});
require(${hooks}).nativeHooks.injectFault({ site: 'chunks', kind: '${kind}' });
const n = 1 << 20;
try { native.tanh({ n, A: new Float32Array(n), out: new Float32Array(n) }); console.log('{}'); }
catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, name: e.name })); }`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`child exited with ${r.status}: ${r.stderr}`);
  const e = JSON.parse(r.stdout) as { code?: string; message?: string; name?: string };
  if (e.message === undefined) return { code: '', message: 'no error' };
  const error = Object.assign(new Error(e.message), { code: e.code });
  error.name = e.name ?? '';
  throw error;
}

const TABLE: Meaning[] = [
  {
    code: 'ERR_BUSY',
    says: /in use by|a fit is (already )?running/,
    cases: [
      {
        name: 'a second fit on a running AdmmTrainer',
        error: 'AdmmError',
        run: async () => {
          const { model, data } = small(),
            trainer = new AdmmTrainer(model, { mode: 'persistent' });
          const running = trainer.fit(data, { maxIterations: 2 });
          try {
            await trainer.fit(data);
          } finally {
            await running;
          }
        },
      },
      {
        name: 'restoreState on a BpttTrainer while it fits',
        error: 'TrainerError',
        run: async () => {
          const { model, data } = small(),
            trainer = new BpttTrainer(model, { batchSize: 4 });
          const running = trainer.fit(data, { maxIterations: 2 });
          try {
            trainer.restoreState({} as never);
          } finally {
            await running;
          }
        },
      },
      {
        name: 'a BpttTrainer fit on a model another fit holds',
        error: 'TrainerError',
        run: async () => {
          const { model, data } = small();
          const running = new AdmmTrainer(model, { mode: 'persistent' }).fit(data, { maxIterations: 2 });
          try {
            await new BpttTrainer(model).fit(data);
          } finally {
            await running;
          }
        },
      },
      {
        name: 'an async prediction on a model predicting',
        error: 'TrainerError',
        run: async () => {
          const { model, data } = small(),
            first = model.predictAsync(data);
          try {
            await model.predictAsync(data);
          } finally {
            await first;
          }
        },
      },
    ],
  },
  {
    code: 'ERR_NOT_INITIALISED',
    says: /call initialise\(data\) or fit\(data\) first/,
    cases: [
      { name: "step() before initialise, 'persistent'", error: 'AdmmError', run: () => admm('persistent').step() },
      { name: 'exportState() before initialise', error: 'AdmmError', run: () => admm('persistent').exportState() },
      { name: "epoch() before initialise, 'adjoint'", error: 'AdmmError', run: () => admm('adjoint').epoch() },
    ],
  },
  {
    code: 'ERR_WRONG_MODE',
    says: /belong(s)? to (mode 'persistent'|the mini-batch modes)/,
    cases: [
      { name: "epoch() in mode 'persistent'", error: 'AdmmError', run: () => admm('persistent').epoch() },
      { name: "step() in mode 'adjoint'", error: 'AdmmError', run: () => admm('adjoint').step() },
      { name: "a block method in mode 'sweeps'", error: 'AdmmError', run: () => admm('sweeps').updateOutputs() },
    ],
  },
  {
    code: 'ERR_CHUNKED_STATE',
    says: /the single-block methods need the unchunked state/,
    cases: [
      {
        name: 'updatePreactivations() on a state swept in chunks',
        error: 'AdmmError',
        run: async () => {
          const { model, data } = small(),
            trainer = new AdmmTrainer(model, { mode: 'persistent', chunkSize: 4 });
          await trainer.initialise(data);
          trainer.updatePreactivations();
        },
      },
    ],
  },
  {
    code: 'ERR_OUT_OF_MEMORY',
    says: /more than the memory limit|out of memory/,
    cases: [
      {
        name: 'a model above the memory limit',
        error: 'TrainerError',
        run: () => withLimit(1024, () => new RNN({ inputSize: 8, hiddenSize: 64, outputSize: 4 })),
      },
      {
        name: 'a BpttTrainer fit whose state is above the memory limit',
        error: 'TrainerError',
        run: () => {
          const { model, data } = small();
          return withLimit(64, () => new BpttTrainer(model).fit(data));
        },
      },
      { name: 'a failed allocation on a kernel thread', error: 'Error', run: () => faultyChild('out-of-memory') },
    ],
  },
  {
    code: 'ERR_NON_FINITE',
    says: /not finite|non-finite/,
    cases: [
      { name: 'aStep on a NaN state', error: 'Error', run: () => native.aStep(nanState()) },
      { name: 'aStepAsync on a NaN state', error: 'Error', run: () => native.aStepAsync(nanState()) },
    ],
  },
  {
    code: 'ERR_NOT_POSITIVE_DEFINITE',
    says: /not positive definite|singular/,
    cases: [
      {
        name: 'a weight solve from a negative definite Gram',
        error: 'Error',
        run: () => native.solveUWbFromGram(indefiniteGram()),
      },
    ],
  },
  {
    code: 'ERR_INTERNAL',
    says: /^\w+: internal error: /,
    cases: [{ name: 'a std::exception on a kernel worker thread', error: 'Error', run: () => faultyChild('internal') }],
  },
  {
    code: 'ERR_SHARD_LOST',
    says: /shards? [\d, ]+ lost/,
    cases: [
      {
        name: 'a parallel fit whose shard thread is terminated',
        error: 'AdmmError',
        run: async () => {
          const { model, data } = small(),
            trainer = parallelTrainer(model);
          const par = () => (trainer as unknown as { engine: { transport: { worker(i: number): Worker } } }).engine;
          const kill = async () => void (await par().transport.worker(1).terminate());
          try {
            await trainer.fit(data, { maxIterations: 5, onIteration: kill });
          } finally {
            await trainer.close();
          }
        },
      },
    ],
  },
  {
    code: 'ERR_PARALLEL_STATE',
    says: /keeps it in its shards/,
    cases: [
      {
        name: 'exportState() on a parallel run',
        error: 'AdmmError',
        run: async () => {
          const { model, data } = small(),
            trainer = parallelTrainer(model);
          try {
            await trainer.fit(data, { maxIterations: 1 });
            trainer.exportState();
          } finally {
            await trainer.close();
          }
        },
      },
    ],
  },
];

async function withLimit<T>(bytes: number, run: () => T | Promise<T>): Promise<T> {
  setMemoryLimit(bytes);
  try {
    return await run();
  } finally {
    setMemoryLimit(null);
  }
}

for (const { code, says, cases } of TABLE)
  for (const c of cases)
    test.serial(`${code}: ${c.name}`, async (t) => {
      const e = await t.throwsAsync(async () => c.run());
      t.is((e as { code?: string }).code, code, String(e));
      t.is(e?.name, c.error, String(e));
      if (c.error !== 'Error')
        t.true(e instanceof TrainerError && e instanceof AdmmError === (c.error === 'AdmmError'), String(e));
      t.regex(String(e?.message), says);
      for (const other of TABLE)
        if (other.code !== code) t.notRegex(String(e?.message), other.says, `also says ${other.code}`);
    });

/** Every 'ERR_…' string literal in the sources under `dir` (lib/: TypeScript; native/: C++). */
function codesIn(dir: string): Set<string> {
  const codes = new Set<string>();
  for (const file of fs.readdirSync(path.join(root, dir), { recursive: true }) as string[]) {
    if (!/\.(ts|mts|cpp|h)$/.test(file)) continue;
    const text = fs.readFileSync(path.join(root, dir, file), 'utf8');
    for (const [, code] of text.matchAll(/['"](ERR_[A-Z_]+)['"]/g)) codes.add(code);
  }
  return codes;
}

/** The codes of RedisTransportError, from its type (lib/parallel/redis/errors.ts; tested in test/redis-*.test.ts). */
function redisCodes(): string[] {
  const text = fs.readFileSync(path.join(root, 'lib', 'parallel', 'redis', 'errors.ts'), 'utf8');
  const start = text.indexOf('export type RedisTransportErrorCode');
  return [...text.slice(start, text.indexOf(';', start)).matchAll(/'(ERR_[A-Z_]+)'/g)].map(([, code]) => code);
}

test('the codes in lib/ and native/ are the table\'s or the Redis transport\'s, each in README "Errors"', (t) => {
  const tabled = TABLE.map((m) => m.code);
  const known = [...new Set([...tabled, ...redisCodes()])].sort();
  t.deepEqual([...new Set([...codesIn('lib'), ...codesIn('native')])].sort(), known);
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const errors = readme.slice(readme.indexOf('### Errors'), readme.indexOf('\n### ', readme.indexOf('### Errors') + 1));
  const listed = [...errors.matchAll(/^- `(ERR_[A-Z_]+)`/gm)].map(([, code]) => code);
  t.deepEqual([...listed].sort(), [...tabled].sort(), 'one README line per TrainerError code');
  const redis = errors.slice(errors.indexOf('RedisTransportError'));
  for (const code of redisCodes()) t.true(redis.includes(`\`${code}\``), `README "Errors" names ${code}`);
});

test("BpttTrainer throws no AdmmError: its own, the model's and the memory limit's errors are TrainerErrors", (t) => {
  const sources = ['lib/bptt', 'lib/training', 'lib/rnn.ts', 'lib/memory-limit.ts'].flatMap((p) => {
    const full = path.join(root, p);
    return fs.statSync(full).isDirectory() ? fs.readdirSync(full).map((f) => path.join(full, f)) : [full];
  });
  for (const file of sources) t.false(/\bAdmmError\b/.test(fs.readFileSync(file, 'utf8')), path.relative(root, file));
});

test('an async native op rejected by a bad input carries the calling function in its stack', async (t) => {
  async function callerOfTheAsyncKernel(): Promise<void> {
    await native.aStepAsync(nanState());
  }
  const e = await t.throwsAsync(callerOfTheAsyncKernel(), { code: 'ERR_NON_FINITE' });
  t.regex(String(e?.stack), /^Error: aStep: S \+ M2 is not finite/);
  t.regex(String(e?.stack), /\n\s+at callerOfTheAsyncKernel \(/);
  // A rejection from argument checking (before the kernel is queued) keeps its caller too.
  async function callerWithBadArguments(): Promise<void> {
    await native.aStepAsync({ ...nanState(), n: -1 });
  }
  const bad = await t.throwsAsync(callerWithBadArguments(), { instanceOf: RangeError });
  t.regex(String(bad?.stack), /\n\s+at callerWithBadArguments \(/);
});

test('a rejected async op nobody handles is still reported as an unhandled rejection', (t) => {
  const native = JSON.stringify(path.join(__dirname, '..', 'lib', 'native'));
  const script = `const { native } = require(${native});
const one = (v) => Float32Array.of(v);
native.aStepAsync({ n: 1, P: one(0), M1: one(0), S: one(NaN), M2: one(0), A: one(0), TA: one(0), rho1: 1, rho2: 1 });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 1, r.stderr);
  t.regex(r.stderr, /aStep: S \+ M2 is not finite/);
});
