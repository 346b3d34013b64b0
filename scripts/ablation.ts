/**
 * npm run ablation — the resynchronised modes' remedies (docs/ALGORITHM.md), one configuration per row, on mnist10k (test
 * accuracy) and next-character Metamorphosis (held-out cross-entropy, nats/char), each next
 * to the readout-only floor of its initialisation. Writes results/ablation.json and the
 * "Ablation" section of EXPERIMENTS.md (with --quick or --only: results/quick/ablation.json and
 * results/quick/EXPERIMENTS.md, so a partial run never replaces the full one).
 *
 *   npm run ablation -- [--budget 45] [--epochs 3] [--hidden 128] [--datasets mnist,text] [--only adjoint] [--quick]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CONFIGS } from './ablation/configs';
import { type Dataset, metamorphosis, mnist } from './ablation/datasets';
import { QUICK_RESULTS, renderAblation, replaceSection } from './ablation/report';
import { type RunResult, readoutFloor, run } from './ablation/runner';

const { values } = parseArgs({
  options: {
    budget: { type: 'string', default: '45' },
    epochs: { type: 'string', default: '3' },
    hidden: { type: 'string', default: '128' },
    datasets: { type: 'string', default: 'mnist,text' },
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});

async function main(): Promise<void> {
  const budget = values.quick ? 8 : Number(values.budget),
    epochs = values.quick ? 1 : Number(values.epochs),
    hidden = Number(values.hidden);
  const loaders: Record<string, () => Dataset> = { mnist, text: metamorphosis };
  const configs = CONFIGS.filter((c) => !values.only || c.name.includes(values.only));
  const command = `npm run ablation -- --budget ${budget} --epochs ${epochs} --hidden ${hidden} --datasets ${values.datasets}${values.only ? ` --only '${values.only}'` : ''}`;
  const results: RunResult[] = [];
  // A quick or partial (--only) run goes to results/quick/, never over the committed full run.
  const partial = values.quick || values.only !== undefined;
  const dir = partial ? QUICK_RESULTS : 'results';
  const out = values.out ?? (partial ? path.join(dir, 'EXPERIMENTS.md') : 'EXPERIMENTS.md');
  const machine = `${os.cpus()[0].model}, ${os.cpus().length} CPUs, Node ${process.version}`;
  // Saved after every run, so an interrupted ablation keeps what it measured.
  const save = () => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'ablation.json'),
      JSON.stringify({ command, machine, budget, epochs, hidden, date: new Date().toISOString(), results }, null, 1)
    );
    replaceSection(out, 'ablation', renderAblation(results, { command, machine, budget, epochs, hidden }));
  };
  for (const name of values.datasets!.split(',')) {
    const data = loaders[name]();
    const floors = new Map<string, number>();
    for (const config of configs) {
      const key = JSON.stringify(config.init);
      if (!floors.has(key)) floors.set(key, readoutFloor(data, hidden, config.init));
      const r = await run(config, data, hidden, budget, epochs, floors.get(key)!);
      results.push(r);
      save();
      const fmt = (v: number | undefined) => (v === undefined ? '—' : v.toFixed(4));
      console.log(
        `${name.padEnd(5)} ${config.name.padEnd(44)} floor ${fmt(r.floor)}  @${budget}s ${fmt(r.atBudget?.test)} (${r.atBudget?.epoch ?? 0} ep)  @${epochs}ep ${fmt(r.atEpochs?.test)} (${r.atEpochs?.trainSeconds.toFixed(1) ?? '—'} s)  best ${fmt(r.best?.test)}${r.refit === undefined ? '' : `  refit ${fmt(r.refit)}`}  ${r.status}`
      );
    }
  }
  console.log(`wrote ${path.join(dir, 'ablation.json')} and the ablation section of ${out}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
