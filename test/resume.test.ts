/**
 * Resume is exact in every mode (issue 15, D7): 2 epochs, a checkpoint, then 2 resumed epochs on a
 * new trainer equal 4 straight, bit for bit — weights, records and run state — for the four ADMM
 * modes (with and without the readout refit at the end of each fit) and for BPTT.
 */
import test from 'ava';
import { FileFormatError } from '../lib/file-error';
import { AdmmTrainer, type AdmmMode, BpttTrainer, type OptimizerOptions, RNN } from '../lib';
import { decodeCheckpoint, encodeCheckpoint } from '../lib/checkpoint';
import { Random } from '../lib/random';
import { checkpointRoundTrip, straightAndResumed } from './helpers/checkpoint-round-trip';
import { type ProblemSpec, randomProblem, withoutTimes } from './problems';

const SPEC: ProblemSpec = { N: 30, T: 5, d: 3, h: 6, K: 3, lossSteps: 'last', loss: 'softmax-cross-entropy' };
const MODES: readonly AdmmMode[] = ['persistent', 'adjoint', 'local-duals', 'sweeps'];

/** The bytes of every weight: bit-for-bit equality, -0 and NaN payloads included. */
function weightBytes(model: RNN): Buffer[] {
  return (['U', 'W', 'b', 'V', 'c'] as const).map((k) => {
    const w = model[k];
    return Buffer.from(w.buffer, w.byteOffset, w.byteLength);
  });
}

/** A checkpoint of `model` and a trainer's state, written and read back through the file format. */
const roundTrip = (model: RNN, trainer: AdmmTrainer | BpttTrainer, iteration: number) =>
  checkpointRoundTrip(model, trainer, iteration, SPEC, 'resume.st');

for (const mode of MODES)
  for (const readoutRefit of [false, true])
    test(`${mode}${readoutRefit ? ' with readoutRefit' : ''}: 2 + 2 resumed iterations equal 4 straight`, async (t) => {
      const options = { mode, batchSize: 8, readoutRefit };
      const { straight, full, four, back, second, rest } = await straightAndResumed(SPEC, options, 'resume.st');
      t.is(back.admmState!.kind, mode === 'persistent' ? 'persistent' : 'mini-batch');
      t.is(back.admmState!.readout !== undefined, readoutRefit);

      t.deepEqual(
        rest.history.map((r) => r.iteration),
        [3, 4]
      );
      t.deepEqual(withoutTimes(rest.history), withoutTimes(four.history.slice(2)));
      t.deepEqual(weightBytes(back.model), weightBytes(straight.model));
      t.deepEqual(rest.refit, four.refit);
      t.deepEqual(second.exportState(), full.exportState());

      // The same on one trainer, without a checkpoint: fit, then fit with resume.
      const again = randomProblem(SPEC);
      const same = new AdmmTrainer(again.model, options);
      await same.fit(again.data, { maxIterations: 2 });
      const continued = await same.fit(again.data, { maxIterations: 2, resume: true });
      t.deepEqual(withoutTimes(continued.history), withoutTimes(four.history.slice(2)));
      t.deepEqual(weightBytes(again.model), weightBytes(straight.model));
    });

test('a mini-batch epoch aborted midway leaves the schedule where it was, so resuming stays exact', async (t) => {
  const options = { mode: 'adjoint' as const, batchSize: 4 };
  const straight = randomProblem(SPEC);
  const four = await new AdmmTrainer(straight.model, options).fit(straight.data, { maxIterations: 4 });
  const p = randomProblem(SPEC);
  const trainer = new AdmmTrainer(p.model, options);
  const controller = new AbortController();
  // Epoch 3 yields to the event loop after its first mini-batch, where the abort lands.
  const onIteration = (r: { iteration: number }) => void (r.iteration === 2 && setImmediate(() => controller.abort()));
  const aborted = await trainer.fit(p.data, { maxIterations: 4, signal: controller.signal, onIteration });
  t.is(aborted.status, 'aborted');
  t.regex(aborted.message, /during iteration 3/);
  t.is(aborted.history.length, 2);
  const state = trainer.exportState();
  t.is(state.iteration, 2);
  const rest = await trainer.fit(p.data, { maxIterations: 2, resume: true });
  t.deepEqual(withoutTimes(rest.history), withoutTimes(four.history.slice(2)));
  t.deepEqual(weightBytes(p.model), weightBytes(straight.model));
});

test('restoreState checks the snapshot against the mode and sizes, and keeps the previous state', async (t) => {
  const p = randomProblem(SPEC);
  const miniBatch = new AdmmTrainer(p.model, { mode: 'sweeps', batchSize: 8 });
  await miniBatch.fit(p.data, { maxIterations: 1 });
  const before = miniBatch.exportState();
  const persistent = new AdmmTrainer(randomProblem(SPEC).model, { mode: 'persistent' });
  await persistent.fit(p.data, { maxIterations: 1 });
  const persistentState = persistent.exportState();

  await t.throwsAsync(miniBatch.restoreState(p.data, persistentState), {
    instanceOf: RangeError,
    message: /snapshot\.kind .*'mini-batch'/,
  });
  await t.throwsAsync(persistent.restoreState(p.data, before), {
    instanceOf: RangeError,
    message: /snapshot\.kind .*'persistent'/,
  });
  if (before.kind !== 'mini-batch') throw new Error('expected a mini-batch snapshot');
  const bad = [
    [{ ...before, rng: { words: [0, 0, 0, 0] } }, /snapshot\.rng\.words .*not all zero/],
    [{ ...before, rng: { words: [1, 2, 3] } }, /snapshot\.rng\.words/],
    [{ ...before, rng: { words: [1, 2, 3, 2 ** 32] } }, /snapshot\.rng\.words\[3\]/],
    [{ ...before, rho: [1, -1, 1] }, /snapshot\.rho\[1\]/],
    [{ ...before, iteration: -1 }, /snapshot\.iteration/],
    [{ ...before, readout: { V: new Float32Array(2), c: new Float32Array(SPEC.K) } }, /snapshot\.readout\.V/],
    [
      { ...before, readout: { V: p.model.V.slice(), c: new Float32Array(SPEC.K).fill(NaN) } },
      /snapshot\.readout\.c .*finite/,
    ],
  ] as const;
  for (const [snapshot, message] of bad)
    await t.throwsAsync(miniBatch.restoreState(p.data, snapshot as never), { message });
  t.deepEqual(miniBatch.exportState(), before);
  t.deepEqual(persistent.exportState(), persistentState);
});

test('the checkpoint reader checks the mini-batch state and names the entry', async (t) => {
  const p = randomProblem(SPEC);
  const trainer = new AdmmTrainer(p.model, { mode: 'adjoint', batchSize: 8 });
  await trainer.fit(p.data, { maxIterations: 1 });
  const good = roundTrip(p.model, trainer, 1);
  const rewrite = (edit: (admm: Record<string, unknown>) => void): Buffer => {
    const admm = JSON.parse(good.metadata.admm);
    edit(admm);
    const file = encodeCheckpoint({ ...good, admmState: undefined });
    const n = Number(file.readBigUInt64LE(0));
    const header = JSON.parse(file.subarray(8, 8 + n).toString());
    header.__metadata__.admm = JSON.stringify(admm);
    const json = Buffer.from(JSON.stringify(header).padEnd(n + 64, ' '));
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([head, json, file.subarray(8 + n)]);
  };
  t.deepEqual(
    decodeCheckpoint(
      rewrite(() => undefined),
      'f.st'
    ).admmState,
    good.admmState
  );
  const refused = (edit: (admm: Record<string, unknown>) => void) => () => decodeCheckpoint(rewrite(edit), 'f.st');
  t.throws(
    refused((a) => (a.kind = 'bogus')),
    { instanceOf: RangeError, message: /f\.st: __metadata__\.admm\.kind/ }
  );
  t.throws(
    refused((a) => delete a.rng),
    { instanceOf: FileFormatError, message: /f\.st: __metadata__\.admm\.rng/ }
  );
  t.throws(
    refused((a) => (a.rho = [1, 1])),
    { instanceOf: RangeError, message: /__metadata__\.admm\.rho/ }
  );
  t.throws(
    refused((a) => (a.iteration = 0.5)),
    { instanceOf: RangeError, message: /__metadata__\.admm\.iteration/ }
  );
});

const OPTIMIZERS: readonly OptimizerOptions[] = [
  { kind: 'adam', lr: 0.01 },
  { kind: 'rmsprop', lr: 0.01, centered: true, momentum: 0.5 },
  { kind: 'momentum', lr: 0.05 },
  { kind: 'adagrad', lr: 0.05 },
];

for (const optimizer of OPTIMIZERS)
  test(`BPTT with ${optimizer.kind}: 2 + 2 resumed epochs equal 4 straight, bit for bit`, async (t) => {
    const options = { optimizer, batchSize: 8 };
    const straight = randomProblem(SPEC);
    const four = await new BpttTrainer(straight.model, options).fit(straight.data, { maxIterations: 4 });

    const half = randomProblem(SPEC);
    const first = new BpttTrainer(half.model, options);
    await first.fit(half.data, { maxIterations: 2 });
    const back = roundTrip(half.model, first, 2);
    t.is(back.bpttState!.optimizer.steps, 8);
    const second = new BpttTrainer(back.model, back.trainer!.options);
    second.restoreState(back.bpttState!);
    const rest = await second.fit(half.data, { maxIterations: 2, resume: true });
    t.deepEqual(
      rest.history.map((r) => r.iteration),
      [3, 4]
    );
    t.deepEqual(withoutTimes(rest.history), withoutTimes(four.history.slice(2)));
    t.deepEqual(weightBytes(back.model), weightBytes(straight.model));
  });

test('BpttTrainer.restoreState checks the optimizer state against the optimizer and the model', async (t) => {
  const p = randomProblem(SPEC);
  const adam = new BpttTrainer(p.model, { batchSize: 8 });
  await adam.fit(p.data, { maxIterations: 1 });
  const state = adam.exportState();
  t.is(state.optimizer.buffers.length, 5);
  const rmsprop = new BpttTrainer(p.model, { optimizer: { kind: 'rmsprop' } });
  const before = rmsprop.exportState();
  t.throws(() => rmsprop.restoreState(state), {
    instanceOf: TypeError,
    message: /snapshot\.optimizer\.buffers\[0\] must be an array of 3/,
  });
  const short = { ...state, optimizer: { ...state.optimizer, buffers: state.optimizer.buffers.slice(1) } };
  t.throws(() => adam.restoreState(short), {
    instanceOf: TypeError,
    message: /snapshot\.optimizer\.buffers must be an array of 5/,
  });
  const buffers = [[new Float32Array(1), new Float32Array(1)], ...state.optimizer.buffers.slice(1)];
  const wrongSize = { ...state, optimizer: { ...state.optimizer, buffers } };
  t.throws(() => adam.restoreState(wrongSize), { instanceOf: RangeError, message: /optimizer\.buffers\[0\]\[0\]/ });
  const zero = { ...state, rng: { words: [0, 0, 0, 0] as [number, number, number, number] } };
  t.throws(() => adam.restoreState(zero), { instanceOf: RangeError, message: /snapshot\.rng/ });
  t.deepEqual(rmsprop.exportState(), before);
});

test('Random.getState / fromState continue the sequence exactly, the spare normal included', (t) => {
  const a = new Random(7);
  a.shuffle(new Int32Array(10));
  a.normal(); // leaves a spare normal
  const b = Random.fromState(JSON.parse(JSON.stringify(a.getState())));
  const draws = (r: Random) => Array.from({ length: 6 }, () => [r.normal(), r.nextUint32()]);
  t.deepEqual(draws(b), draws(a));
  t.throws(() => Random.fromState({ words: [1, 2, 3, 4], spareNormal: Infinity }, 'r'), {
    instanceOf: RangeError,
    message: /r\.spareNormal/,
  });
  t.throws(() => Random.fromState(null, 'r'), { instanceOf: TypeError, message: /^r must/ });
});
