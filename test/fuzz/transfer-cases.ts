/**
 * Buffers transferred (structuredClone, postMessage to a worker that writes into them) or
 * collected while async native work on them is queued or running (issue 15, D1). Each case
 * checks itself and returns the problems it found (none: an error or a correct result every
 * time). Run in a child process with the collector exposed, since a kernel that touches freed
 * memory takes the process down: `node --expose-gc transfer-cases.js <case>` prints
 * {"outcome": "ok", "problems": [...]} or {"outcome": "error", "message"} on stdout.
 *
 * A call made right after a long kernel waits for it (kernels run one at a time), so the
 * buffer is gone, collected and freed, by the time the call's kernel starts: without the
 * copies of binding_args.h that is a use-after-free every time, not by chance.
 */
import { AdmmTrainer, BpttTrainer, RNN, Random } from '../../lib';
import { busyKernel, transferAway, writingWorker } from './disturb';
import { nativeTargets } from './native-targets';
import { type Params, getPath, sameSnapshot, snapshotValue } from './target';

const collect = (globalThis as { gc?: () => void }).gc;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the collector twice around a pause, so that the freed backing stores are released. */
async function release(): Promise<void> {
  if (!collect) throw new Error('run with node --expose-gc');
  collect();
  await sleep(15);
  collect();
}

const typedArrayFields = (p: Params) => Object.keys(p).filter((k) => ArrayBuffer.isView(p[k]));
const asyncTargets = () => nativeTargets().filter((t) => t.async);
const SEED = 7;

/** The result and outputs of an undisturbed call. */
async function baseline(target: ReturnType<typeof asyncTargets>[number]): Promise<(number | string)[]> {
  const p = target.make(new Random(SEED));
  const snapshot = snapshotValue(await target.call(p));
  for (const out of target.outputs ?? []) snapshotValue(getPath(p, out), snapshot);
  return snapshot;
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };
/** The call's outcome, observed at once (a rejection before it is awaited is not unhandled). */
const settle = (value: unknown): Promise<Settled> =>
  Promise.resolve(value).then(
    (v) => ({ ok: true as const, value: v }),
    (error) => ({ ok: false as const, error })
  );

const describe = (e: unknown) => (e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e));

/** Small data for the fits. */
function problem(regression = false) {
  const N = 48,
    T = 5,
    d = 3,
    h = 6,
    K = 3,
    rng = new Random(11);
  const inputs = Float32Array.from({ length: N * T * d }, () => rng.normal());
  const targets = regression
    ? Float32Array.from({ length: N * K }, () => rng.normal())
    : Int32Array.from({ length: N }, () => rng.int(K));
  return { data: { inputs, targets, sequenceLength: T }, config: { inputSize: d, hiddenSize: h, outputSize: K } };
}

type Fit = (model: RNN, data: ReturnType<typeof problem>['data']) => Promise<{ status: string }>;
const FITS: Record<string, Fit> = {
  'AdmmTrainer persistent': (m, data) => new AdmmTrainer(m, { mode: 'persistent' }).fit(data, { maxIterations: 3 }),
  'AdmmTrainer adjoint': (m, data) => new AdmmTrainer(m, { batchSize: 16 }).fit(data, { maxIterations: 2 }),
  'AdmmTrainer local-duals': (m, data) =>
    new AdmmTrainer(m, { mode: 'local-duals', batchSize: 16 }).fit(data, { maxIterations: 2 }),
  BpttTrainer: (m, data) => new BpttTrainer(m, { batchSize: 16 }).fit(data, { maxIterations: 2 }),
};

/** A TypeError/RangeError whose message matches `mayFail`. */
const expectedFailure = (e: unknown, mayFail: RegExp | undefined) =>
  mayFail !== undefined && (e instanceof RangeError || e instanceof TypeError) && mayFail.test(e.message);

type Disturbance = (model: RNN, data: ReturnType<typeof problem>['data']) => Promise<void>;

/**
 * Each fit once undisturbed and once with `disturb` run right after it starts: the disturbed fit
 * must end with the same weights (its data were copied when it started), or, when `mayFail`
 * is given, may fail with a TypeError/RangeError whose message matches it.
 */
async function disturbedFits(disturb: Disturbance, mayFail?: RegExp): Promise<string[]> {
  const problems: string[] = [];
  for (const [name, fit] of Object.entries(FITS))
    for (const regression of name === 'BpttTrainer' || name.endsWith('persistent') ? [false, true] : [false]) {
      const label = `${name}${regression ? ' (regression)' : ''}`;
      const clean = problem(regression),
        model = new RNN(clean.config);
      const expected = await fit(model, clean.data);
      const disturbed = problem(regression),
        victim = new RNN(disturbed.config);
      const running = settle(fit(victim, disturbed.data));
      await disturb(victim, disturbed.data);
      const r = await running;
      if (r.ok) {
        const got = r.value as { status: string };
        const diff =
          got.status !== expected.status
            ? `status ${got.status} vs ${expected.status}`
            : sameSnapshot(snapshotValue(victim.weights()), snapshotValue(model.weights()));
        if (diff) problems.push(`${label}: the result differs from the undisturbed fit: ${diff}`);
      } else if (!expectedFailure(r.error, mayFail)) {
        problems.push(`${label}: ${describe(r.error)}`);
      }
    }
  return problems;
}

export const TRANSFER_CASES: Record<string, () => Promise<string[]>> = {
  'every async kernel: its read-only arrays transferred and collected while it is queued': async () => {
    const problems: string[] = [];
    for (const target of asyncTargets()) {
      const expected = await baseline(target);
      const p = target.make(new Random(SEED));
      const busy = busyKernel();
      const pending = settle(target.call(p));
      for (const k of typedArrayFields(p)) if (!target.outputs?.includes(k)) transferAway(p[k] as ArrayBufferView);
      await release();
      await busy;
      const r = await pending;
      if (!r.ok) {
        problems.push(`${target.name}: rejected a call whose inputs it had copied: ${describe(r.error)}`);
        continue;
      }
      const snapshot = snapshotValue(r.value);
      for (const out of target.outputs ?? []) snapshotValue(getPath(p, out), snapshot);
      const diff = sameSnapshot(snapshot, expected);
      if (diff) problems.push(`${target.name}: result differs from the undisturbed call: ${diff}`);
    }
    return problems;
  },

  'every async kernel: each output transferred while it is queued': async () => {
    const problems: string[] = [];
    for (const target of asyncTargets())
      for (const out of target.outputs ?? []) {
        const p = target.make(new Random(SEED));
        if (!(p[out] instanceof Float32Array)) continue;
        const others = (target.outputs ?? []).filter((o) => o !== out && p[o] instanceof Float32Array);
        const before = others.map((o) => (p[o] as Float32Array).slice());
        const busy = busyKernel();
        const pending = settle(target.call(p));
        transferAway(p[out] as Float32Array);
        await release();
        await busy;
        const op = target.name.replace(/^(native|internal)\.|Async$/g, '');
        const r = await pending;
        if (r.ok) problems.push(`${target.name}: resolved although ${out} was transferred`);
        else if (!(r.error instanceof RangeError && r.error.message.startsWith(`${op}: ${out} must be left attached`)))
          problems.push(`${target.name} (${out} transferred): ${describe(r.error)}`);
        others.forEach((o, i) => {
          const diff = sameSnapshot(snapshotValue(p[o]), snapshotValue(before[i]));
          if (diff) problems.push(`${target.name}: ${o} was written although ${out} was transferred (${diff})`);
        });
      }
    return problems;
  },

  'every async kernel: arguments nobody references, collected while it is queued': async () => {
    const problems: string[] = [];
    for (const target of asyncTargets()) {
      const expected = snapshotValue(await target.call(target.make(new Random(SEED))));
      const busy = busyKernel();
      const pending = settle(target.call(target.make(new Random(SEED)))); // only the binding holds them
      await release();
      await busy;
      const r = await pending;
      const diff = sameSnapshot(snapshotValue(r.ok ? r.value : describe(r.error)), expected);
      if (diff) problems.push(`${target.name}: result differs: ${diff}`);
    }
    return problems;
  },

  'predictAsync and evaluateAsync: inputs transferred to a worker that writes into them, or cloned away': async () => {
    const { data, config } = problem();
    const model = new RNN(config);
    const expected = snapshotValue(model.predict({ ...data, inputs: data.inputs.slice() }));
    const expectedLoss = model.evaluate({ ...data, inputs: data.inputs.slice() }).loss;
    const problems: string[] = [];
    for (const how of ['worker', 'structuredClone'])
      for (const call of ['predictAsync', 'evaluateAsync'] as const) {
        const inputs = data.inputs.slice(),
          handOver = how === 'worker' ? await writingWorker(1) : undefined;
        const busy = busyKernel();
        const args = { ...data, inputs };
        const pending = settle(call === 'predictAsync' ? model.predictAsync(args) : model.evaluateAsync(args));
        if (handOver) await handOver(inputs);
        else transferAway(inputs);
        await release();
        await busy;
        const r = await pending;
        if (!r.ok) {
          problems.push(`${call} (${how}): ${describe(r.error)}`);
          continue;
        }
        const result = r.value as Float32Array | { loss: number };
        const diff =
          result instanceof Float32Array
            ? sameSnapshot(snapshotValue(result), expected)
            : result.loss === expectedLoss
              ? undefined
              : `loss ${result.loss} vs ${expectedLoss}`;
        if (diff) problems.push(`${call} (${how}): the result differs: ${diff}`);
      }
    return problems;
  },

  'fits: inputs and targets transferred right after fit starts, to a worker and by structuredClone': () =>
    disturbedFits(async (_model, data) => {
      await (
        await writingWorker(2)
      )(data.inputs);
      transferAway(data.targets);
      await release();
    }),

  // The copies are taken before fit()'s first await: a transfer in the same tick cannot race them.
  'fits: inputs and targets transferred in the tick fit() returns': () =>
    disturbedFits(async (_model, data) => {
      transferAway(data.inputs);
      transferAway(data.targets);
      await release();
    }),

  'fits: the collector run after every iteration': async () => {
    const problems: string[] = [];
    for (const [name, fit] of Object.entries(FITS)) {
      const clean = problem(),
        model = new RNN(clean.config);
      const expected = await fit(model, clean.data);
      const other = new RNN(clean.config);
      const timer = setInterval(() => collect?.(), 1);
      try {
        await fit(other, problem().data);
      } finally {
        clearInterval(timer);
      }
      const diff = sameSnapshot(snapshotValue(other.weights()), snapshotValue(model.weights()));
      if (diff) problems.push(`${name} (${expected.status}): the weights differ: ${diff}`);
    }
    return problems;
  },

  "fits: the model's weights transferred while it trains": () =>
    disturbedFits(async (model) => {
      transferAway(model.U);
      transferAway(model.V);
      await release();
    }, /^model\.[UV] must be \d+ weights long \(was its buffer transferred|^\w+: [UV] must be left attached/),
};

async function main(): Promise<void> {
  const name = process.argv[2];
  const run = TRANSFER_CASES[name];
  if (!run) throw new Error(`no case ${name}`);
  try {
    process.stdout.write(JSON.stringify({ outcome: 'ok', problems: await run() }) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ outcome: 'error', message: describe(e) }) + '\n');
  }
}

if (require.main === module) void main();
