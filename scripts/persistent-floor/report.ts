/** REPORT.md of scripts/persistent-floor.ts: the block-by-block first iteration and the curves. */
import type { BlockPoint, Curve } from '../persistent-floor';

export interface FloorResults {
  floor: number;
  hidden: number;
  iterations: number;
  blocks: Record<string, BlockPoint[]>;
  curves: Record<string, Curve>;
}

const f3 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(3));

export function renderReport(r: FloorResults): string {
  const lines = [
    '# The persistent loop against its readout-only floor (mnist10k)',
    '',
    `Regenerate: \`npm run persistent-floor\` (h = ${r.hidden}, init N(0, 0.1²) seed 0, 8000 train / 2000 test, ` +
      `${r.iterations} iterations). Readout-only floor (test): **${f3(r.floor)}**; ` +
      `target floor + 0.10 = ${f3(r.floor + 0.1)}.`,
    '',
    '## The first iteration, block by block',
    '',
  ];
  for (const [start, points] of Object.entries(r.blocks)) {
    lines.push(`Start: ${start}`, '');
    lines.push('| after block | train loss | train acc | test acc | auxiliary loss of o |', '|---|---|---|---|---|');
    for (const p of points) {
      const values = [p.trainLoss, p.trainAccuracy, p.testAccuracy, p.auxiliaryLoss].map(f3);
      lines.push(`| ${[p.after, ...values].join(' | ')} |`);
    }
    lines.push('');
  }
  lines.push('## Test accuracy per iteration', '');
  lines.push('| variant | start | it 1 | it 10 | it 30 | it 60 | best | first it ≥ floor + 0.10 | s |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const c of Object.values(r.curves)) {
    const hit = c.test.findIndex((a) => a >= r.floor + 0.1);
    const at = (i: number) => f3(c.test[i - 1]);
    const cells = [
      `${c.variant}: ${c.description}`,
      f3(c.start),
      at(1),
      at(10),
      at(30),
      at(60),
      f3(Math.max(...c.test)),
      hit < 0 ? '—' : String(hit + 1),
      c.seconds.toFixed(0),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push(
    '',
    "*start*: test accuracy of the model handed to the trainer (variants that use the library's warm start " +
      "refit its readout inside fit, so their start is the random readout's). *s*: wall seconds of the run " +
      "(a shared, loaded machine). Every iteration's test and training accuracy, loss and ρ: curves.json " +
      'beside this report.',
    ''
  );
  return lines.join('\n');
}
