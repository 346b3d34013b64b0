/**
 * The npm scripts work on a fresh clone: each command line of package.json runs (after the build
 * that `npm test` has just done) with small options, and writes into output directories that do
 * not exist yet. The long ones (experiments and ablation --quick, bench --quick) are run by hand
 * or in CI; here only their compiled entry points and the report step are checked.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';

const root = path.resolve(__dirname, '..', '..');
const scripts = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts as Record<string, string>;
const BUILD = 'npm run build:ts && ';

/** Runs script `name`'s command line without its leading build step, with args appended, as npm would. */
function runScript(name: string, args: string[]): { status: number | null; out: string } {
  const line = scripts[name];
  if (line === undefined) throw new Error(`no npm script ${name}`);
  const command = line.startsWith(BUILD) ? line.slice(BUILD.length) : line;
  const PATH = `${path.join(root, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}`;
  const options = { cwd: root, env: { ...process.env, PATH }, encoding: 'utf8', timeout: 3 * 60_000 } as const;
  const r = spawnSync('sh', ['-c', `${command} "$@"`, 'sh', ...args], options);
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'admmirnn-scripts-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('every script that runs a compiled file names one the build made', (t) => {
  const files = Object.entries(scripts).flatMap(([name, line]) =>
    [...line.matchAll(/\bnode (?:--[\w-]+(?:=\S+)? )*(dist\/\S+\.js)/g)].map((m) => ({ name, file: m[1] }))
  );
  t.true(files.length >= 8, JSON.stringify(files));
  for (const { name, file } of files) t.true(fs.existsSync(path.join(root, file)), `npm run ${name}: ${file}`);
});

test('docs: TypeDoc writes the API reference, the admmirnn/native module included, into a new directory', (t) => {
  const out = path.join(tempDir(t), 'not', 'yet', 'api');
  const r = runScript('docs', ['--out', out]);
  t.is(r.status, 0, r.out);
  t.true(fs.existsSync(path.join(out, 'index.html')));
  t.true(fs.existsSync(path.join(out, 'modules', 'admmirnn_native.html')), fs.readdirSync(out).join(', '));
  t.true(fs.existsSync(path.join(out, 'classes', 'admmirnn.RNN.html')));
});

test('fuzz: a short run survives and keeps the contract', (t) => {
  const r = runScript('fuzz', ['--calls', '200', '--processes', '2']);
  t.is(r.status, 0, r.out);
  t.regex(r.out, /200 fuzzed calls in [\d.]+ s: every call survived and kept the contract/);
});

test('demo: one epoch of a small model reports its test accuracy', (t) => {
  const r = runScript('demo', ['--iterations', '1', '--hidden', '16']);
  t.is(r.status, 0, r.out);
  const accuracy = /test accuracy: (0\.\d+)/.exec(r.out);
  t.truthy(accuracy, r.out);
  // Ten classes (chance 0.1): one epoch at h = 16 reached 0.2565 with the default seed.
  t.true(Number(accuracy?.[1]) > 0.15, r.out);
});

test('soak: a short run trains both phases and reports their RSS slopes', (t) => {
  // Its leak verdict needs the full 10,000 iterations (shorter runs end inside V8's warm-up and
  // exit 1 on the slope), so only the run itself is checked here: both phases, no exception.
  const r = runScript('soak', ['--iterations', '300']);
  t.true(r.status === 0 || r.status === 1, r.out);
  for (const phase of ['ADMM iterations', 'BPTT steps'])
    t.regex(
      r.out,
      new RegExp(`${phase}: 300 iterations in [\\d.]+ s; .*slope after warm-up -?[\\d.]+ bytes/iteration`)
    );
  t.notRegex(r.out, /Error|at .*\.js:\d+/);
});

test('experiments --report-only: the report and charts of the saved results go into new directories', (t) => {
  const dir = path.join(tempDir(t), 'report');
  const out = path.join(dir, 'EXPERIMENTS.md');
  const figures = path.join(dir, 'figures');
  const r = runScript('experiments', ['--report-only', '--out', out, '--figures', figures]);
  t.is(r.status, 0, r.out);
  t.regex(fs.readFileSync(out, 'utf8'), /<!-- [\w-]+:start -->/);
  t.true(fs.readdirSync(figures).some((f) => f.endsWith('.svg')));
});

test('suite --append: a second part adds its methods to the saved results; a different budget is refused', (t) => {
  const out = path.join(tempDir(t), 'suite');
  const base = ['--quick', '--tasks', 'reber', '--budget', '0.3', '--clock', 'cpu', '--out', out];
  t.is(runScript('suite', [...base, '--methods', 'adam']).status, 0);
  const second = runScript('suite', [...base, '--methods', 'sgd,adam', '--append']);
  t.is(second.status, 0, second.out);
  const saved = JSON.parse(fs.readFileSync(path.join(out, 'suite.json'), 'utf8'));
  t.deepEqual(saved.methods, ['adam', 'sgd']);
  t.deepEqual(
    saved.runs.map((r: { method: string }) => r.method).sort(),
    ['adam', 'sgd'],
    'adam replaced, not doubled'
  );
  t.is(saved.tasks.length, 1);
  t.regex(fs.readFileSync(path.join(out, 'REPORT.md'), 'utf8'), /--methods adam .*; npm run suite -- .*--append/);
  const other = runScript('suite', [
    ...base.slice(0, 3),
    '--budget',
    '0.5',
    '--out',
    out,
    '--methods',
    'sgd',
    '--append',
  ]);
  t.not(other.status, 0);
  t.regex(other.out, /--append: .* has budgetSeconds 0\.3, this run 0\.5/);
});
