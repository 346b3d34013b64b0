/**
 * Time per epoch of BPTT + Adam on mnist10k, ours next to PyTorch CPU's fastest plain loop, in one
 * invocation (the measurement lives in scripts/bench/bptt-pytorch.ts; npm run bench uses it too).
 * Both sides time the training loop only. The ratio uses median epoch times, which a shared
 * machine's load disturbs less than means.
 *
 *   node dist/scripts/bench-bptt.js [epochs = 10]
 */
import { BATCH, H, median, runBpttPair } from './bench/bptt-pytorch';

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const fmt = (values: number[]) => values.map((v) => v.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const epochs = Number(process.argv[2] ?? 10);
  if (!Number.isInteger(epochs) || epochs < 1)
    throw new RangeError(`epochs must be a positive integer, got ${process.argv[2]}`);
  const r = await runBpttPair(epochs);
  console.log(
    `mnist10k: ${r.nTrain} train, h = ${H}, batch ${BATCH}, Adam lr 1e-3, ${epochs} epochs; ours: threads ${JSON.stringify(r.threads)}`
  );
  console.log(`ours    epoch seconds (training loop): ${fmt(r.ours.seconds)}`);
  console.log(`ours    epoch seconds with the training-set loss pass: ${fmt(r.ours.epochSeconds)}`);
  console.log(`ours    train loss:    ${fmt(r.ours.losses)}`);
  console.log(`ours    test accuracy after ${epochs} epochs: ${r.ours.testAccuracy.toFixed(4)}`);
  for (const p of r.peers)
    console.log(
      `pytorch ${p.torch} (${p.threads} threads, Adam foreach ${p.foreach}) epoch seconds (training loop): ${fmt(p.seconds)}`
    );
  console.log(`pytorch fastest: ${r.torch.threads} threads, Adam foreach ${r.torch.foreach}`);
  console.log(`pytorch train loss:    ${fmt(r.torch.losses)}`);
  console.log(`pytorch test accuracy after ${epochs} epochs: ${r.torch.testAccuracy.toFixed(4)}`);
  console.log(
    `epoch seconds median / mean: ours ${median(r.ours.seconds).toFixed(3)} / ${mean(r.ours.seconds).toFixed(3)}, pytorch ${median(r.torch.seconds).toFixed(3)} / ${mean(r.torch.seconds).toFixed(3)}`
  );
  console.log(`epoch seconds ratio (ours/pytorch): ${(median(r.ours.seconds) / median(r.torch.seconds)).toFixed(2)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
