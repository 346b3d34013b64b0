/**
 * Memory soak: `npm run soak [-- --iterations 10000]`. 10,000 ADMM iterations and 10,000 BPTT
 * mini-batch steps on a small problem, sampling RSS (after a forced GC) as they go; a
 * least-squares slope over the samples after warm-up must stay near zero. Fits run in chunks
 * with `resume: true` so the growing history of one long fit is not mistaken for a leak.
 * npm run soak fixes V8's young generation at 16 MB (--min/--max-semi-space-size): otherwise
 * V8 grows it in steps over the first ~20,000 iterations (8 → 40 MB heapTotal), which reads as
 * a slope. The native share (RSS − V8 heapTotal) is printed too.
 */
import { AdmmTrainer, BpttTrainer, RNN, Random } from '../lib';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const argIndex = process.argv.indexOf('--iterations');
const ITERATIONS = argIndex < 0 ? 10000 : Number(process.argv[argIndex + 1]);
const CHUNK = 100,
  WARMUP = 0.2;
/** 1 MB over 10,000 iterations. */
const MAX_SLOPE = 100;

function problem() {
  const N = 16,
    T = 4,
    d = 3,
    h = 6,
    K = 3,
    rng = new Random(1);
  const data = {
    inputs: Float32Array.from({ length: N * T * d }, () => rng.normal()),
    targets: Int32Array.from({ length: N }, () => rng.int(K)),
    sequenceLength: T,
  };
  return { data, model: new RNN({ inputSize: d, hiddenSize: h, outputSize: K, init: { seed: 1 } }), N };
}

/** Bytes per iteration: least-squares slope of RSS against the iteration. */
function slope(samples: [number, number][]): number {
  const n = samples.length,
    mx = samples.reduce((s, [x]) => s + x, 0) / n,
    my = samples.reduce((s, [, y]) => s + y, 0) / n;
  let sxy = 0,
    sxx = 0;
  for (const [x, y] of samples) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxy / sxx;
}

async function soak(name: string, chunk: (resume: boolean) => Promise<number>): Promise<boolean> {
  const samples: [number, number][] = [],
    native: [number, number][] = [];
  const started = performance.now();
  for (let done = 0; done < ITERATIONS;) {
    done += await chunk(done > 0);
    gc();
    const m = process.memoryUsage();
    samples.push([done, m.rss]);
    native.push([done, m.rss - m.heapTotal]);
  }
  const steady = samples.slice(Math.floor(samples.length * WARMUP));
  const perIteration = slope(steady),
    nativePerIteration = slope(native.slice(Math.floor(native.length * WARMUP)));
  const mb = (b: number) => (b / 2 ** 20).toFixed(1);
  console.log(
    `${name}: ${ITERATIONS} iterations in ${((performance.now() - started) / 1000).toFixed(1)} s; RSS ${mb(samples[0][1])} → ${mb(samples[samples.length - 1][1])} MB; ` +
      `slope after warm-up ${perIteration.toFixed(2)} bytes/iteration (limit ${MAX_SLOPE}), outside the V8 heap ${nativePerIteration.toFixed(2)}`
  );
  return Math.abs(perIteration) <= MAX_SLOPE;
}

async function main(): Promise<void> {
  const admm = problem();
  const admmTrainer = new AdmmTrainer(admm.model, { mode: 'persistent', rho: 1, rhoPolicy: { kind: 'fixed' } });
  const admmOk = await soak('ADMM iterations', async (resume) => {
    const r = await admmTrainer.fit(admm.data, { maxIterations: CHUNK, resume });
    if (r.status !== 'max-iterations') throw new Error(`ADMM fit ended with ${r.status}: ${r.message}`);
    return r.history.length;
  });
  const bptt = problem();
  const batchSize = 4,
    stepsPerEpoch = Math.ceil(bptt.N / batchSize);
  const bpttTrainer = new BpttTrainer(bptt.model, { optimizer: { kind: 'adam', lr: 1e-3 }, batchSize });
  const bpttOk = await soak('BPTT steps', async (resume) => {
    const r = await bpttTrainer.fit(bptt.data, { maxIterations: CHUNK / stepsPerEpoch, resume });
    if (r.status !== 'max-iterations') throw new Error(`BPTT fit ended with ${r.status}: ${r.message}`);
    return r.history.length * stepsPerEpoch;
  });
  process.exitCode = admmOk && bpttOk ? 0 : 1;
}

void main();
