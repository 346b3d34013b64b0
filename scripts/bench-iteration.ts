/**
 * npm run bench:iteration — one exact ADMM iteration over the 8,000 mnist10k training
 * sequences (T = 28, d = 28, h = 128): time per block and achieved GFLOP/s, next to an SGEMM
 * of comparable size measured in the same run. Not a test: it prints figures.
 * The measurement lives in scripts/bench/admm-iteration.ts (npm run bench uses it too).
 *
 *   npm run bench:iteration -- --hidden 128 --iterations 3
 */
import { parseArgs } from 'node:util';
import os from 'node:os';
import { loadMnist10k } from '../lib';
import { native } from '../lib/native-entry';
import { formatIteration, measureIteration } from './bench/admm-iteration';

const { values } = parseArgs({
  options: { hidden: { type: 'string', default: '128' }, iterations: { type: 'string', default: '3' } },
});

async function main(): Promise<void> {
  const h = Number(values.hidden),
    iterations = Number(values.iterations);
  const r = await measureIteration(loadMnist10k().train, h, iterations);
  console.log(
    `machine: ${os.cpus()[0].model}, ${os.cpus().length} CPUs; BLAS threads ${native.getThreads().blas}, elementwise ${native.getThreads().elementwise}`
  );
  console.log(
    `problem: N = ${r.N}, T = ${r.T}, d = ${r.d}, h = ${r.h}, K = ${r.K}; best of ${iterations} timed iterations per block, ${2 * iterations + 1} paired steps`
  );
  for (const line of formatIteration(r)) console.log(line);
  console.log(`admm sgemm fraction: ${r.fraction.toFixed(2)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
