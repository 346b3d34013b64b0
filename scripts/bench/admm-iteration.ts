/**
 * One exact persistent ADMM iteration: block by block (seconds and BLAS flops of each, blocks
 * run one at a time), then whole iterations as the trainer runs them (AdmmTrainer.step, where
 * the forward pass overlaps the TypeScript dual ascent), and an SGEMM of comparable shape
 * (N·T × h × h) timed in the same process between the iterations, so the ratio (best of each)
 * is taken under the same load. The fraction uses the whole-iteration time; it is also given
 * against the same product computed in row blocks, as the kernels compute theirs. Shared by scripts/bench-iteration.ts and npm run bench.
 */
import { AdmmTrainer, RNN, type TrainingData } from '../../lib';
import { nativeHooks } from '../../lib/internal/test-hooks';
import { native } from '../../lib/native-entry';
import {
  ascendDuals,
  refreshAffine,
  updateInputWeights,
  updateOutputs,
  updateOutputWeights,
  updatePreactivations,
  updateStates,
} from '../../lib/admm/persistent/blocks';
import { median } from './bptt-pytorch';

/** BLAS flops of one exact iteration (see the comment per term). */
export function iterationFlops(N: number, T: number, d: number, h: number, K: number): Record<string, number> {
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

/**
 * Best-of-`reps` GFLOP/s of C = A B, m×k times k×n: one OpenBLAS call with its own threading
 * (the internal hook sgemmThreaded), or (`rowBlocks`, `native.sgemm`) row blocks side by side on
 * single-threaded OpenBLAS, as the kernels run.
 */
export function sgemmRate(m: number, n: number, k: number, reps: number, rowBlocks = false): number {
  const A = new Float32Array(m * k).fill(0.5),
    B = new Float32Array(k * n).fill(0.25),
    C = new Float32Array(m * n);
  const sgemm = rowBlocks ? native.sgemm : nativeHooks.sgemmThreaded;
  sgemm({ m, n, k, A, B, C });
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    sgemm({ m, n, k, A, B, C });
    best = Math.min(best, performance.now() - t);
  }
  return (2 * m * n * k) / (best / 1000) / 1e9;
}

export interface IterationResult {
  N: number;
  T: number;
  d: number;
  h: number;
  K: number;
  /** Best seconds per block over the timed iterations. */
  seconds: Record<string, number>;
  flops: Record<string, number>;
  /** Sum of the blocks run one at a time. */
  totalSeconds: number;
  /** Best AdmmTrainer.step() seconds: the iteration as training runs it. */
  stepSeconds: number;
  /** All BLAS flops of an iteration ÷ stepSeconds. */
  gflops: number;
  sgemmShaped: number;
  sgemmSquare: number;
  /**
   * Each timed step paired with the shaped SGEMM timed right after it: (step GFLOP/s ÷ that
   * SGEMM's GFLOP/s) per pair. On a shared machine the two halves of a pair see the same load,
   * so their median (`fraction`) is steadier than a ratio of two best-ofs taken minutes apart.
   */
  pairedFractions: number[];
  fraction: number;
  /**
   * The same pairs against the shaped product computed as the kernels compute theirs (row
   * blocks on single-threaded OpenBLAS side by side), which beats OpenBLAS's own threading on
   * this shape: the stricter reference. Its best-of rate is sgemmRowBlocks.
   */
  sgemmRowBlocks: number;
  pairedRowBlockFractions: number[];
  fractionRowBlocks: number;
}

/**
 * Times `iterations` exact iterations block by block (after one warm-up), then 2·iterations + 1
 * whole `AdmmTrainer.step`s, each followed by a shaped SGEMM, on the persistent loop over `data`.
 */
export async function measureIteration(data: TrainingData, h: number, iterations: number): Promise<IterationResult> {
  const T = data.sequenceLength,
    N = (data.targets as Int32Array).length,
    d = data.inputs.length / (N * T),
    K = 10;
  const model = new RNN({ inputSize: d, hiddenSize: h, outputSize: K, init: { seed: 0 } });
  const trainer = new AdmmTrainer(model, { mode: 'persistent' });
  await trainer.initialise(data);
  const st = trainer.state!;
  const cfg = { linearized: false };
  const blocks: [string, () => Promise<unknown>][] = [
    ['uwb', () => updateInputWeights(st, model, cfg)],
    ['affine', () => refreshAffine(st, model)],
    ['a', () => updatePreactivations(st, st, model, cfg)],
    ['s', () => updateStates(st, st, model, cfg)],
    ['vc', () => updateOutputWeights(st, model, cfg)],
    ['o', () => updateOutputs(st, st, model)],
    ['duals', () => ascendDuals(st, model, [1, 1, 1], true)],
    ['forward', () => native.forwardAsync({ shape: st.shape, ...st.inputs, ...model.weights(), O: st.forwardOutputs })],
  ];
  const seconds: Record<string, number> = {};
  let sgemmShaped = 0;
  for (let it = 0; it <= iterations; it++) {
    for (const [name, run] of blocks) {
      const t = performance.now();
      await run();
      const s = (performance.now() - t) / 1000;
      if (it > 0) seconds[name] = Math.min(seconds[name] ?? Infinity, s); // iteration 0 warms up (page faults)
    }
    // Interleaved with the iterations, so both best-of figures see the same (shared, noisy) machine.
    if (it > 0) sgemmShaped = Math.max(sgemmShaped, sgemmRate(N * T, h, h, 2));
  }
  const flops = iterationFlops(N, T, d, h, K);
  const totalFlops = Object.values(flops).reduce((a, b) => a + b, 0);
  let stepSeconds = Infinity;
  const pairedFractions: number[] = [],
    pairedRowBlockFractions: number[] = [];
  let sgemmRowBlocks = 0;
  for (let it = 0; it < 2 * iterations + 1; it++) {
    const t = performance.now();
    await trainer.step();
    const step = (performance.now() - t) / 1000,
      sgemm = sgemmRate(N * T, h, h, 2),
      blocked = sgemmRate(N * T, h, h, 2, true);
    stepSeconds = Math.min(stepSeconds, step);
    sgemmShaped = Math.max(sgemmShaped, sgemm);
    sgemmRowBlocks = Math.max(sgemmRowBlocks, blocked);
    pairedFractions.push(totalFlops / step / 1e9 / sgemm);
    pairedRowBlockFractions.push(totalFlops / step / 1e9 / blocked);
  }
  const totalSeconds = Object.values(seconds).reduce((a, b) => a + b, 0);
  return {
    N,
    T,
    d,
    h,
    K,
    seconds,
    flops,
    totalSeconds,
    stepSeconds,
    gflops: totalFlops / stepSeconds / 1e9,
    sgemmShaped,
    sgemmSquare: sgemmRate(2048, 2048, 2048, 2),
    pairedFractions,
    fraction: median(pairedFractions),
    sgemmRowBlocks,
    pairedRowBlockFractions,
    fractionRowBlocks: median(pairedRowBlockFractions),
  };
}

/** The per-block table and the summary lines, as printed by both benchmarks. */
export function formatIteration(r: IterationResult): string[] {
  const lines = [`| block | ms | GFLOP/s |`, `|---|---:|---:|`];
  for (const [name, s] of Object.entries(r.seconds)) {
    const f = r.flops[name] ?? 0;
    lines.push(`| ${name} | ${(s * 1000).toFixed(1)} | ${f ? (f / s / 1e9).toFixed(1) : ''} |`);
  }
  const totalFlops = Object.values(r.flops).reduce((a, b) => a + b, 0);
  lines.push(
    `| sum of the blocks | ${(r.totalSeconds * 1000).toFixed(1)} | ${(totalFlops / r.totalSeconds / 1e9).toFixed(1)} |`
  );
  lines.push(`| **iteration (AdmmTrainer.step)** | ${(r.stepSeconds * 1000).toFixed(1)} | ${r.gflops.toFixed(1)} |`);
  lines.push('');
  lines.push(
    `same-run sgemm ${r.N * r.T}×${r.h}×${r.h}: ${r.sgemmShaped.toFixed(1)} GFLOP/s; sgemm 2048³: ${r.sgemmSquare.toFixed(1)} GFLOP/s`
  );
  lines.push(
    `best-of ratios: admm iteration / sgemm 2048³: ${(r.gflops / r.sgemmSquare).toFixed(2)}; / shaped sgemm: ${(r.gflops / r.sgemmShaped).toFixed(2)}`
  );
  lines.push(
    `paired (step, shaped sgemm right after) ratios: ${r.pairedFractions.map((f) => f.toFixed(2)).join(' ')}; median ${r.fraction.toFixed(2)}`
  );
  lines.push(
    `row-blocked shaped sgemm (as the kernels run their products): ${r.sgemmRowBlocks.toFixed(1)} GFLOP/s; paired ratios ${r.pairedRowBlockFractions.map((f) => f.toFixed(2)).join(' ')}; median ${r.fractionRowBlocks.toFixed(2)}`
  );
  return lines;
}
