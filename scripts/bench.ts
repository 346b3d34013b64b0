/**
 * npm run bench [-- --quick] — every performance figure of issue 7 in one invocation, each next
 * to the limit or peer measured in the same run: the ADMM iteration against an SGEMM, BPTT
 * against PyTorch CPU and TensorFlow.js, peak RSS against the theoretical working set, and the
 * scaling of an iteration with N and h. Prints markdown (pasted into BENCHMARKS.md) and ends with
 *   admm sgemm fraction: X.XX
 *   bptt pytorch ratio: X.XX
 *   local-duals / adjoint epoch ratio: X.XX   (fastest epoch of each, alternating runs)
 * --quick: fewer repetitions and smaller sizes (N ≤ 16k for scaling, 10k for memory).
 */
import os from 'node:os';
import { getThreads, loadMnist10k } from '../lib';
import { measureAdmmEpochs } from './bench/admm-epoch';
import { compareLocalDuals, formatComparison } from './bench/local-duals';
import { formatIteration, measureIteration } from './bench/admm-iteration';
import { median, runBpttPair } from './bench/bptt-pytorch';
import { measureTfjsEpoch } from './bench/bptt-tfjs';
import { formatMemory, measureMemory, type MemoryRow } from './bench/memory';
import { formatScalingH, formatScalingN, timeIteration, type ScalingRow } from './bench/scaling';

const quick = process.argv.includes('--quick');
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');

async function main(): Promise<void> {
  console.log(`## Machine\n`);
  console.log(
    `${os.cpus()[0].model}, ${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(1)} GB RAM; node ${process.version}; threads ${JSON.stringify(getThreads())}`
  );
  console.log(`load average at start: ${load()}${quick ? ' (--quick)' : ''}\n`);

  console.log(`## ADMM iteration (persistent, exact, mnist10k N = 8000, T = 28, d = 28, h = 128)\n`);
  const it = await measureIteration(loadMnist10k().train, 128, quick ? 1 : 3);
  for (const line of formatIteration(it)) console.log(line);
  const admmFraction = it.fraction;
  console.log(`load average: ${load()}\n`);

  console.log(`## BPTT epoch (mnist10k, h = 128, batch 128, Adam)\n`);
  const pair = await runBpttPair(quick ? 2 : 5);
  const tfjs = await measureTfjsEpoch(quick ? 2 : 4);
  const ours = median(pair.ours.seconds),
    torch = median(pair.torch.seconds);
  console.log('| trainer | threads | training-loop seconds per epoch (median) | ours ÷ peer |');
  console.log('|---|---|---:|---:|');
  console.log(`| admmirnn BpttTrainer | ${JSON.stringify(pair.threads)} | ${ours.toFixed(2)} | |`);
  console.log(
    `| PyTorch ${pair.torch.torch} (fastest plain loop: Adam foreach ${pair.torch.foreach}) | ${pair.torch.threads} | ${torch.toFixed(2)} | ${(ours / torch).toFixed(2)} |`
  );
  console.log(
    `| tfjs ${tfjs.version} (${tfjs.backend}, extrapolated from ${tfjs.batchesTimed} batches) | 1 (JS) | ${tfjs.epochSeconds.toFixed(1)} | ${(ours / tfjs.epochSeconds).toFixed(3)} |`
  );
  console.log(
    `\nepochs ours: ${pair.ours.seconds.map((s) => s.toFixed(2)).join(' ')}; pytorch: ${pair.torch.seconds.map((s) => s.toFixed(2)).join(' ')}; test accuracy ours ${pair.ours.testAccuracy.toFixed(3)}, pytorch ${pair.torch.testAccuracy.toFixed(3)}`
  );
  console.log(`load average: ${load()}\n`);

  console.log(`## Default ADMM mode (adjoint) epoch, same data, batch and initial weights\n`);
  const admm = await measureAdmmEpochs(quick ? 2 : 5);
  const admmEpoch = median(admm.seconds);
  // The ADMM epoch includes its training-set loss pass: against our BPTT epoch with the same pass,
  // and against PyTorch's training loop alone (which flatters PyTorch).
  const oursWhole = median(pair.ours.epochSeconds);
  console.log('| trainer | epoch seconds (median) | ÷ our BPTT-Adam epoch | ÷ PyTorch BPTT-Adam training loop |');
  console.log('|---|---:|---:|---:|');
  console.log(
    `| AdmmTrainer, mode 'adjoint' | ${admmEpoch.toFixed(2)} | ${(admmEpoch / oursWhole).toFixed(2)} | ${(admmEpoch / torch).toFixed(2)} |`
  );
  console.log(
    `\nepochs: ${admm.seconds.map((s) => s.toFixed(2)).join(' ')}; test accuracy after ${admm.seconds.length} epochs ${admm.testAccuracy.toFixed(3)}`
  );
  console.log(`load average: ${load()}\n`);

  console.log(
    `## Gradient-free mode ('local-duals') against the default ('adjoint'), mnist10k, h = 128, same init and seed\n`
  );
  const duals = await compareLocalDuals(quick ? 1 : 3, quick ? 1 : 2);
  for (const line of formatComparison(duals)) console.log(line);
  console.log(`load average: ${load()}\n`);

  const N = quick ? 10000 : 60000;
  console.log(`## Peak RSS (synthetic N = ${N}, T = 28, d = 28, h = 128; one child process per row)\n`);
  const memory: MemoryRow[] = [];
  for (const [mode, chunk] of [
    ['persistent', 4096],
    ['persistent', 0],
    ['persistent', -1],
    ['adjoint', 0],
    ['local-duals', 0],
    ['sweeps', 0],
  ] as const)
    memory.push(measureMemory(mode, N, chunk, quick ? 5 : 20));
  for (const line of formatMemory(memory)) console.log(line);
  console.log(`load average: ${load()}\n`);

  console.log(`## Scaling of one exact persistent iteration (synthetic, T = 28, d = 28; chunkSize 8192 above 8192)\n`);
  const sizes = quick ? [1000, 2000, 4000, 8000, 16000] : [1000, 2000, 4000, 8000, 16000, 32000, 60000];
  const byN: ScalingRow[] = [];
  for (const n of sizes) byN.push(await timeIteration(n, 128, quick ? 1 : 2, 8192));
  for (const line of formatScalingN(byN)) console.log(line);
  console.log('');
  const byH: ScalingRow[] = [];
  for (const h of quick ? [32, 64, 128, 256] : [32, 64, 128, 256, 512]) byH.push(await timeIteration(2000, h, 1, 8192));
  console.log('N = 2000:\n');
  for (const line of formatScalingH(byH)) console.log(line);
  console.log(`load average at end: ${load()}\n`);

  console.log(`admm sgemm fraction: ${admmFraction.toFixed(2)}`);
  console.log(`bptt pytorch ratio: ${(ours / torch).toFixed(2)}`);
  console.log(`local-duals / adjoint epoch ratio: ${duals.ratio.toFixed(2)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
