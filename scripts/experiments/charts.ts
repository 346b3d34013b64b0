/**
 * SVG charts of the recorded runs, rendered by Vega-Lite → Vega in Node with the headless
 * 'none' renderer (no browser, no canvas). vega 6 is ESM-only, so it is loaded with a real
 * dynamic import (TypeScript's CommonJS output would turn `import()` into `require`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { addingLength, finalTest, stability } from './verdicts';
import type { RunRecord } from './runner';

// A real dynamic import() that tsc's CommonJS output would turn into require(); vega ships typed ESM only.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<any>;

type Spec = Record<string, unknown>;

export async function renderSvg(spec: Spec): Promise<string> {
  const [vega, vegaLite] = await Promise.all([importEsm('vega'), importEsm('vega-lite')]);
  const view = new vega.View(
    vega.parse(vegaLite.compile({ ...spec, config: { legend: { labelLimit: 320 }, axis: { labelLimit: 320 } } }).spec),
    { renderer: 'none' }
  );
  const svg: string = await view.toSVG();
  view.finalize();
  return svg;
}

const metricTitle: Record<string, string> = {
  accuracy: 'test accuracy',
  'cross-entropy': 'held-out nats/char',
  mse: 'test MSE',
};
const line = (title: string, values: unknown[], x: Spec, y: Spec): Spec => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title,
  width: 420,
  height: 260,
  data: { values },
  mark: { type: 'line', point: true },
  encoding: { x, y, color: { field: 'method', type: 'nominal' }, strokeDash: { field: 'family', type: 'nominal' } },
});

/** Every chart as file name → Vega-Lite spec (pure, so specs can be inspected without rendering). */
export function chartSpecs(runs: RunRecord[]): Record<string, Spec> {
  const specs: Record<string, Spec> = {};
  for (const dataset of ['mnist', 'text']) {
    const rs = runs.filter((r) => r.suite === 'comparison' && r.dataset === dataset);
    if (!rs.length) continue;
    const pts = rs.flatMap((r) =>
      [{ iteration: 0, seconds: 0, cpuSeconds: 0, loss: r.initialLoss, test: r.initialTest }, ...r.points]
        .filter((p) => Number.isFinite(p.loss) && p.loss > 0)
        .map((p) => ({
          method: r.method,
          family: r.family,
          iteration: p.iteration,
          seconds: p.cpuSeconds,
          loss: p.loss,
          test: p.test,
        }))
    );
    specs[`${dataset}-loss`] = line(
      `${dataset}: training loss (true forward pass)`,
      pts,
      { field: 'iteration', type: 'quantitative', title: 'iteration (epoch; persistent: full-batch pass)' },
      { field: 'loss', type: 'quantitative', scale: { type: 'log' }, title: 'training loss' }
    );
    specs[`${dataset}-test-seconds`] = line(
      `${dataset}: ${metricTitle[rs[0].metric]} against training CPU seconds`,
      pts,
      { field: 'seconds', type: 'quantitative', title: 'training CPU seconds (all threads)' },
      { field: 'test', type: 'quantitative', title: metricTitle[rs[0].metric], scale: { zero: false } }
    );
  }
  const init = runs.filter((r) => r.suite === 'init');
  if (init.length)
    specs['init-grid'] = {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: 'mnist: final test accuracy by initialisation († blew up)',
      width: 300,
      height: 200,
      data: {
        values: init.map((r) => ({
          method: r.method,
          init: r.config.init.scheme === 'orthogonal' ? 'orthogonal' : `σ = ${r.config.init.scale}`,
          accuracy: finalTest(r),
          label: `${finalTest(r).toFixed(2)}${stability(r).diverged ? ' †' : ''}`,
        })),
      },
      encoding: {
        x: { field: 'init', type: 'nominal', sort: null, title: null },
        y: { field: 'method', type: 'nominal', title: null },
      },
      layer: [
        {
          mark: 'rect',
          encoding: {
            color: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1], scheme: 'viridis' } },
          },
        },
        {
          mark: { type: 'text', fontSize: 11 },
          encoding: {
            text: { field: 'label' },
            color: { condition: { test: 'datum.accuracy > 0.6', value: 'black' }, value: 'white' },
          },
        },
      ],
    };
  const adding = runs.filter((r) => r.suite === 'adding');
  if (adding.length) {
    const norms = adding.flatMap((r) => {
      const p = [...r.points].reverse().find((q) => q.stepNorms);
      const n = p?.stepNorms ?? [],
        end = n[n.length - 1];
      return n
        .map((v, t) => ({ method: r.method, family: r.family, T: addingLength(r), step: t + 1, relative: v / end }))
        .filter((x) => Number.isFinite(x.relative) && x.relative > 0);
    });
    specs['adding-step-norms'] = {
      ...line(
        'adding problem: per-step signal / signal at t = T (last iteration)',
        norms,
        { field: 'step', type: 'quantitative', title: 'step t' },
        { field: 'relative', type: 'quantitative', scale: { type: 'log' }, title: 'signal(t) / signal(T)' }
      ),
      mark: { type: 'line' },
      width: 260,
      height: 220,
    };
    const Ts = [...new Set(norms.map((x) => x.T))];
    if (Ts.length > 1) {
      const base = specs['adding-step-norms'] as Spec & { encoding: Spec };
      specs['adding-step-norms'] = {
        $schema: base.$schema,
        title: base.title,
        data: base.data,
        facet: { column: { field: 'T', type: 'ordinal' } },
        spec: { width: 240, height: 220, mark: 'line', encoding: base.encoding },
      };
    }
    specs['adding-test'] = {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: 'adding problem: test MSE (rule: predicting 1.0, 1/6)',
      width: 420,
      height: 240,
      data: { values: adding.map((r) => ({ method: r.method, T: `T = ${addingLength(r)}`, mse: finalTest(r) })) },
      layer: [
        {
          mark: 'bar',
          encoding: {
            y: { field: 'method', type: 'nominal', title: null },
            x: { field: 'mse', type: 'quantitative', title: 'test MSE' },
            yOffset: { field: 'T' },
            color: { field: 'T', type: 'nominal' },
          },
        },
        { mark: { type: 'rule', color: 'red', strokeDash: [4, 4] }, encoding: { x: { datum: 1 / 6 } } },
      ],
    };
  }
  return specs;
}

/** Renders every chart to dir/<name>.svg; returns the written paths. */
export async function writeCharts(runs: RunRecord[], dir: string): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, spec] of Object.entries(chartSpecs(runs))) {
    const file = path.join(dir, `${name}.svg`);
    fs.writeFileSync(file, await renderSvg(spec));
    written.push(file);
  }
  return written;
}
