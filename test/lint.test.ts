/**
 * The code style is checked, not hoped for: ESLint (eslint.config.mjs) finds no problem and every
 * source file is as Prettier (.prettierrc.json) formats it. `npm run format` fixes the second.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);

test('eslint reports no problem', (t) => {
  const r = spawnSync(bin('eslint'), ['--max-warnings', '0', '.'], { cwd: root, encoding: 'utf8' });
  t.is(r.status, 0, `${r.stdout}${r.stderr}`.slice(-4000));
});

test('every source file is formatted by prettier', (t) => {
  const r = spawnSync(bin('prettier'), ['--check', '.'], { cwd: root, encoding: 'utf8' });
  t.is(r.status, 0, `npm run format fixes these:\n${r.stdout}${r.stderr}`.slice(-4000));
});
