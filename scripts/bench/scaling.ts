/**
 * Time per exact persistent iteration against N (synthetic sequences, h = 128) and against h
 * (fixed N): one warm-up iteration, then the best of the timed ones. Large N runs chunked
 * (chunkSize) so memory stays bounded; the chunk count does not change the flops.
 */
import { AdmmTrainer, RNN } from '../../lib';
import { D, K, syntheticData } from './synthetic';

export interface ScalingRow {
  N: number;
  h: number;
  seconds: number;
}

export async function timeIteration(N: number, h: number, timed: number, chunkSize: number): Promise<ScalingRow> {
  const data = syntheticData(N);
  const model = new RNN({ inputSize: D, hiddenSize: h, outputSize: K, init: { scale: 0.1, seed: 0 } });
  const trainer = new AdmmTrainer(model, { mode: 'persistent', ...(N > chunkSize ? { chunkSize } : {}) });
  await trainer.initialise(data);
  let best = Infinity;
  for (let i = 0; i <= timed; i++) {
    const t = performance.now();
    await trainer.step();
    if (i > 0) best = Math.min(best, (performance.now() - t) / 1000);
  }
  return { N, h, seconds: best };
}

/** Least-squares fit seconds ≈ a + b·x; returns b and the worst relative deviation from the line. */
export function linearFit(xs: number[], ys: number[]): { slope: number; intercept: number; worst: number } {
  const n = xs.length,
    mx = xs.reduce((a, b) => a + b) / n,
    my = ys.reduce((a, b) => a + b) / n;
  let sxy = 0,
    sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const slope = sxy / sxx,
    intercept = my - slope * mx;
  const worst = Math.max(...xs.map((x, i) => Math.abs(ys[i] - (intercept + slope * x)) / ys[i]));
  return { slope, intercept, worst };
}

export function formatScalingN(rows: ScalingRow[]): string[] {
  const fit = linearFit(
    rows.map((r) => r.N),
    rows.map((r) => r.seconds)
  );
  const lines = ['| N | seconds / iteration | ms per 1k sequences |', '|---:|---:|---:|'];
  for (const r of rows) lines.push(`| ${r.N} | ${r.seconds.toFixed(3)} | ${((r.seconds / r.N) * 1e6).toFixed(1)} |`);
  lines.push('');
  lines.push(
    `linear fit: ${(fit.slope * 1e6).toFixed(1)} ms per 1k sequences + ${fit.intercept.toFixed(3)} s; worst relative deviation from the line ${(fit.worst * 100).toFixed(0)}%`
  );
  return lines;
}

export function formatScalingH(rows: ScalingRow[]): string[] {
  const lines = ['| h | seconds / iteration | ratio to previous h |', '|---:|---:|---:|'];
  rows.forEach((r, i) =>
    lines.push(`| ${r.h} | ${r.seconds.toFixed(3)} | ${i ? (r.seconds / rows[i - 1].seconds).toFixed(2) : ''} |`)
  );
  return lines;
}
