/**
 * The persistent loop's true-loss safeguard (on by default, also in a synchronous sharded run; off
 * under bounded staleness): an iteration whose true loss rises is rejected (weights back,
 * auxiliaries resynchronised, ρ raised), and resuming stays exact.
 */
import test from 'ava';
import { AdmmTrainer } from '../lib';
import { DEFAULT_SAFEGUARD } from '../lib/admm/step-safeguard';
import { straightAndResumed } from './helpers/checkpoint-round-trip';
import { type ProblemSpec, randomProblem, withoutTimes } from './problems';

const SPEC: ProblemSpec = { N: 40, T: 5, d: 3, h: 6, K: 3, lossSteps: 'last', loss: 'softmax-cross-entropy' };
/** ρ small enough that the loop's true loss rises without the safeguard (1.13 → 1.62 at iteration 2). */
const FAST = { mode: 'persistent' as const, rho: 0.01, warmStart: 'none' as const };

test('a persistent iteration whose true loss rises is rejected: weights kept, ρ raised', async (t) => {
  const plain = randomProblem(SPEC);
  const raw = await new AdmmTrainer(plain.model, { ...FAST, safeguard: false }).fit(plain.data, { maxIterations: 8 });
  t.true(
    raw.history.some((r, i) => i > 0 && r.loss > raw.history[i - 1].loss * 1.1),
    'without it the loss rises'
  );
  t.deepEqual(new AdmmTrainer(plain.model, { mode: 'persistent' }).options.safeguard, DEFAULT_SAFEGUARD);
  const sharded = { mode: 'persistent', parallel: { workers: 2 } } as const;
  t.deepEqual(new AdmmTrainer(plain.model, sharded).options.safeguard, DEFAULT_SAFEGUARD, 'a synchronous sharded run');
  const stale = { mode: 'persistent', parallel: { workers: 2, staleness: 1 } } as const;
  t.is(new AdmmTrainer(plain.model, stale).options.safeguard, false, 'bounded staleness has none');
  t.is(new AdmmTrainer(plain.model, { ...stale, safeguard: false }).options.safeguard, false);
  for (const safeguard of [true, { backoff: 3 }])
    t.throws(() => new AdmmTrainer(plain.model, { ...stale, safeguard }), {
      instanceOf: RangeError,
      message: /options\.safeguard.*staleness/,
    });

  const { model, data } = randomProblem(SPEC);
  let previous = model.evaluate(data).loss;
  let weights = model.weights().W.slice();
  let rejected = 0;
  const trainer = new AdmmTrainer(model, { ...FAST, safeguard: true });
  const result = await trainer.fit(data, {
    maxIterations: 8,
    onIteration: (r) => {
      const s = r.safeguard!;
      t.true(
        r.loss <= previous * (1 + DEFAULT_SAFEGUARD.epochTolerance),
        `iteration ${r.iteration}: ${r.loss} after ${previous}`
      );
      if (s.rejections > 0) {
        rejected++;
        t.deepEqual(model.W, weights, 'a rejected iteration keeps the weights');
        t.true(trainer.state!.rho[0] > r.rho[0] * 2, 'and raises ρ');
        // The auxiliaries are a forward pass again: o gives the true loss.
        t.deepEqual(trainer.state!.O, model.predict(data));
      }
      previous = r.loss;
      weights = model.W.slice();
    },
  });
  t.is(result.history.length, 8);
  t.true(rejected >= 1);
  t.true(result.history[result.history.length - 1].loss < raw.history[raw.history.length - 1].loss);
});

test('persistent safeguard: 2 + 2 resumed iterations through a checkpoint equal 4 straight', async (t) => {
  const options = { ...FAST, safeguard: true };
  const {
    straight,
    four,
    saved: state,
    back,
    rest,
  } = await straightAndResumed(SPEC, options, 'persistent-safeguard.st');
  t.true(
    four.history.some((r) => r.safeguard!.rejections > 0),
    'the run has a rejection to resume across'
  );
  if (state.kind === 'mini-batch') throw new Error('expected a persistent snapshot');
  t.true(state.safeguard!.scale > 1);
  t.deepEqual(back.admmState!.safeguard, state.safeguard);
  t.deepEqual(withoutTimes(rest.history), withoutTimes(four.history.slice(2)));
  t.deepEqual(back.model.weights(), straight.model.weights());
});

test("the persistent safeguard never raises ρ past the ρ policy's max", async (t) => {
  const { model, data } = randomProblem(SPEC);
  const max = 0.05;
  const trainer = new AdmmTrainer(model, {
    ...FAST,
    safeguard: true,
    rhoPolicy: { kind: 'geometric', factor: 1, max },
  });
  let rejected = 0;
  await trainer.fit(data, {
    maxIterations: 8,
    onIteration: (r) => {
      rejected += r.safeguard!.rejections;
      for (const rho of trainer.state!.rho) t.true(rho <= max * (1 + 1e-12), `ρ ${rho} > max ${max}`);
    },
  });
  t.true(rejected >= 1, 'a rejection tried to raise ρ');
  t.true(trainer.state!.rho[0] > FAST.rho, 'ρ rose as far as the max allows');
});
