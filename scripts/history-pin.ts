/**
 * Fixed-seed runs of every training mode, recorded in full (records, final weights, the persistent
 * run's state) so a refactoring can prove it left the arithmetic alone: test/history-pin.test.ts
 * compares a fresh run with test/fixtures/history-pin.json bit for bit.
 *
 *   npm run build:ts && node dist/scripts/history-pin.js --write   # regenerate the fixture
 *
 * Regenerate it only for a deliberate change of the arithmetic, and say so in the commit.
 * Records are normalised: wall-clock fields dropped, fields that are NaN (or objects of NaNs) left
 * out, so a record type that omits a field a mode never measures compares equal to a padded one.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  AdmmTrainer,
  type AdmmTrainerOptions,
  BpttTrainer,
  type BpttTrainerOptions,
  getThreads,
  setThreads,
} from '../lib';
import { type ProblemSpec, randomProblem } from '../test/problems';

export const PIN_FIXTURE = path.join(__dirname, '..', '..', 'test', 'fixtures', 'history-pin.json');

type PinProblem = Omit<ProblemSpec, 'seed'>;

interface PinCase {
  name: string;
  problem: PinProblem;
  trainer: 'admm' | 'bptt';
  options: AdmmTrainerOptions | BpttTrainerOptions;
  iterations: number;
}

const CLASSES: PinProblem = { N: 12, T: 4, d: 3, h: 5, K: 3, loss: 'softmax-cross-entropy', lossSteps: 'last' };
const VALUES: PinProblem = { N: 12, T: 4, d: 3, h: 5, K: 2, loss: 'squared-error', lossSteps: 'every' };
const TOKENS: PinProblem = { ...CLASSES, d: 6, tokens: true, lossSteps: 'every' };

/**
 * Every mode of lib/admm/options.ts (persistent: unchunked, chunked, linearised, safeguarded, with
 * and without its default dual walk) and BPTT.
 */
export const PIN_CASES: readonly PinCase[] = [
  { name: 'persistent', problem: CLASSES, trainer: 'admm', options: { mode: 'persistent' }, iterations: 3 },
  {
    name: "persistent without the dual walk (the paper's loop)",
    problem: CLASSES,
    trainer: 'admm',
    options: { mode: 'persistent', dualWalk: false },
    iterations: 3,
  },
  {
    name: 'persistent chunked',
    problem: VALUES,
    trainer: 'admm',
    options: { mode: 'persistent', chunkSize: 5, lossSteps: 'every' },
    iterations: 3,
  },
  {
    name: 'persistent residual-balancing, tokens',
    problem: TOKENS,
    trainer: 'admm',
    options: { mode: 'persistent', lossSteps: 'every', rhoPolicy: { kind: 'residual-balancing', mu: 2 } },
    iterations: 3,
  },
  {
    name: 'persistent linearized',
    problem: CLASSES,
    trainer: 'admm',
    options: { mode: 'persistent', update: 'linearized', rho: 10 },
    iterations: 3,
  },
  { name: 'adjoint', problem: CLASSES, trainer: 'admm', options: { batchSize: 5 }, iterations: 3 },
  {
    name: 'adjoint regression, trust region, readout refit',
    problem: VALUES,
    trainer: 'admm',
    options: { batchSize: 5, lossSteps: 'every', trustRegion: 0.05, readoutRefit: true },
    iterations: 3,
  },
  {
    name: 'local-duals',
    problem: CLASSES,
    trainer: 'admm',
    options: { mode: 'local-duals', batchSize: 5, regressors: 'auxiliary' },
    iterations: 3,
  },
  {
    name: 'local-duals without the step clip',
    problem: CLASSES,
    trainer: 'admm',
    options: { mode: 'local-duals', batchSize: 5, regressors: 'auxiliary', stepClip: false },
    iterations: 3,
  },
  {
    name: 'sweeps',
    problem: TOKENS,
    trainer: 'admm',
    options: { mode: 'sweeps', batchSize: 5, lossSteps: 'every' },
    iterations: 3,
  },
  {
    name: 'sweeps without the dual walk (three sweeps from zero duals)',
    problem: TOKENS,
    trainer: 'admm',
    options: { mode: 'sweeps', batchSize: 5, lossSteps: 'every', dualWalk: false },
    iterations: 3,
  },
  {
    name: 'persistent readout refit',
    problem: CLASSES,
    trainer: 'admm',
    options: { mode: 'persistent', readoutRefit: true },
    iterations: 2,
  },
  {
    name: 'persistent true-loss safeguard',
    problem: CLASSES,
    trainer: 'admm',
    options: { mode: 'persistent', safeguard: true, warmStart: 'none', rho: 0.1 },
    iterations: 4,
  },
  // The defaults before the step safeguard and the warm start: the arithmetic they left unchanged.
  {
    name: 'persistent without warm start, β 1e-3',
    problem: CLASSES,
    trainer: 'admm',
    options: { mode: 'persistent', warmStart: 'none', beta: 1e-3 },
    iterations: 3,
  },
  {
    name: 'adjoint without safeguard',
    problem: CLASSES,
    trainer: 'admm',
    options: { batchSize: 5, safeguard: false },
    iterations: 3,
  },
  { name: 'bptt adam', problem: CLASSES, trainer: 'bptt', options: { batchSize: 5 }, iterations: 3 },
  {
    name: 'bptt momentum, clipped, regression',
    problem: VALUES,
    trainer: 'bptt',
    options: { batchSize: 5, lossSteps: 'every', optimizer: { kind: 'momentum', lr: 0.05 }, clipGradNorm: 1 },
    iterations: 3,
  },
];

const problem = (spec: PinProblem) => randomProblem({ ...spec, seed: 7 });

/** SHA-256 (first 16 hex digits) of the arrays' bytes, in order. */
function checksum(arrays: readonly Float32Array[]): string {
  const hash = createHash('sha256');
  for (const a of arrays) hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return hash.digest('hex').slice(0, 16);
}

const isNaNValue = (v: unknown): boolean =>
  (typeof v === 'number' && Number.isNaN(v)) ||
  (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => isNaNValue(x)));

/** A record without wall-clock fields and without NaN fields; non-finite numbers as strings (JSON has none). */
function normalise(record: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (key === 'seconds' || key === 'elapsed' || key === 'trainSeconds' || isNaNValue(value)) continue;
    const finite = (_key: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v);
    out[key] = JSON.parse(JSON.stringify(value, finite));
  }
  return out;
}

export interface PinnedRun {
  status: string;
  history: Record<string, unknown>[];
  weights: string;
  /** Persistent mode: checksum of the exported auxiliaries and duals. */
  state?: string;
  refit?: Record<string, unknown>;
}

export interface PinnedHistories {
  /** The CPU the fixture was made on: OpenBLAS picks its kernels by CPU, so another one may round differently. */
  cpu: string;
  runs: Record<string, PinnedRun>;
}

async function run(c: PinCase): Promise<PinnedRun> {
  const { model, data } = problem(c.problem);
  const pinned: PinnedRun = { status: '', history: [], weights: '' };
  if (c.trainer === 'bptt') {
    const trainer = new BpttTrainer(model, c.options as BpttTrainerOptions);
    const result = await trainer.fit(data, { maxIterations: c.iterations });
    pinned.status = result.status;
    pinned.history = result.history.map(normalise);
  } else {
    const trainer = new AdmmTrainer(model, c.options as AdmmTrainerOptions);
    const result = await trainer.fit(data, { maxIterations: c.iterations });
    pinned.status = result.status;
    pinned.history = result.history.map(normalise);
    if (result.refit) pinned.refit = normalise(result.refit);
    const snapshot = trainer.exportState();
    if (snapshot.kind !== 'mini-batch')
      pinned.state = checksum([snapshot.A, snapshot.S, snapshot.TA, snapshot.M1, snapshot.M2, snapshot.O, snapshot.M3]);
  }
  const w = model.weights();
  pinned.weights = checksum([w.U, w.W, w.b, w.V, w.c]);
  return pinned;
}

/** Runs every case with one BLAS and one elementwise thread (the fixture must not depend on the machine's cores). */
export async function pinnedHistories(): Promise<PinnedHistories> {
  const before = getThreads();
  setThreads({ blas: 1, elementwise: 1 });
  try {
    const runs: Record<string, PinnedRun> = {};
    for (const c of PIN_CASES) runs[c.name] = await run(c);
    return { cpu: os.cpus()[0]?.model ?? 'unknown', runs };
  } finally {
    setThreads(before);
  }
}

if (require.main === module) {
  pinnedHistories()
    .then((pinned) => {
      const text = JSON.stringify(pinned, null, 1) + '\n';
      if (process.argv.includes('--write')) writeFileSync(PIN_FIXTURE, text);
      else process.stdout.write(text);
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
