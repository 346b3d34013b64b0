/**
 * A persistent shard too large for whole caches sweeps its rows in chunks (as the single-process
 * loop does), and a worker process keeps a copy of its own rows only (ownRows).
 */
import test from 'ava';
import { AdmmTrainer, type RNNWeights } from '../lib';
import { sharedInputs, sharedTargets } from '../lib/in-shared-memory';
import type { PersistentIterationRecord } from '../lib/admm/record';
import { resolveTrainerOptions } from '../lib/admm/options';
import { trainingLayout } from '../lib/training/layout';
import { ParallelCoordinator, coordinatorOptions } from '../lib/parallel/coordinator';
import { LoopbackTransport } from '../lib/parallel/loopback';
import { PersistentShard } from '../lib/parallel/shard';
import { ownRows, shardData, splitRows } from '../lib/parallel/split';
import { randomProblem, type ProblemSpec } from './problems';

const CE = 'softmax-cross-entropy' as const;
const classify: ProblemSpec = { N: 24, T: 5, d: 3, h: 6, K: 3, lossSteps: 'last', loss: CE, seed: 3 };
const ITERATIONS = 4;
// A sharded run has no dual walk: the single-process runs compared with it go without one too.
const OPTIONS = { mode: 'persistent', warmStart: 'none', dualWalk: false } as const;

/** The sharded loop over `shards` in-process shards, each swept in chunks of `chunkRows` (none: whole). */
async function sharded(spec: ProblemSpec, shards: number, chunkRows?: number) {
  const { model, data } = randomProblem(spec);
  const o = resolveTrainerOptions({ ...OPTIONS, lossSteps: spec.lossSteps });
  const layout = trainingLayout(data, model, { loss: o.loss, lossSteps: o.lossSteps });
  const { shape } = layout;
  const inputs = sharedInputs(layout.inputs),
    targets = sharedTargets(layout.targets);
  const cores = splitRows(shape.N, shards).map(
    ([b, e], i) => new PersistentShard(i, { ...shardData(shape, inputs, targets, o.lossSteps, b, e), chunkRows })
  );
  const transport = new LoopbackTransport(cores);
  const coordinator = new ParallelCoordinator(model, shape, transport, coordinatorOptions(o, layout, shards, 0));
  const history: PersistentIterationRecord[] = [];
  try {
    for (let k = 0; k < ITERATIONS; k++) history.push(await coordinator.iteration(undefined, () => new Error('x')));
  } finally {
    await transport.close();
  }
  return { history, weights: model.weights(), chunked: cores.map((c) => c.state!.chunked) };
}

/** Largest |a − b| over every weight, relative to the largest |b|. */
function relativeGap(a: RNNWeights, b: RNNWeights): number {
  let gap = 0,
    scale = 0;
  for (const k of Object.keys(b) as (keyof RNNWeights)[])
    for (let i = 0; i < b[k].length; i++) {
      gap = Math.max(gap, Math.abs(a[k][i] - b[k][i]));
      scale = Math.max(scale, Math.abs(b[k][i]));
    }
  return gap / scale;
}

test('shards swept in chunks give the chunked single-process iterate (same chunks) up to summation order', async (t) => {
  const chunkRows = 4; // 2 shards of 12 rows: 3 chunks each, the single process's 6 chunks
  const chunkedShards = await sharded(classify, 2, chunkRows);
  t.deepEqual(chunkedShards.chunked, [true, true]);
  const { model, data } = randomProblem(classify);
  const trainer = new AdmmTrainer(model, { ...OPTIONS, chunkSize: chunkRows });
  const one = await trainer.fit(data, { maxIterations: ITERATIONS });
  t.true(trainer.state!.chunked);
  t.true(relativeGap(chunkedShards.weights, model.weights()) < 1e-5);
  chunkedShards.history.forEach((r, i) => t.true(Math.abs(r.loss - one.history[i].loss) < 1e-5 * one.history[i].loss));
  // And against whole shards: the same iterate up to float32 summation order.
  const whole = await sharded(classify, 2);
  t.deepEqual(whole.chunked, [false, false]);
  t.true(relativeGap(chunkedShards.weights, whole.weights) < 1e-4);
});

test('a shard chunk size is checked', (t) => {
  const { model, data } = randomProblem(classify);
  const o = resolveTrainerOptions(OPTIONS);
  const { shape, inputs, targets } = trainingLayout(data, model, { loss: o.loss, lossSteps: o.lossSteps });
  const rows = shardData(shape, inputs, targets, o.lossSteps, 0, 12);
  for (const chunkRows of [0, 1.5, -3])
    t.throws(() => new PersistentShard(0, { ...rows, chunkRows }), { instanceOf: RangeError, message: /chunkRows/ });
});

for (const [name, spec] of [
  ['dense inputs, class ids', classify],
  ['token ids, class ids at every step', { ...classify, lossSteps: 'every', tokens: true, seed: 4 }],
  ['dense inputs, values', { ...classify, loss: 'squared-error', seed: 6 }],
] as [string, ProblemSpec][]) {
  test(`ownRows: a shard's rows copied, sharing no memory with the data set (${name})`, (t) => {
    const { model, data } = randomProblem(spec);
    const o = resolveTrainerOptions({ ...OPTIONS, lossSteps: spec.lossSteps });
    const { shape, inputs, targets } = trainingLayout(data, model, { loss: o.loss, lossSteps: o.lossSteps });
    const rows = shardData(shape, inputs, targets, o.lossSteps, 5, 17);
    const own = ownRows(rows);
    t.deepEqual(own.shape, rows.shape);
    const input = (d: typeof rows) => d.inputs.x ?? d.inputs.ids!;
    const target = (d: typeof rows) => (d.targets.loss === CE ? d.targets.labels : d.targets.values);
    for (const part of [input, target]) {
      t.deepEqual(Array.from(part(own)), Array.from(part(rows)));
      t.is(part(own).byteOffset, 0);
      t.is(part(own).buffer.byteLength, part(rows).byteLength); // its rows, not the data set's buffer
      t.not(part(own).buffer, part(rows).buffer);
    }
    // Dense arrays on shared memory, where the async kernels use them in place.
    if (own.inputs.x) t.true(own.inputs.x.buffer instanceof SharedArrayBuffer);
  });
}
