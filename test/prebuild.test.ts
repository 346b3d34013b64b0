/**
 * Prebuilt binaries: `npm run prebuild` makes prebuilds/linux-x64/admmirnn.node with OpenBLAS
 * linked in; it loads with PREBUILDS_ONLY=1, npm pack ships it, and the install script prefers it.
 * Builds the x64 prebuild first when it is missing or stale (about a minute; test/helpers/prebuild.ts);
 * the cross-compiled linux-arm64 prebuild is checked by `npm run test:arm64`, under qemu.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ensurePrebuild, hasPrebuilds, prebuild, prebuildDir, root } from './helpers/prebuild';

const linux = hasPrebuilds;

test.before(() => ensurePrebuild());

test('the prebuild exists and links no shared OpenBLAS (nor libgfortran)', (t) => {
  if (!linux) return t.pass('prebuilds are made for linux-x64 only');
  t.true(fs.existsSync(prebuild));
  const libs = execFileSync('ldd', [prebuild], { encoding: 'utf8' });
  t.notRegex(libs, /openblas/i);
  t.notRegex(libs, /gfortran/);
  t.notRegex(libs, /not found/);
});

test('with PREBUILDS_ONLY=1 the library loads the prebuild and trains', (t) => {
  if (!linux) return t.pass('prebuilds are made for linux-x64 only');
  const script = `
    const path = require('path');
    const lib = require(${JSON.stringify(path.join(root, 'dist', 'lib', 'index.js'))});
    const file = require('node-gyp-build').resolve(${JSON.stringify(root)});
    const model = new lib.RNN({ inputSize: 2, hiddenSize: 3, outputSize: 2 });
    const data = { inputs: new Float32Array(4 * 3 * 2).map((_, i) => Math.sin(i)), targets: new Int32Array([0, 1, 1, 0]), sequenceLength: 3 };
    new lib.AdmmTrainer(model).fit(data, { maxIterations: 2 }).then((r) => console.log(JSON.stringify({ file, status: r.status })));
  `;
  const r = spawnSync(process.execPath, ['-e', script], {
    cwd: root,
    env: { ...process.env, PREBUILDS_ONLY: '1' },
    encoding: 'utf8',
  });
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.is(path.relative(root, out.file), path.relative(root, prebuild));
  t.is(out.status, 'max-iterations');
});

test('npm pack lists the prebuild, the CLI and the compiled library', (t) => {
  if (!linux) return t.pass('prebuilds are made for linux-x64 only');
  const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
  });
  const files = (JSON.parse(json)[0].files as { path: string }[]).map((f) => f.path);
  for (const f of [
    `prebuilds/${process.platform}-${process.arch}/admmirnn.node`,
    'bin/admmirnn.js',
    'dist/lib/cli/main.js',
    'dist/lib/index.js',
    'scripts/install.js',
    'CMakeLists.txt',
  ])
    t.true(files.includes(f), `${f} in the package`);
  t.false(files.some((f) => f.startsWith('test/') || f.startsWith('dist/test/') || f.startsWith('build/')));
});

test('the install script uses a matching prebuild and builds from source otherwise', (t) => {
  if (!linux) return t.pass('prebuilds are made for linux-x64 only');
  const install = (cwd: string, env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [path.join(cwd, 'scripts', 'install.js')], {
      cwd,
      env: { ...process.env, ADMMIRNN_INSTALL_DRY_RUN: '1', ...env },
      encoding: 'utf8',
    });
  t.regex(install(root).stdout, /using the prebuilt binary prebuilds\/linux-x64\/admmirnn\.node/);
  t.regex(install(root, { ADMMIRNN_BUILD_FROM_SOURCE: '1' }).stdout, /would build from source/);
  // A package without a prebuild for this platform (only one for another) builds from source.
  const pkg = packageCopy(t);
  fs.mkdirSync(path.join(pkg, 'prebuilds', 'darwin-arm64'), { recursive: true });
  fs.writeFileSync(path.join(pkg, 'prebuilds', 'darwin-arm64', 'admmirnn.node'), '');
  t.regex(install(pkg).stdout, /would build from source/);
  // File times do not matter (npm gives unpacked files their extraction times); the sources' hash does.
  const current = packageCopy(t);
  fs.cpSync(prebuildDir, path.join(current, 'prebuilds', `${process.platform}-${process.arch}`), { recursive: true });
  const past = new Date(2000, 0, 1);
  for (const f of fs.readdirSync(path.join(current, 'prebuilds', `${process.platform}-${process.arch}`)))
    fs.utimesSync(path.join(current, 'prebuilds', `${process.platform}-${process.arch}`, f), past, past);
  t.regex(install(current).stdout, /using the prebuilt binary/);
  fs.appendFileSync(path.join(current, 'native', 'kernels.h'), '\n// changed\n');
  t.regex(install(current).stdout, /would build from source/);
});

/** A package directory with the install script, the native sources and the dependencies, no prebuild. */
function packageCopy(t: { teardown(fn: () => void): void }): string {
  const pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'admmirnn-install-'));
  t.teardown(() => fs.rmSync(pkg, { recursive: true, force: true }));
  fs.mkdirSync(path.join(pkg, 'scripts'));
  for (const f of ['install.js', 'native-sources.js'])
    fs.copyFileSync(path.join(root, 'scripts', f), path.join(pkg, 'scripts', f));
  fs.cpSync(path.join(root, 'native'), path.join(pkg, 'native'), { recursive: true });
  fs.copyFileSync(path.join(root, 'CMakeLists.txt'), path.join(pkg, 'CMakeLists.txt'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));
  return pkg;
}
