/**
 * The memory check before large allocations (issue 15, D8): a model, a trainer state per mode
 * and a forward pass estimate their bytes and are refused with TrainerError ERR_OUT_OF_MEMORY above
 * the limit, before anything is allocated. Serial: the limit is module-wide.
 */
import test from 'ava';
import os from 'node:os';
import {
  TrainerError,
  AdmmTrainer,
  BpttTrainer,
  DEFAULT_MEMORY_FRACTION,
  RNN,
  Random,
  getMemoryLimit,
  setMemoryLimit,
} from '../lib';
import { AdmmState } from '../lib/admm/persistent/state';

const MiB = 2 ** 20,
  GiB = 2 ** 30;
const OOM = /needs about [\d.]+ [KMG]iB \(estimated\), more than the memory limit of [\d.]+ [KMG]iB/;

function withLimit<T>(bytes: number, run: () => T): T {
  setMemoryLimit(bytes);
  try {
    return run();
  } finally {
    setMemoryLimit(null);
  }
}

async function withLimitAsync<T>(bytes: number, run: () => Promise<T>): Promise<T> {
  setMemoryLimit(bytes);
  try {
    return await run();
  } finally {
    setMemoryLimit(null);
  }
}

type Asserts = { true(v: boolean, m?: string): void; regex(s: string, r: RegExp): void };

function refused(t: Asserts, e: unknown, names: RegExp): void {
  t.true(e instanceof TrainerError && e.code === 'ERR_OUT_OF_MEMORY', String(e));
  t.regex((e as Error).message, OOM);
  t.regex((e as Error).message, names);
}

test.serial('the default limit is 80% of the machine memory (or of a lower container limit)', (t) => {
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  const limited = constrained !== undefined && constrained > 0 && constrained < os.totalmem();
  const machine = limited ? constrained : os.totalmem();
  t.is(DEFAULT_MEMORY_FRACTION, 0.8);
  t.is(getMemoryLimit(), Math.floor(0.8 * machine));
  t.is(setMemoryLimit(123 * MiB), 123 * MiB);
  t.is(getMemoryLimit(), 123 * MiB);
  t.is(setMemoryLimit(Infinity), Infinity);
  t.is(setMemoryLimit(null), Math.floor(0.8 * machine));
});

test.serial('setMemoryLimit checks its argument', (t) => {
  for (const bad of ['1', undefined, {}, 10n])
    t.throws(() => setMemoryLimit(bad as never), {
      instanceOf: TypeError,
      message: /^bytes must be a number of bytes/,
    });
  for (const bad of [0, -1, 1.5, NaN, -Infinity, 2 ** 53])
    t.throws(() => setMemoryLimit(bad), {
      instanceOf: RangeError,
      message: /^bytes must be a positive integer number of bytes/,
    });
  t.is(getMemoryLimit(), setMemoryLimit(null), 'a refused value leaves the limit as it was');
});

test.serial('a model above the limit is refused before it is allocated: new RNN, withWeights, fromJSON, clone', (t) => {
  const config = { inputSize: 200, hiddenSize: 300, outputSize: 10 }; // 153,310 parameters, 613,240 bytes
  const model = new RNN(config);
  withLimit(600_000, () => {
    const names = /^a model of 153310 parameters \(inputSize 200, hiddenSize 300, outputSize 10\)/;
    refused(
      t,
      t.throws(() => new RNN(config)),
      names
    );
    refused(
      t,
      t.throws(() => RNN.withWeights(config, model.weights())),
      /a model of 153310 parameters/
    );
    refused(
      t,
      t.throws(() => RNN.fromJSON(model.toJSON())),
      /a model of 153310 parameters/
    );
    refused(
      t,
      t.throws(() => model.clone()),
      /a model of 153310 parameters/
    );
  });
  withLimit(613_240, () => t.notThrows(() => new RNN(config)));
});

test.serial("the issue's model (inputSize 2^24 - 200, hiddenSize 127: 8 GiB) is refused under a 4 GiB limit", (t) => {
  const started = performance.now();
  const config = { inputSize: 2 ** 24 - 200, hiddenSize: 127, outputSize: 2 };
  withLimit(4 * GiB, () =>
    refused(
      t,
      t.throws(() => new RNN(config)),
      /^a model of 2130697544 parameters/
    )
  );
  t.log(`refused in ${(performance.now() - started).toFixed(1)} ms`);
});

test.serial("the issue's persistent fit (N·T·h = 2^31: 32 GiB of state) is refused unallocated", async (t) => {
  // The h = 4096 on 2^19 ids; h = 512 on 2^22 ids has the same N·T·h without a slow initialisation.
  const T = 64,
    N = 2 ** 22 / T;
  const inputs = new Int32Array(N * T).map((_, i) => i % 4),
    targets = new Int32Array(N).map((_, i) => i % 2);
  const trainer = new AdmmTrainer(new RNN({ inputSize: 4, hiddenSize: 512, outputSize: 2 }), { mode: 'persistent' });
  const rss = process.memoryUsage().rss,
    started = performance.now();
  const fit = () => trainer.fit({ inputs, targets, sequenceLength: T }, { maxIterations: 1 });
  const e = await withLimitAsync(16 * GiB, () => t.throwsAsync(fit()));
  refused(t, e, /^AdmmTrainer \(mode 'persistent'\) on N = 65536, T = 64, h = 512 needs about 3\d\.\d GiB/);
  t.true(process.memoryUsage().rss - rss < 256 * MiB, 'nothing of the state was allocated');
  t.log(`refused in ${(performance.now() - started).toFixed(1)} ms: ${e!.message}`);
});

function data(N: number, T: number, d: number, K: number, regression = false) {
  const rng = new Random(3);
  return {
    inputs: Float32Array.from({ length: N * T * d }, () => rng.normal()),
    targets: regression
      ? Float32Array.from({ length: N * K }, () => rng.normal())
      : Int32Array.from({ length: N }, () => rng.int(K)),
    sequenceLength: T,
  };
}

test.serial('the persistent estimate covers the state: exact (whole, chunked), linearised', async (t) => {
  const N = 300,
    T = 6,
    d = 4,
    h = 16,
    K = 3,
    train = data(N, T, d, K);
  const exact = 'exact' as const,
    linearized = 'linearized' as const;
  const variants = [{ update: exact }, { update: exact, chunkSize: 100 }, { update: linearized }];
  for (const options of variants) {
    const model = () => new RNN({ inputSize: d, hiddenSize: h, outputSize: K });
    const fresh = () => new AdmmTrainer(model(), { mode: 'persistent', ...options });
    const trainer = fresh();
    await trainer.initialise(train);
    const st = trainer.state!;
    // The state and the shared copy of the inputs.
    const allocated = st.bytes + train.inputs.byteLength;
    const grams = st.grams !== undefined;
    const estimate = AdmmState.bytesFor(st.shape, st.chunkRows, grams) + train.inputs.byteLength;
    t.true(estimate >= allocated, `${JSON.stringify(options)}: ${estimate} < ${allocated}`);
    t.true(estimate <= 1.5 * allocated, `${JSON.stringify(options)}: ${estimate} far above ${allocated}`);
    // Refused just below the estimate, accepted at it.
    const e = await withLimitAsync(estimate - 1, () => t.throwsAsync(fresh().initialise(train)));
    refused(t, e, /^AdmmTrainer \(mode 'persistent'\) on N = 300, T = 6, h = 16/);
    await withLimitAsync(estimate, () => t.notThrowsAsync(fresh().initialise(train)));
  }
});

test.serial('every mini-batch mode and BpttTrainer are refused above the limit and run under it', async (t) => {
  const N = 600,
    T = 8,
    d = 4,
    h = 12,
    K = 3,
    once = { maxIterations: 1 },
    batch = { batchSize: 128 };
  for (const regression of [false, true]) {
    const train = data(N, T, d, K, regression);
    const fits: [string, RegExp, (m: RNN) => Promise<unknown>][] = [
      ['adjoint', /^AdmmTrainer \(mode 'adjoint'\) on N = 600/, (m) => new AdmmTrainer(m, batch).fit(train, once)],
      [
        'local-duals',
        /^AdmmTrainer \(mode 'local-duals'\)/,
        (m) => new AdmmTrainer(m, { ...batch, mode: 'local-duals' }).fit(train, once),
      ],
      [
        'sweeps',
        /^AdmmTrainer \(mode 'sweeps'\)/,
        (m) => new AdmmTrainer(m, { ...batch, mode: 'sweeps' }).fit(train, once),
      ],
      ['bptt', /^BpttTrainer on N = 600, T = 8, h = 12/, (m) => new BpttTrainer(m, batch).fit(train, once)],
    ];
    for (const [name, names, fit] of fits) {
      const model = new RNN({ inputSize: d, hiddenSize: h, outputSize: K });
      // The data's shared copy alone (N·T·d floats, 76.8 kB) exceeds this limit.
      refused(t, await withLimitAsync(60_000, () => t.throwsAsync(fit(model) as Promise<unknown>)), names);
      const r = (await withLimitAsync(64 * MiB, () => fit(model))) as { status: string };
      t.is(r.status, 'max-iterations', name);
    }
  }
});

test.serial('a forward pass above the limit is refused: predict, predictAsync, evaluate, evaluateAsync', async (t) => {
  const N = 500,
    T = 20,
    d = 2,
    K = 300,
    model = new RNN({ inputSize: d, hiddenSize: 4, outputSize: K });
  const inputs = data(N, T, d, K).inputs,
    labelled = { inputs, targets: new Int32Array(N * T), sequenceLength: T };
  const every = { outputs: 'every' as const }; // N·T·K = 3,000,000 floats: 12 MB
  withLimit(8 * MiB, () => {
    const names = /^a forward pass over 500 sequences/;
    refused(
      t,
      t.throws(() => model.predict({ inputs, sequenceLength: T }, every)),
      names
    );
    t.notThrows(() => model.predict({ inputs, sequenceLength: T }), 'the last step only: 600 KB');
    refused(
      t,
      t.throws(() => model.evaluate(labelled, { lossSteps: 'every' })),
      /forward pass/
    );
  });
  // Async: the outputs are also copied by the binding (and the inputs, on a plain ArrayBuffer).
  await withLimitAsync(20 * MiB, async () => {
    t.notThrows(() => model.predict({ inputs, sequenceLength: T }, every));
    refused(t, await t.throwsAsync(model.predictAsync({ inputs, sequenceLength: T }, every)), /forward pass/);
    refused(t, await t.throwsAsync(model.evaluateAsync(labelled, { lossSteps: 'every' })), /forward pass/);
  });
});
