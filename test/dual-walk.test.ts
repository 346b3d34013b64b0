/**
 * The persistent loop's dual warm start (options.dualWalk, issue 16 item 4): μ1, μ3 from the
 * gradient-free local dual walk at the forward point, scaled; a, s, o left at the forward pass;
 * re-walked after a resynchronisation every `every` iterations; exact across a checkpoint.
 * Mode 'sweeps': each batch's sweeps start from the walk's duals.
 */
import test from 'ava';
import { AdmmTrainer } from '../lib';
import { native } from '../lib/native';
import { DEFAULT_DUAL_WALK, DEFAULT_SWEEPS_DUAL_WALK, resolveTrainerOptions } from '../lib/admm/options';
import { sharedFloats } from '../lib/in-shared-memory';
import { BatchMultipliers } from '../lib/admm/resync/multipliers';
import { AdmmState } from '../lib/admm/persistent/state';
import { ascendDuals, updateOutputs, updatePreactivations, updateStates } from '../lib/admm/persistent/blocks';
import type { Triple } from '../lib/admm/rho';
import { straightAndResumed } from './helpers/checkpoint-round-trip';
import { type ProblemSpec, randomProblem, withoutTimes } from './problems';

const SPEC: ProblemSpec = { N: 48, T: 5, d: 3, h: 8, K: 3, lossSteps: 'last', loss: 'softmax-cross-entropy' };
const PERSISTENT = { mode: 'persistent' } as const;

const allZero = (m: Float32Array) => m.every((v) => v === 0);

test('dualWalk: the duals are the local walk at the forward point times scale; a, s, o stay the forward pass', async (t) => {
  const p = randomProblem(SPEC);
  const trainer = new AdmmTrainer(p.model, { ...PERSISTENT, dualWalk: { scale: 1, every: 0 } });
  await trainer.initialise(p.data);
  const st = trainer.state!;
  t.deepEqual(st.O, p.model.predict(p.data), 'o is the forward pass');
  t.true(allZero(st.M2));
  t.false(allZero(st.M1), 'the walk gives μ1 credit');
  t.false(allZero(st.M3));

  // The same walk by hand from a forward pass of the (warm-started) model.
  const { N, T, h, K } = SPEC;
  const A = new Float32Array(N * T * h),
    S = new Float32Array(N * T * h),
    O = new Float32Array(N * K);
  const shape = { N, T, d: SPEC.d, h, K, everyStep: false };
  const inputs = { x: p.data.inputs as Float32Array };
  native.forward({ shape, ...inputs, ...p.model.weights(), A, S, O });
  t.deepEqual(Array.from(A), Array.from(st.A), 'a is the forward pass');
  const M1 = new Float32Array(N * T * h),
    M3 = new Float32Array(N * K);
  const [rho1, rho2, rho3] = st.rho;
  const { localSweeps: sweeps, gamma } = trainer.options;
  native.localDualWalk({
    shape,
    ...inputs,
    ...p.model.weights(),
    S,
    Saux: new Float32Array(N * T * h),
    A,
    O,
    M1,
    M3,
    rho1,
    rho2,
    rho3,
    sweeps,
    gamma,
    loss: 'softmax-cross-entropy',
    labels: p.data.targets as Int32Array,
  });
  t.deepEqual(st.M1, M1);
  t.deepEqual(st.M3, M3);

  const q = randomProblem(SPEC);
  const scaled = new AdmmTrainer(q.model, { ...PERSISTENT, dualWalk: { scale: 3, every: 0 } });
  await scaled.initialise(q.data);
  t.deepEqual(
    scaled.state!.M1,
    M1.map((m) => Math.fround(m * 3))
  );
  t.deepEqual(
    scaled.state!.M3,
    M3.map((m) => Math.fround(m * 3))
  );
});

test('dualWalk every k: after iteration k the auxiliaries are the forward pass again, duals re-walked', async (t) => {
  const p = randomProblem(SPEC);
  const trainer = new AdmmTrainer(p.model, { ...PERSISTENT, dualWalk: { every: 2 } });
  await trainer.initialise(p.data);
  await trainer.step();
  t.notDeepEqual(trainer.state!.O, p.model.predict(p.data), 'iteration 1 moves o off the forward pass');
  t.false(allZero(trainer.state!.M2));
  await trainer.step();
  t.deepEqual(trainer.state!.O, p.model.predict(p.data));
  t.true(allZero(trainer.state!.M2));
  t.false(allZero(trainer.state!.M1));
});

test('dualWalk: a chunked sweep walks chunk by chunk, ≈ the whole state', async (t) => {
  const run = async (chunkSize: number | undefined) => {
    const p = randomProblem(SPEC);
    const options = { ...PERSISTENT, dualWalk: { every: 2 }, ...(chunkSize && { chunkSize }) };
    await new AdmmTrainer(p.model, options).fit(p.data, { maxIterations: 3 });
    return p.model.W;
  };
  const whole = await run(undefined),
    chunked = await run(SPEC.N / 2);
  const scale = Math.max(...whole.map(Math.abs));
  const worst = Math.max(...whole.map((w, i) => Math.abs(w - chunked[i])));
  t.true(worst <= 1e-3 * scale, `max |ΔW| ${worst} against max |W| ${scale}`);
});

test('dualWalk: 2 + 2 iterations resumed through a checkpoint equal 4 straight (a re-walk at 2)', async (t) => {
  const options = { ...PERSISTENT, dualWalk: { every: 2 } };
  const { straight, four, back, rest } = await straightAndResumed(SPEC, options, 'dual-walk.st');
  t.deepEqual(withoutTimes(rest.history), withoutTimes(four.history.slice(2)));
  t.deepEqual(back.model.weights(), straight.model.weights());
});

test('options.dualWalk: on by default in persistent mode, sharded too unless under bounded staleness; checked settings', (t) => {
  const { model } = randomProblem(SPEC);
  t.deepEqual(new AdmmTrainer(model, PERSISTENT).options.dualWalk, DEFAULT_DUAL_WALK);
  const sharded = { ...PERSISTENT, parallel: { workers: 2 } };
  t.deepEqual(new AdmmTrainer(model, sharded).options.dualWalk, DEFAULT_DUAL_WALK);
  const stale = { ...PERSISTENT, parallel: { workers: 2, staleness: 1 } };
  t.is(new AdmmTrainer(model, stale).options.dualWalk, false);
  t.is(new AdmmTrainer(model, { mode: 'adjoint' }).options.dualWalk, false);
  t.deepEqual(new AdmmTrainer(model, { ...PERSISTENT, dualWalk: true }).options.dualWalk, DEFAULT_DUAL_WALK);
  t.deepEqual(new AdmmTrainer(model, { ...PERSISTENT, dualWalk: { every: 0 } }).options.dualWalk, {
    scale: DEFAULT_DUAL_WALK.scale,
    every: 0,
  });
  for (const bad of [
    { mode: 'local-duals', dualWalk: true },
    { ...PERSISTENT, dualWalk: true, parallel: { workers: 2, staleness: 1 } },
    { mode: 'sweeps', dualWalk: { every: 2 } },
    { ...PERSISTENT, dualWalk: { scale: 0 } },
    { ...PERSISTENT, dualWalk: { every: -1 } },
    { ...PERSISTENT, dualWalk: { every: 1.5 } },
  ] as const)
    t.throws(() => new AdmmTrainer(model, bad), { instanceOf: RangeError, message: /options\.dualWalk/ });
  t.throws(() => new AdmmTrainer(model, { ...PERSISTENT, dualWalk: 'yes' as never }), { instanceOf: TypeError });
});

test("options.dualWalk in mode 'sweeps': on by default (scale 1, then one sweep), sharded too; three sweeps without it", (t) => {
  const { model } = randomProblem(SPEC);
  const walked = new AdmmTrainer(model, { mode: 'sweeps' }).options;
  t.deepEqual(walked.dualWalk, DEFAULT_SWEEPS_DUAL_WALK);
  t.deepEqual([walked.sweeps, walked.localSweeps], [1, 5]);
  t.deepEqual(new AdmmTrainer(model, { mode: 'sweeps', dualWalk: { scale: 2 } }).options.dualWalk, {
    scale: 2,
    every: 1,
  });
  const unwalked = new AdmmTrainer(model, { mode: 'sweeps', dualWalk: false }).options;
  t.deepEqual([unwalked.dualWalk, unwalked.sweeps], [false, 3]);
  const sharded = new AdmmTrainer(model, { mode: 'sweeps', parallel: { workers: 2 } }).options;
  t.deepEqual([sharded.dualWalk, sharded.sweeps], [DEFAULT_SWEEPS_DUAL_WALK, 1], 'shards walk their slices');
  t.is(new AdmmTrainer(model, { mode: 'sweeps', sweeps: 4 }).options.sweeps, 4);
});

test("mode 'sweeps' with the dual walk: the batch's sweeps start from the walk's duals × scale at its forward point", async (t) => {
  const { model, data } = randomProblem(SPEC);
  const { N, T, d, h, K } = SPEC;
  const shape = { N, T, d, h, K, everyStep: false };
  const inputs = { x: data.inputs as Float32Array };
  const targets = { loss: 'softmax-cross-entropy', labels: data.targets as Int32Array } as const;
  const rho: Triple = [2, 1.5, 1];
  const forward = () => {
    const [A, S, M1] = [0, 0, 0].map(() => sharedFloats(N * T * h));
    const [O, M3] = [0, 0].map(() => sharedFloats(N * K));
    native.forward({ shape, ...inputs, ...model.weights(), A, S, O });
    return { shape, inputs, targets, A, S, O, M1, M3 };
  };
  const options = {
    ...resolveTrainerOptions({ mode: 'sweeps', dualWalk: { scale: 2 }, sweeps: 2 }),
    mode: 'sweeps' as const,
  };
  const batch = forward();
  await new BatchMultipliers(options, shape, N).estimate(batch, model, rho);

  // By hand: the walk from the forward point, its duals doubled, then two of the loop's sweeps.
  const point = forward();
  const st = new AdmmState(shape, inputs, targets, 'last', rho, 0);
  st.A.set(point.A);
  st.S.set(point.S);
  st.TA.set(point.S);
  st.O.set(point.O);
  native.localDualWalk({
    shape,
    ...inputs,
    ...model.weights(),
    S: point.S,
    Saux: new Float32Array(N * T * h),
    A: point.A.slice(),
    O: point.O.slice(),
    M1: st.M1,
    M3: st.M3,
    rho1: rho[0],
    rho2: rho[1],
    rho3: rho[2],
    sweeps: options.localSweeps,
    gamma: options.gamma,
    ...targets,
  });
  t.false(allZero(st.M1), 'the walk gives μ1 credit');
  for (const m of [st.M1, st.M3]) m.set(m.map((v) => v * 2));
  for (let k = 0; k < 2; k++) {
    await updateOutputs(st, st, model);
    await updateStates(st, st, model, { linearized: false });
    await updatePreactivations(st, st, model, { linearized: false });
    await ascendDuals(st, model, [1, 1, 1], true);
  }
  t.deepEqual(batch.M1, st.M1);
  t.deepEqual(batch.M3, st.M3);
  t.deepEqual(batch.A, st.A);
  t.deepEqual(batch.O, st.O);

  const unwalked = forward();
  await new BatchMultipliers({ ...options, dualWalk: false }, shape, N).estimate(unwalked, model, rho);
  t.notDeepEqual(unwalked.M1, batch.M1, 'without the walk the sweeps start from zero duals');
});

test.serial("dualWalk: an iteration's seconds include its re-walk", async (t) => {
  const p = randomProblem(SPEC);
  // A walk made to take at least 300 ms: the iteration that ends with it must count them.
  const binding = native as unknown as Record<string, (args: unknown) => Promise<unknown>>;
  const original = binding.localDualWalkAsync;
  binding.localDualWalkAsync = async (args) => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    return original(args);
  };
  try {
    const result = await new AdmmTrainer(p.model, { ...PERSISTENT, dualWalk: { every: 1 } }).fit(p.data, {
      maxIterations: 2,
    });
    for (const r of result.history) t.true(r.seconds >= 0.3, `iteration ${r.iteration}: ${r.seconds} s`);
  } finally {
    binding.localDualWalkAsync = original;
  }
});
