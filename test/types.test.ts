/**
 * Type tests of the public declarations (test/types/): compiled as a consumer compiles them, by
 * package name through the exports map against the emitted dist/lib/*.d.ts. Then the proof that
 * they can fail: copies with one expectation changed each must not compile.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';

const root = path.resolve(__dirname, '..', '..');
const types = path.join(root, 'test', 'types');
const tsc = (project: string) =>
  spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], {
    cwd: root,
    encoding: 'utf8',
    timeout: 5 * 60_000,
  });

test('the public types are the pinned ones (CommonJS entry, ESM entry, admmirnn/native)', (t) => {
  const r = tsc(path.join(types, 'tsconfig.json'));
  t.is(r.status, 0, r.stdout + r.stderr);
});

/** One change each, as a slip in lib/ would make it: a widened option, a dropped status, an optional field. */
const MUTATIONS: { file: string; from: string; to: string }[] = [
  { file: 'public-api.ts', from: '    batchSize?: number;\n        eta', to: '    batchSize?: string;\n        eta' },
  { file: 'public-api.ts', from: "'diverged' | 'singular'>", to: "'diverged'>" },
  { file: 'public-api.ts', from: '        clippedBatches: number;', to: '        clippedBatches?: number;' },
  {
    file: 'public-api.ts',
    from: "      | 'ERR_OUT_OF_MEMORY'\n      | 'ERR_INTERNAL'\n",
    to: "      | 'ERR_OUT_OF_MEMORY'\n",
  },
  { file: 'native-entry.ts', from: "'native' | 'bpttNative' | 'OPEN", to: "'native' | 'OPEN" },
];

test('each changed expectation fails to compile, at its line', (t) => {
  // Inside the package (dist/ is git-ignored), so that `admmirnn` resolves to this package.
  const dir = fs.mkdtempSync(path.join(root, 'dist', 'type-mutations-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.copyFileSync(path.join(types, 'assert.ts'), path.join(dir, 'assert.ts'));
  const tsconfig = { extends: path.relative(dir, path.join(types, 'tsconfig.json')), include: ['*.ts'] };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
  const lines: number[] = [];
  MUTATIONS.forEach((m, i) => {
    const source = fs.readFileSync(path.join(types, m.file), 'utf8');
    t.true(source.includes(m.from), `${m.file} contains ${m.from}`);
    lines.push(source.slice(0, source.indexOf(m.from)).split('\n').length);
    fs.writeFileSync(path.join(dir, `mutation-${i}.ts`), source.replace(m.from, m.to));
  });
  const r = tsc(path.join(dir, 'tsconfig.json'));
  t.not(r.status, 0);
  MUTATIONS.forEach((_, i) => {
    const errors = [...r.stdout.matchAll(new RegExp(`mutation-${i}\\.ts\\((\\d+),\\d+\\): error (TS\\d+)`, 'g'))];
    t.true(errors.length > 0, `mutation ${i} compiled:\n${r.stdout}`);
    // The failing assertion spans a few lines from the changed one (multi-line Expect<Equal<…>>).
    t.true(
      errors.some(([, line, code]) => code === 'TS2344' && Math.abs(Number(line) - lines[i]) <= 30),
      r.stdout
    );
  });
});
