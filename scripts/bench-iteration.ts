/**
 * npm run bench:iteration — one exact ADMM iteration over the 8,000 mnist10k training
 * sequences (T = 28, d = 28, h = 128): time per block and achieved GFLOP/s, next to an SGEMM
 * of comparable size measured in the same run. Not a test: it prints figures.
 *
 *   npm run bench:iteration -- --hidden 128 --iterations 3
 */
import { parseArgs } from 'node:util';
import os from 'node:os';
import { AdmmTrainer, RNN, loadMnist10k, native } from '../lib';
import { refreshAffine, updateInputWeights, updateOutputs, updateOutputWeights, updatePreactivations, updateStates } from '../lib/admm/blocks';
import { measureAndAscend } from '../lib/admm/duals';

/** METHOD.md's full-batch loop (not the default mode). */
const PERSISTENT = { mode: 'persistent' } as const;

const { values } = parseArgs({ options: { hidden: { type: 'string', default: '128' }, iterations: { type: 'string', default: '3' } } });

/** BLAS flops of one exact iteration (see the comment per term). */
function iterationFlops(N: number, T: number, d: number, h: number, K: number): Record<string, number> {
  const rows = N * T;
  return {
    // Gram (syrk) and right-hand side (gemm) of [x; s_{t-1}; 1]
    uwb: rows * (d * d + 2 * d * h + h * h + 2 * h * d + 2 * h * h),
    // XU = XUᵀ + b and P = XU + S_{t-1}Wᵀ before the a-step
    affine: 2 * rows * d * h + 2 * rows * h * h,
    // right-hand sides Wᵀ(·) and two triangular solves per step
    s: 2 * rows * h * h + 2 * rows * h * h + 2 * N * K * h,
    vc: N * h * h + 2 * N * K * h,
    o: 2 * N * K * h,
    // P again (new states) and the readout for the duals
    duals: 2 * rows * h * h + 2 * N * K * h,
    // the true forward pass
    forward: 2 * rows * (d * h + h * h) + 2 * N * K * h,
  };
}

function sgemmRate(m: number, n: number, k: number, reps: number): number {
  const A = new Float32Array(m * k).fill(0.5), B = new Float32Array(k * n).fill(0.25), C = new Float32Array(m * n);
  native.sgemm({ m, n, k, A, B, C });
  const t = performance.now();
  for (let i = 0; i < reps; i++) native.sgemm({ m, n, k, A, B, C });
  return (2 * m * n * k * reps) / ((performance.now() - t) / 1000) / 1e9;
}

async function main(): Promise<void> {
  const h = Number(values.hidden), iterations = Number(values.iterations);
  const { train } = loadMnist10k();
  const N = train.targets.length, T = 28, d = 28, K = 10;
  const model = new RNN({ inputSize: d, hiddenSize: h, outputSize: K, init: { seed: 0 } });
  const trainer = new AdmmTrainer(model, PERSISTENT);
  await trainer.initialise(train);
  const st = trainer.state!;
  const cfg = { linearized: false };
  const blocks: [string, () => Promise<unknown>][] = [
    ['uwb', () => updateInputWeights(st, model, cfg)],
    ['affine', () => refreshAffine(st, model)],
    ['a', () => updatePreactivations(st, model, cfg)],
    ['s', () => updateStates(st, model, cfg)],
    ['vc', () => updateOutputWeights(st, model, cfg)],
    ['o', () => updateOutputs(st, model)],
    ['duals', () => measureAndAscend(st, model, [1, 1, 1], true)],
    ['forward', () => native.forwardAsync({ shape: st.shape, ...st.inputs, ...model.weights(), O: st.forwardOutputs })],
  ];
  const flops = iterationFlops(N, T, d, h, K);
  const totalFlops = Object.values(flops).reduce((a, b) => a + b, 0);
  const seconds: Record<string, number[]> = {};
  for (let it = 0; it <= iterations; it++) {
    for (const [name, run] of blocks) {
      const t = performance.now();
      await run();
      if (it > 0) (seconds[name] ??= []).push((performance.now() - t) / 1000);  // iteration 0 warms up (page faults)
    }
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const sgemmSquare = sgemmRate(2048, 2048, 2048, 3);
  const sgemmShaped = sgemmRate(N * T, h, h, 3);
  console.log(`machine: ${os.cpus()[0].model}, ${os.cpus().length} CPUs; BLAS threads ${native.getThreads().blas}, elementwise ${native.getThreads().elementwise}`);
  console.log(`problem: N = ${N}, T = ${T}, d = ${d}, h = ${h}, K = ${K}; ${iterations} timed iterations (median per block)`);
  let total = 0;
  for (const [name] of blocks) {
    const s = median(seconds[name]);
    total += s;
    const f = flops[name] ?? 0;
    console.log(`  ${name.padEnd(8)} ${(s * 1000).toFixed(1).padStart(8)} ms  ${f ? ((f / s) / 1e9).toFixed(1).padStart(6) + ' GFLOP/s' : ''}`);
  }
  const rate = totalFlops / total / 1e9;
  console.log(`iteration: ${total.toFixed(3)} s, ${(totalFlops / 1e9).toFixed(1)} GFLOP → ${rate.toFixed(1)} GFLOP/s`);
  console.log(`sgemm 2048³: ${sgemmSquare.toFixed(1)} GFLOP/s; sgemm ${N * T}×${h}×${h}: ${sgemmShaped.toFixed(1)} GFLOP/s`);
  console.log(`admm iteration / sgemm (2048³): ${(rate / sgemmSquare).toFixed(2)}`);
  console.log(`admm sgemm fraction: ${(rate / sgemmShaped).toFixed(2)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
