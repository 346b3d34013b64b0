/**
 * The package as a user gets it: `npm pack`, then `npm install` of the tarball into an empty
 * project with a PATH that has node and npm but no compiler, make, cmake or pkg-config. The
 * install must use the prebuilt binary (no build/ directory), and the package must work from
 * CommonJS, from ESM and as a CLI. Also checks what the tarball holds and how big it is.
 *
 * The project's lockfile pins the dependencies to this repository's package-lock.json, so after
 * `npm ci` here the install is served from the npm cache (no network), and a fresh registry
 * release of a dependency cannot fail this test.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ensurePrebuild, hasPrebuilds, root } from './helpers/prebuild';

/** The x64 prebuild was 26,625,072 bytes (BENCHMARKS.md, "Package size"); it must not grow past this. */
const PREBUILD_MAX_BYTES = 28_000_000;
const TOOLCHAIN = ['c++', 'cc', 'g++', 'gcc', 'clang', 'clang++', 'make', 'cmake', 'pkg-config'];

interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
}

interface Installed {
  dir: string;
  project: string;
  pkg: string;
  packed: Packed;
  bin: string;
  install: { status: number | null; log: string };
}

interface ConsumerOutput {
  status: string;
  predictions: number[];
  nativeOps: boolean;
  sameClass: boolean;
  missingNames: string[];
  version: string;
}

let setup: Installed | undefined;

test.before(() => {
  if (!hasPrebuilds) return;
  ensurePrebuild();
  if (!fs.existsSync(path.join(root, 'dist', 'lib', 'index.mjs')))
    throw new Error('build the TypeScript first (npm run build:ts)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'admmirnn-tarball-'));
  // No prepare step: the test runs on the compiled dist/ of this checkout.
  const pack = ['pack', '--json', '--ignore-scripts', '--pack-destination', dir];
  const json = execFileSync('npm', pack, { cwd: root, encoding: 'utf8' });
  const packed = (JSON.parse(json) as Packed[])[0];
  const bin = toolchainFreeBin(dir);
  const project = path.join(dir, 'project');
  fs.mkdirSync(project);
  writeProject(project, path.join(dir, packed.filename));
  const r = spawnSync('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts'], {
    cwd: project,
    env: npmEnv(bin),
    encoding: 'utf8',
    timeout: 5 * 60_000,
  });
  const pkg = path.join(project, 'node_modules', 'admmirnn');
  setup = { dir, project, pkg, packed, bin, install: { status: r.status, log: `${r.stdout}\n${r.stderr}` } };
});

test.after.always(() => {
  if (setup) fs.rmSync(setup.dir, { recursive: true, force: true });
});

test('the install PATH resolves node and npm but no compiler, make, cmake or pkg-config', (t) => {
  if (!setup) return t.pass('prebuilds are made for linux-x64 only');
  const dirs = [setup.bin];
  for (const tool of TOOLCHAIN)
    t.false(
      dirs.some((d) => fs.existsSync(path.join(d, tool))),
      `${tool} on the PATH`
    );
  const script = `for x in ${TOOLCHAIN.join(' ')} node npm; do command -v $x; done`;
  const probe = spawnSync('sh', ['-c', script], { env: { PATH: setup.bin }, encoding: 'utf8' });
  t.deepEqual(probe.stdout.trim().split('\n'), [path.join(setup.bin, 'node'), path.join(setup.bin, 'npm')]);
});

test('npm install of the tarball uses the prebuilt binary and compiles nothing', (t) => {
  if (!setup) return t.pass('prebuilds are made for linux-x64 only');
  t.is(setup.install.status, 0, setup.install.log);
  t.regex(setup.install.log, /admmirnn: using the prebuilt binary prebuilds\/linux-x64\/admmirnn\.node/);
  t.false(fs.existsSync(path.join(setup.pkg, 'build')), 'no build/ directory in the installed package');
  // ioredis is an optional peer dependency (the Redis transport loads it only when used).
  t.false(fs.existsSync(path.join(setup.project, 'node_modules', 'ioredis')), 'ioredis is not installed');
});

test('the installed package trains and predicts from CommonJS and ESM, with the same result', (t) => {
  if (!setup) return t.pass('prebuilds are made for linux-x64 only');
  const run = (file: string) => {
    const env = { PATH: setup!.bin, HOME: os.homedir() };
    const r = spawnSync(process.execPath, [file], { cwd: setup!.project, env, encoding: 'utf8', timeout: 60_000 });
    t.is(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as ConsumerOutput;
  };
  const cjs = run('consumer.cjs');
  const esm = run('consumer.mjs');
  for (const out of [cjs, esm]) {
    t.is(out.status, 'max-iterations');
    t.is(out.predictions.length, 4 * 2);
    t.true(out.predictions.every(Number.isFinite));
    t.true(out.nativeOps, 'admmirnn/native exposes the raw binding');
    t.true(out.sameClass, 'the entries share one module instance');
    t.deepEqual(out.missingNames, []);
    t.is(out.version, JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);
  }
  t.deepEqual(esm.predictions, cjs.predictions);
  t.false(fs.existsSync(path.join(setup.pkg, 'build')));
});

test('the CLI of the installed package runs', (t) => {
  if (!setup) return t.pass('prebuilds are made for linux-x64 only');
  const cli = path.join(setup.project, 'node_modules', '.bin', 'admmirnn');
  const r = spawnSync(cli, ['--help'], { env: { PATH: setup.bin }, encoding: 'utf8' });
  t.is(r.status, 0, String(r.stderr ?? r.error));
  t.regex(r.stdout, /Usage: admmirnn/);
});

test('TypeScript consumers get the types: node16 resolution (CommonJS and ESM files) and legacy node10', (t) => {
  if (!setup) return t.pass('prebuilds are made for linux-x64 only');
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const common = ['--noEmit', '--strict', '--target', 'es2022', '--skipLibCheck', 'false'];
  const types = ['--types', 'node', '--typeRoots', path.join(root, 'node_modules', '@types')];
  const check = (...args: string[]) => {
    const options = { cwd: setup!.project, encoding: 'utf8' } as const;
    const r = spawnSync(process.execPath, [tsc, ...common, ...types, ...args], options);
    t.is(r.status, 0, `tsc ${args.join(' ')}\n${r.stdout}${r.stderr}`);
  };
  check('--module', 'node16', '--moduleResolution', 'node16', 'typed.ts', 'typed.mts');
  check('--module', 'commonjs', '--moduleResolution', 'node10', 'typed.ts');
});

test('the tarball holds the library, the native sources, the CLI and the prebuilds, and nothing else', (t) => {
  if (!setup) return t.pass('prebuilds are made for linux-x64 only');
  const allowed = [
    /^dist\/lib\/.+\.(js|mjs|d\.ts|d\.mts)$/,
    /^native\/[\w.-]+\.(cpp|h)$/,
    /^prebuilds\/[a-z0-9]+-[a-z0-9]+\/(admmirnn\.node|sources\.sha256)$/,
    /^bin\/admmirnn\.js$/,
    /^scripts\/(install|native-sources|prebuild-cmake)\.js$/,
    /^(package\.json|README\.md|CHANGELOG\.md|CMakeLists\.txt)$/,
  ];
  const paths = setup.packed.files.map((f) => f.path);
  t.deepEqual(
    paths.filter((p) => !allowed.some((re) => re.test(p))),
    []
  );
  const entries = ['index.js', 'index.mjs', 'index.d.ts', 'index.d.mts', 'native-entry.js', 'native-entry.d.ts'];
  for (const f of [...entries.map((e) => `dist/lib/${e}`), 'dist/lib/cli/main.js'])
    t.true(paths.includes(f), `${f} in the package`);
  t.false(paths.some((p) => /(^|\/)(test|bench|fuzz|results|docs|internal)\//.test(p) || p.endsWith('.map')));
  t.log(`tarball ${setup.packed.size} bytes, unpacked ${setup.packed.unpackedSize} bytes, ${paths.length} files`);
});

test(`the x64 prebuild stays below ${PREBUILD_MAX_BYTES / 1e6} MB`, (t) => {
  if (!setup) return t.pass('prebuilds are made for linux-x64 only');
  const entry = setup.packed.files.find((f) => f.path === 'prebuilds/linux-x64/admmirnn.node');
  t.truthy(entry);
  t.log(`prebuilds/linux-x64/admmirnn.node: ${entry?.size} bytes`);
  t.true((entry?.size ?? Infinity) <= PREBUILD_MAX_BYTES, `${entry?.size} bytes`);
});

/** A directory with node, npm, npx and sh only (the shell runs npm's lifecycle scripts). */
function toolchainFreeBin(dir: string): string {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  for (const tool of ['npm', 'npx', 'sh']) fs.symlinkSync(fs.realpathSync(onPath(tool)), path.join(bin, tool));
  return bin;
}

function onPath(tool: string): string {
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(d, tool);
    if (d && fs.existsSync(file)) return file;
  }
  if (tool === 'sh') return '/bin/sh';
  throw new Error(`${tool} is not on the PATH`);
}

/** A clean environment for npm (none of the npm_* variables of the npm running the tests), same cache. */
function npmEnv(bin: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: bin, HOME: os.homedir(), TMPDIR: os.tmpdir() };
  for (const name of ['npm_config_cache', 'npm_config_userconfig', 'npm_config_registry'])
    if (process.env[name]) env[name] = process.env[name];
  return env;
}

/** package.json, a lockfile pinned to the repository's, and two consumers (CommonJS, ESM). */
function writeProject(project: string, tarball: string): void {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const repoLock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const spec = `file:${path.relative(project, tarball)}`;
  const integrity = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`;
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', version: '1.0.0', dependencies: { admmirnn: spec } },
    'node_modules/admmirnn': {
      version: pkg.version,
      resolved: spec,
      integrity,
      hasInstallScript: true,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  // The runtime dependencies, where the repository's install put them (dev-only entries left out).
  const locked = repoLock.packages as Record<string, { dev?: boolean; devOptional?: boolean }>;
  for (const [key, entry] of Object.entries(locked)) if (key && !entry.dev && !entry.devOptional) packages[key] = entry;
  const name = { name: 'consumer', version: '1.0.0' };
  const manifest = { ...name, private: true, dependencies: { admmirnn: spec } };
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify(manifest));
  const lock = { ...name, lockfileVersion: 3, requires: true, packages };
  fs.writeFileSync(path.join(project, 'package-lock.json'), JSON.stringify(lock));
  // A few iterations on a fixed toy problem; the same seed gives the same predictions in either module system.
  const body = `
    const model = new RNN({ inputSize: 2, hiddenSize: 3, outputSize: 2, init: { seed: 3 } });
    const inputs = new Float32Array(4 * 3 * 2).map((_, i) => Math.sin(i));
    const data = { inputs, targets: new Int32Array([0, 1, 1, 0]), sequenceLength: 3 };
    const result = await new AdmmTrainer(model, { mode: 'persistent' }).fit(data, { maxIterations: 3 });
    const out = {
      status: result.status,
      predictions: Array.from(model.predict(data)),
      nativeOps: typeof native.forward === 'function' && native === bpttNative,
      sameClass: RNN === other.RNN,
      missingNames,
      version,
    };
    console.log(JSON.stringify(out));`;
  // Type-checked only: the main entry's and admmirnn/native's types, from either module system.
  const typed = (from: string) => `import { AdmmTrainer, RNN, type FitResult } from 'admmirnn';
    import { native, type NativeBinding } from 'admmirnn/native';
    const model: RNN = new RNN({ inputSize: 2, hiddenSize: 3, outputSize: 2 });
    type Data = Parameters<AdmmTrainer['fit']>[0];
    export const fit = (data: Data): Promise<FitResult> => new AdmmTrainer(model).fit(data);
    export const binding: NativeBinding = native;
    export const from = '${from}';\n`;
  fs.writeFileSync(path.join(project, 'typed.ts'), typed('commonjs'));
  fs.writeFileSync(path.join(project, 'typed.mts'), typed('esm'));
  fs.writeFileSync(
    path.join(project, 'consumer.cjs'),
    `const { RNN, AdmmTrainer } = require('admmirnn');
    const { native, bpttNative } = require('admmirnn/native');
    const other = require('admmirnn');
    const missingNames = [];
    const { version } = require('admmirnn/package.json');
    (async () => {${body}
    })().catch((e) => { console.error(e); process.exit(1); });\n`
  );
  fs.writeFileSync(
    path.join(project, 'consumer.mjs'),
    `import { RNN, AdmmTrainer } from 'admmirnn';
    import { native, bpttNative } from 'admmirnn/native';
    import * as esm from 'admmirnn';
    import { createRequire } from 'node:module';
    const other = createRequire(import.meta.url)('admmirnn');
    // Every CommonJS export is a named ESM export (__esModule is tsc's interop marker).
    const missingNames = Object.keys(other).filter((name) => name !== '__esModule' && !(name in esm));
    const { version } = createRequire(import.meta.url)('admmirnn/package.json');
    ${body}\n`
  );
}
