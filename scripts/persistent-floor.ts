/**
 * npm run persistent-floor — the paper's loop ('persistent') against its readout-only floor on
 * mnist10k (issue 16, item 4). Two parts:
 *   1. why iteration 1 collapses: the true forward pass's training loss and accuracy, and the
 *      auxiliary outputs' loss, after each block of the first iteration (single-block methods);
 *   2. curves: test accuracy per iteration for each start/ρ variant, up to --iterations.
 * Writes results/persistent-floor/curves.json and REPORT.md.
 *
 *   node dist/scripts/persistent-floor.js [--iterations 60] [--variants a,b] [--hidden 128] [--out DIR]
 *                                         [--blocks-only] [--report-only]
 * Curves already in DIR/curves.json are kept (a run adds or replaces the variants it runs);
 * --report-only rewrites REPORT.md from curves.json without training.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AdmmTrainer, type AdmmTrainerOptions, RNN, type TrainingData, refitReadout, stopAscentWorkers } from '../lib';
import { mnistData } from './experiments/data';
import { PERSISTENT_VARIANTS, type Variant } from './persistent-floor/variants';
import { renderReport } from './persistent-floor/report';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '60' },
    variants: { type: 'string', default: Object.keys(PERSISTENT_VARIANTS).join(',') },
    hidden: { type: 'string', default: '128' },
    out: { type: 'string', default: 'results/persistent-floor' },
    'blocks-only': { type: 'boolean', default: false },
    'report-only': { type: 'boolean', default: false },
  },
});

const iterations = Number(values.iterations),
  hidden = Number(values.hidden);
if (!(Number.isInteger(iterations) && iterations > 0))
  throw new RangeError(`--iterations: a positive integer, got ${values.iterations}`);
if (!(Number.isInteger(hidden) && hidden > 0))
  throw new RangeError(`--hidden: a positive integer, got ${values.hidden}`);
const variantNames = values.variants.split(',');
for (const v of variantNames)
  if (!PERSISTENT_VARIANTS[v])
    throw new RangeError(`--variants: unknown '${v}' (${Object.keys(PERSISTENT_VARIANTS).join(', ')})`);

const data = mnistData();
const newModel = () =>
  new RNN({ inputSize: 28, hiddenSize: hidden, outputSize: 10, init: { scheme: 'normal', scale: 0.1, seed: 0 } });
const accuracy = (model: RNN, split: TrainingData) => model.evaluate(split).accuracy;

export interface BlockPoint {
  after: string;
  trainLoss: number;
  trainAccuracy: number;
  testAccuracy: number;
  auxiliaryLoss: number;
}

/** Part 1: the first iteration block by block. */
async function firstIterationByBlock(options: AdmmTrainerOptions): Promise<BlockPoint[]> {
  const model = newModel();
  const trainer = new AdmmTrainer(model, { ...options, mode: 'persistent' });
  await trainer.initialise(data.train);
  const points: BlockPoint[] = [];
  const note = async (after: string) => {
    const e = model.evaluate(data.train);
    const st = trainer.state!;
    let aux = 0;
    for (let n = 0; n < st.shape.N; n++) {
      const o = st.O.subarray(n * 10, n * 10 + 10);
      const y = st.targets.loss === 'softmax-cross-entropy' ? st.targets.labels[n] : 0;
      const max = Math.max(...o);
      aux += max + Math.log(o.reduce((s, v) => s + Math.exp(v - max), 0)) - o[y];
    }
    const testAccuracy = accuracy(model, data.test);
    points.push({ after, trainLoss: e.loss, trainAccuracy: e.accuracy, testAccuracy, auxiliaryLoss: aux / st.shape.N });
  };
  await note('start');
  const blocks: [string, () => Promise<void>][] = [
    ['1 (U,W,b)', () => trainer.updateInputWeights()],
    ['2 a', () => trainer.updatePreactivations()],
    ['3 s', () => trainer.updateStates()],
    ['4 (V,c)', () => trainer.updateOutputWeights()],
    ['5 o', () => trainer.updateOutputs()],
    ['6 duals', () => trainer.updateDuals()],
  ];
  for (const [name, block] of blocks) {
    await block();
    await note(name);
  }
  return points;
}

export interface Curve {
  variant: string;
  description: string;
  floor: number;
  start: number;
  test: number[];
  train: number[];
  loss: number[];
  rho: [number, number, number][];
  seconds: number;
}

async function curve(name: string, variant: Variant, floor: number): Promise<Curve> {
  const model = newModel();
  const t0 = performance.now();
  await variant.start?.(model, data.train);
  const trainer = new AdmmTrainer(model, { mode: 'persistent', ...variant.options });
  const c: Curve = {
    variant: name,
    description: variant.description,
    floor,
    start: accuracy(model, data.test),
    test: [],
    train: [],
    loss: [],
    rho: [],
    seconds: 0,
  };
  await trainer.fit(data.train, {
    maxIterations: iterations,
    onIteration: (r) => {
      c.test.push(accuracy(model, data.test));
      c.train.push(r.accuracy);
      c.loss.push(r.loss);
      c.rho.push(r.rho);
      const at = c.test.length;
      if (at !== 1 && at % 10 !== 0) return;
      const rho = r.rho.map((x) => x.toPrecision(3)).join(',');
      const where = `${name.padEnd(22)} it ${String(at).padStart(3)}`;
      const metrics = `test ${c.test[at - 1].toFixed(3)}  train ${r.accuracy.toFixed(3)}  loss ${r.loss.toFixed(3)}`;
      console.log(`${where}  ${metrics}  rho ${rho}`);
    },
  });
  c.seconds = (performance.now() - t0) / 1000;
  return c;
}

async function main(): Promise<void> {
  fs.mkdirSync(values.out, { recursive: true });
  const file = path.join(values.out, 'curves.json');
  const saved = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
  if (values['report-only']) {
    fs.writeFileSync(path.join(values.out, 'REPORT.md'), renderReport(saved));
    return;
  }
  const floorModel = newModel();
  refitReadout(floorModel, data.train);
  const floor = accuracy(floorModel, data.test);
  console.log(`readout-only floor ${floor.toFixed(3)}`);
  const blocks = {
    "the model's own readout (warmStart 'none', the default before)": await firstIterationByBlock({
      warmStart: 'none',
      beta: 1e-3,
    }),
    "warm start at the old β 1e-3 (readout refitted with the loop's β)": await firstIterationByBlock({ beta: 1e-3 }),
    "the defaults now: warm start, β 1e-4 (the floor's regularisation)": await firstIterationByBlock({}),
  };
  for (const [k, pts] of Object.entries(blocks))
    for (const p of pts) {
      const train = `train loss ${p.trainLoss.toFixed(3)} acc ${p.trainAccuracy.toFixed(3)}`;
      const rest = `test ${p.testAccuracy.toFixed(3)} aux loss ${p.auxiliaryLoss.toFixed(3)}`;
      console.log(`${k.slice(0, 24).padEnd(24)} after ${p.after.padEnd(10)} ${train} ${rest}`);
    }
  const curves: Record<string, Curve> = { ...(saved.curves ?? {}) };
  if (!values['blocks-only'])
    for (const name of variantNames) {
      curves[name] = await curve(name, PERSISTENT_VARIANTS[name], floor);
      fs.writeFileSync(file, JSON.stringify({ floor, hidden, iterations, blocks, curves }, null, 1));
    }
  const results = { floor, hidden, iterations, blocks, curves };
  fs.writeFileSync(file, JSON.stringify(results, null, 1));
  fs.writeFileSync(path.join(values.out, 'REPORT.md'), renderReport(results));
  stopAscentWorkers();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
