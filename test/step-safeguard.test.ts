/**
 * The mini-batch modes' step safeguard (issue 16, item 2): a batch update that raises the batch
 * objective is rejected and retried at a larger ρ; an epoch whose training loss rises is undone;
 * the record carries the ρ of every epoch; the safeguard's state resumes exactly.
 */
import test from 'ava';
import { AdmmTrainer, type AdmmMode } from '../lib';
import { interpolateWeights } from '../lib/admm/guarded-batch';
import { weightDecay } from '../lib/admm/persistent/residuals';
import { DEFAULT_SAFEGUARD, StepSafeguard } from '../lib/admm/step-safeguard';
import { copyWeights } from '../lib/training/rollback';
import { straightAndResumed } from './helpers/checkpoint-round-trip';
import { fitFresh, type ProblemSpec, randomProblem, withoutTimes } from './problems';

const SPEC: ProblemSpec = { N: 40, T: 5, d: 3, h: 6, K: 3, lossSteps: 'last', loss: 'softmax-cross-entropy' };
const MINI_BATCH_MODES: readonly AdmmMode[] = ['adjoint', 'local-duals', 'sweeps'];
/** ρ and η so small that the first full-batch step overshoots (loss 1.15 → 80 without the safeguard). */
const OVERSHOOT = { mode: 'adjoint' as const, batchSize: 40, rho: 1e-3, eta: 1e-4 };

test('StepSafeguard shortens a rising step by 1/backoff until it does not rise, then carries the scale', async (t) => {
  const guard = new StepSafeguard({ ...DEFAULT_SAFEGUARD, backoff: 4, relax: 2, maxAttempts: 6, momentum: 0 });
  const tried: number[] = [];
  const lengths: number[] = [];
  let undone = 0,
    rho1 = NaN;
  // The objective rises (value > 10) while the step is longer than the one at ρ1 = 1: at length α
  // of the run's step (at ρ1), the update is the one at ρ1 / α.
  const attempt = {
    run: async (rho: [number, number, number], scale: number) => {
      tried.push(rho[0]);
      rho1 = rho[0];
      t.is(+(rho[0] / 0.01).toPrecision(12), scale);
      return { before: 10, after: 10 + Math.log(1 / rho1) };
    },
    shorten: async (alpha: number) => {
      lengths.push(alpha);
      return 10 + Math.log(alpha / rho1);
    },
    undo: () => void undone++,
    extend: async () => t.fail('no momentum') as never,
    retract: () => t.fail('no momentum'),
  };
  await guard.update([0.01, 0.02, 0.03], attempt);
  t.deepEqual(tried, [0.01], 'one update, then shortenings of it');
  t.deepEqual(lengths, [1 / 4, 1 / 16, 1 / 64, 1 / 256]);
  t.is(undone, 0);
  t.is(guard.scale, 256 / 2);
  const epoch = guard.takeEpoch([0.01, 0.02, 0.03]);
  t.is(epoch.rejections, 4);
  t.is(epoch.skipped, 0);
  // The ρ recorded is the one the accepted length is equivalent to: the run's ρ / α.
  t.deepEqual(
    epoch.rho.map((r) => +r.toPrecision(12)),
    [2.56, 5.12, 7.68]
  );
  t.deepEqual(
    epoch.rhoMax.map((r) => +r.toPrecision(12)),
    [2.56, 5.12, 7.68]
  );
  // The next batch starts from the carried scale: its first run is at 128 × ρ.
  tried.length = lengths.length = 0;
  await guard.update([0.01, 0.02, 0.03], attempt);
  t.deepEqual(
    tried.map((r) => +r.toPrecision(12)),
    [1.28]
  );
  t.deepEqual(lengths, []);
  t.is(guard.scale, 64);
  guard.takeEpoch([0.01, 0.02, 0.03]);

  t.true(guard.acceptEpoch(5, 0));
  t.true(guard.acceptEpoch(5 * (1 + DEFAULT_SAFEGUARD.epochTolerance), 0));
  t.false(guard.acceptEpoch(6, 0));
  t.is(guard.scale, 64 * 4);
  t.true(guard.canRetryEpoch(0));
  // A rejected epoch puts a floor under the scale that accepted batches do not relax below.
  t.is(guard.floor, 256);
  const noMomentum = { extend: async () => undefined, retract: () => t.fail('nothing to retract') };
  const noShortening = async () => t.fail('an accepted update is not shortened') as never;
  await guard.update([1, 1, 1], {
    ...noMomentum,
    run: async () => ({ before: 1, after: 0 }),
    shorten: noShortening,
    undo: () => undefined,
  });
  t.is(guard.scale, 256);
  t.true(guard.acceptEpoch(5, 1));
  t.is(guard.floor, 128);
  guard.takeEpoch([1, 1, 1]);

  // Never accepted: the batch is skipped with its weights put back once; NaN counts as a rise;
  // the length never goes below the one at maxScale.
  const stubborn = new StepSafeguard({ ...DEFAULT_SAFEGUARD, backoff: 4, maxAttempts: 4, maxScale: 20 });
  let undoneAll = 0;
  const shortened: number[] = [];
  const nan = async (alpha: number) => (shortened.push(alpha), NaN);
  await stubborn.update([1, 1, 1], {
    ...noMomentum,
    run: async () => ({ before: 1, after: NaN }),
    shorten: nan,
    undo: () => void undoneAll++,
  });
  t.is(undoneAll, 1);
  t.deepEqual(shortened, [1 / 4, 1 / 16, 1 / 20]);
  t.is(stubborn.scale, 20);
  const skipped = stubborn.takeEpoch([1, 1, 1]);
  t.is(skipped.skipped, 1);
  t.is(skipped.rejections, 4);
  t.deepEqual(skipped.rho, [1, 1, 1]);
});

test('StepSafeguard keeps the momentum step on an accepted update only if it lowers the objective', async (t) => {
  const guard = new StepSafeguard({ ...DEFAULT_SAFEGUARD, momentum: 0.5 });
  const calls: string[] = [];
  const attempt = (after: number, extended: number | undefined) => ({
    run: async () => (calls.push('run'), { before: 10, after }),
    shorten: async (alpha: number) => (calls.push(`shorten ${alpha}`), 9),
    undo: () => void calls.push('undo'),
    extend: async (mu: number) => (calls.push(`extend ${mu}`), extended),
    retract: () => void calls.push('retract'),
  });
  t.is(await guard.update([1, 1, 1], attempt(9, 8)), 8);
  t.deepEqual(calls.splice(0), ['run', 'extend 0.5']);
  // A rise is taken back: the accepted update stays.
  t.is(await guard.update([1, 1, 1], attempt(9, 9.5)), 9);
  t.deepEqual(calls.splice(0), ['run', 'extend 0.5', 'retract']);
  // Tried after a shortened update too; a non-finite objective counts as a rise.
  t.is(await guard.update([1, 1, 1], attempt(11, NaN)), 9);
  t.deepEqual(calls.splice(0), ['run', 'shorten 0.5', 'extend 0.5', 'retract']);
  // No previous step (an epoch's first batch): nothing to take back.
  t.is(await guard.update([1, 1, 1], attempt(9, undefined)), 9);
  t.deepEqual(calls.splice(0), ['run', 'extend 0.5']);
  // A skipped batch gets none.
  const skipping = new StepSafeguard({ ...DEFAULT_SAFEGUARD, maxAttempts: 1 });
  t.is(await skipping.update([1, 1, 1], attempt(11, 1)), undefined);
  t.deepEqual(calls.splice(0), ['run', 'undo']);
  t.is(guard.takeEpoch([1, 1, 1]).momentum, 1);
  // momentum 0: never tried.
  const plain = new StepSafeguard({ ...DEFAULT_SAFEGUARD, momentum: 0 });
  t.is(await plain.update([1, 1, 1], attempt(9, 1)), 9);
  t.deepEqual(calls.splice(0), ['run']);
});

test('a full-batch update that would raise the objective is rejected and ρ grows until it does not', async (t) => {
  const unguarded = randomProblem(SPEC);
  const initial = unguarded.model.evaluate(unguarded.data).loss;
  const raw = await new AdmmTrainer(unguarded.model, { ...OVERSHOOT, safeguard: false }).fit(unguarded.data, {
    maxIterations: 1,
  });
  t.true(raw.history[0].loss > 10 * initial, `without the safeguard the step overshoots: ${raw.history[0].loss}`);
  t.is(raw.history[0].safeguard, undefined);

  const guarded = randomProblem(SPEC);
  const result = await new AdmmTrainer(guarded.model, OVERSHOOT).fit(guarded.data, { maxIterations: 3 });
  const first = result.history[0].safeguard!;
  t.true(first.rejections >= 1);
  t.is(first.skipped, 0);
  const least = OVERSHOOT.rho * DEFAULT_SAFEGUARD.backoff ** first.rejections * 0.999;
  t.true(first.rho[0] > least, `accepted at ρ1 = ${first.rho[0]}`);
  t.true(first.scale > 1);
  let previous = initial;
  for (const r of result.history) {
    t.true(r.loss <= previous, `epoch ${r.iteration}: ${r.loss} after ${previous}`);
    previous = r.loss;
  }
});

test('a rejected update is shortened along its own direction: the accepted weights lie on its segment', async (t) => {
  // One full batch: the unguarded epoch is the update the guarded one starts from.
  const full = randomProblem(SPEC);
  const start = copyWeights(full.model);
  await new AdmmTrainer(full.model, { ...OVERSHOOT, safeguard: false }).fit(full.data, { maxIterations: 1 });
  const stepped = copyWeights(full.model);

  const { model, data } = randomProblem(SPEC);
  t.deepEqual(copyWeights(model), start);
  const objective = () => {
    const e = model.evaluate(data);
    return e.loss * e.count + weightDecay(model, 1e-3 * SPEC.N);
  };
  const before = objective();
  const result = await new AdmmTrainer(model, OVERSHOOT).fit(data, { maxIterations: 1 });
  const s = result.history[0].safeguard!;
  t.true(s.rejections >= 2, `rejections ${s.rejections}`);
  t.is(s.skipped, 0);
  t.is(s.epochRejections, 0);
  const expected = model.clone();
  interpolateWeights(expected, start, stepped, DEFAULT_SAFEGUARD.backoff ** -s.rejections);
  t.deepEqual(model.weights(), expected.weights());
  t.true(objective() <= before, `objective ${before} → ${objective()}`);
});

for (const mode of MINI_BATCH_MODES)
  test(`${mode}: the records carry the accepted ρ; the training loss never rises beyond tolerance`, async (t) => {
    const { model, data } = randomProblem({ ...SPEC, N: 48 });
    let previous = model.evaluate(data).loss;
    const result = await new AdmmTrainer(model, { mode, batchSize: 8, rho: 0.05 }).fit(data, { maxIterations: 4 });
    t.is(result.history.length, 4);
    for (const r of result.history) {
      const s = r.safeguard!;
      t.truthy(s, `epoch ${r.iteration} has a safeguard record`);
      for (let i = 0; i < 3; i++) {
        t.true(s.rho[i] >= r.rho[i] && s.rhoMax[i] >= s.rho[i] * (1 - 1e-12) && Number.isFinite(s.rhoMax[i]));
      }
      t.true(Number.isInteger(s.rejections) && Number.isInteger(s.skipped) && Number.isInteger(s.epochRejections));
      // 6 batches a pass, the first without a previous step; a pass undone is run again.
      const most = 5 * (1 + s.epochRejections);
      t.true(Number.isInteger(s.momentum) && s.momentum! <= most, `momentum kept ${s.momentum} times (≤ ${most})`);
      t.true(s.scale >= 1);
      t.true(
        r.loss <= previous * (1 + DEFAULT_SAFEGUARD.epochTolerance),
        `epoch ${r.iteration}: ${r.loss} after ${previous}`
      );
      previous = r.loss;
    }
  });

test('an epoch whose loss rises is undone and rerun at a larger ρ, else its start weights are kept', async (t) => {
  // Strong weight decay: each batch step lowers its objective (loss + decay) by shrinking the
  // weights of a trained model, and so raises the loss.
  const trained = async () => {
    const p = randomProblem(SPEC);
    await new AdmmTrainer(p.model, { mode: 'adjoint', batchSize: 10 }).fit(p.data, { maxIterations: 3 });
    return p;
  };
  const decay = { mode: 'adjoint' as const, batchSize: 10, beta: 5 };
  const plain = await trained();
  const start = plain.model.evaluate(plain.data).loss;
  const raw = await new AdmmTrainer(plain.model, { ...decay, safeguard: false }).fit(plain.data, { maxIterations: 1 });
  t.true(raw.history[0].loss > start * 1.01, `without the safeguard: ${start} → ${raw.history[0].loss}`);

  const { model, data } = await trained();
  const before = Object.fromEntries(Object.entries(model.weights()).map(([k, v]) => [k, v.slice()]));
  const safeguard = { epochTolerance: 0, maxEpochAttempts: 2 };
  const result = await new AdmmTrainer(model, { ...decay, safeguard }).fit(data, { maxIterations: 1 });
  const s = result.history[0].safeguard!;
  t.is(s.epochRejections, 2);
  t.true(s.epochSkipped);
  t.true(s.scale >= DEFAULT_SAFEGUARD.backoff ** 2 / DEFAULT_SAFEGUARD.relax ** 10);
  t.is(result.history[0].loss, start);
  for (const [k, v] of Object.entries(model.weights())) t.deepEqual(v, before[k], `${k} unchanged`);
});

test('resume keeps the safeguard: 2 + 2 epochs through a checkpoint equal 4 straight (scale > 1)', async (t) => {
  const options = { ...OVERSHOOT, batchSize: 10 };
  const {
    straight,
    full,
    four,
    saved: state,
    back,
    second,
    rest,
  } = await straightAndResumed(SPEC, options, 'safeguard.st');
  if (state.kind !== 'mini-batch') throw new Error('expected a mini-batch snapshot');
  t.true(state.safeguard!.scale > 1, `scale ${state.safeguard!.scale}`);
  t.true(Number.isFinite(state.safeguard!.epochLoss));
  t.deepEqual(back.admmState, state);
  t.deepEqual(withoutTimes(rest.history), withoutTimes(four.history.slice(2)));
  t.deepEqual(second.exportState(), full.exportState());
  t.deepEqual(back.model.weights(), straight.model.weights());
});

test('options.safeguard and the snapshot entry are validated', async (t) => {
  const { model, data } = randomProblem(SPEC);
  t.throws(() => new AdmmTrainer(model, { safeguard: 'yes' as never }), {
    instanceOf: TypeError,
    message: /options\.safeguard/,
  });
  t.throws(() => new AdmmTrainer(model, { safeguard: { backoff: 1 } }), {
    instanceOf: RangeError,
    message: /options\.safeguard\.backoff/,
  });
  t.throws(() => new AdmmTrainer(model, { safeguard: { maxAttempts: 0 } }), {
    instanceOf: RangeError,
    message: /options\.safeguard\.maxAttempts/,
  });
  t.throws(() => new AdmmTrainer(model, { safeguard: { momentum: 1.5 } }), {
    instanceOf: RangeError,
    message: /options\.safeguard\.momentum/,
  });
  t.is((new AdmmTrainer(model, { safeguard: { momentum: 0 } }).options.safeguard as { momentum: number }).momentum, 0);
  t.throws(() => new AdmmTrainer(model, { safeguard: { epochTolerance: -1 } }), {
    instanceOf: RangeError,
    message: /options\.safeguard\.epochTolerance/,
  });
  t.is(new AdmmTrainer(model, { safeguard: false }).options.safeguard, false);
  t.throws(() => new AdmmTrainer(model, { safeguard: { batches: 'no' as never } }), {
    instanceOf: TypeError,
    message: /options\.safeguard\.batches/,
  });
  t.throws(() => new AdmmTrainer(model, { safeguard: { batches: false, momentum: 0.5 } }), {
    instanceOf: RangeError,
    message: /options\.safeguard\.momentum/,
  });
  t.throws(() => new AdmmTrainer(model, { mode: 'persistent', safeguard: { batches: false } }), {
    instanceOf: RangeError,
    message: /options\.safeguard\.batches/,
  });
  const epochOnly = new AdmmTrainer(model, { safeguard: { batches: false } }).options.safeguard;
  t.like(epochOnly, { batches: false, momentum: 0 });
  const trainer = new AdmmTrainer(model, { mode: 'adjoint', batchSize: 8 });
  await trainer.fit(data, { maxIterations: 1 });
  const good = trainer.exportState();
  const bad = (safeguard: unknown) => trainer.restoreState(data, { ...good, safeguard } as never);
  await t.throwsAsync(bad({ scale: 0.5 }), { instanceOf: RangeError, message: /snapshot\.safeguard\.scale/ });
  await t.throwsAsync(bad({ scale: 2, epochLoss: NaN }), {
    instanceOf: RangeError,
    message: /snapshot\.safeguard\.epochLoss/,
  });
});

test('StepSafeguard without the batch rule runs each update at the carried scale and relaxes it to the floor', (t) => {
  const guard = new StepSafeguard({ ...DEFAULT_SAFEGUARD, momentum: 0, relax: 2, batches: false });
  guard.restart({ scale: 8, floor: 2 });
  const first = guard.unjudged([1, 2, 3]);
  t.deepEqual(first, { rho: [8, 16, 24], scale: 8 });
  t.is(guard.unjudged([1, 1, 1]).scale, 4);
  t.is(guard.unjudged([1, 1, 1]).scale, 2);
  t.is(guard.unjudged([1, 1, 1]).scale, 2, 'never below the floor');
  const epoch = guard.takeEpoch([1, 1, 1]);
  t.is(epoch.rejections, 0);
  t.deepEqual(epoch.rhoMax, [8, 16, 24]);
});

test('without the batch rule no update is judged, the epoch rule still holds, and a fit is reproducible', async (t) => {
  const options = { ...OVERSHOOT, batchSize: 10, safeguard: { batches: false } };
  const a = await fitFresh(SPEC, options);
  t.deepEqual(await fitFresh(SPEC, options), a);
  const judged = await fitFresh(SPEC, { ...OVERSHOOT, batchSize: 10 });
  t.true(
    judged.history.some((r) => r.safeguard!.rejections > 0),
    'with the batch rule this run shortens updates'
  );
  for (const r of a.history) {
    t.is(r.safeguard!.rejections, 0);
    t.is(r.safeguard!.momentum, 0);
  }
  // The overshooting steps raise the epochs' loss, so the epoch rule undoes them and raises the scale.
  t.true(a.history.some((r) => r.safeguard!.epochRejections > 0));
  t.notDeepEqual(a.weights, judged.weights);
});

test('without the batch rule, one shard over worker threads is bit for bit one process', async (t) => {
  const options = { mode: 'adjoint' as const, batchSize: 10, safeguard: { batches: false }, stepClip: 1.25 };
  t.deepEqual(await fitFresh(SPEC, { ...options, parallel: { workers: 1 } }), await fitFresh(SPEC, options));
});
