/**
 * `npm run test:arm64`: the linux-arm64 prebuild, cross-compiled on linux-x64, is self-contained, ships in the
 * package, is what the install script picks on arm64, and under qemu-user with an arm64 Node.js trains and
 * predicts like the linux-x64 prebuild: the same fixed run (scripts/arm64/reference-run.ts) gives the same
 * losses, predictions and weights within rounding.
 *
 * Tolerance, per quantity q (the losses per iteration, the predictions, each weight tensor): the relative
 * Frobenius difference ‖q_arm64 − q_x64‖ / ‖q_x64‖ ≤ max(1e-5, 10 × s), where s is the same difference between
 * two x64 runs whose inputs differ in one value by one float ulp. ADMM's persistent mode amplifies rounding, so
 * differently rounded arithmetic (other BLAS kernels, fused multiply-adds) moves it about as much as that ulp.
 * Needs the tools of scripts/setup-arm64.sh; (re)builds a prebuild that is missing or made from other sources.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');
const sysroot = path.join(root, 'build-arm64', 'sysroot');
const arm64Node = path.join(sysroot, 'usr', 'bin', 'node');
const referenceRun = path.join(__dirname, 'arm64', 'reference-run.js');
const FLOOR = 1e-5;
const MARGIN = 10;
const ELF_MACHINE: Record<string, RegExp> = { x64: /X86-64/, arm64: /AArch64/ };

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS script outside rootDir
const sources = require(path.join(root, 'scripts', 'native-sources.js')) as {
  isCurrentPrebuild(root: string, dir: string): boolean;
};

interface RunSummary {
  losses: number[];
  predictions: number[];
  weights: Record<string, number[]>;
}
interface Reference {
  arch: string;
  node: string;
  binary: string;
  runs: Record<string, RunSummary>;
}

const failures: string[] = [];
function check(ok: boolean, message: string): void {
  if (!ok) failures.push(message);
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

function prebuildDir(arch: string): string {
  return path.join(root, 'prebuilds', `linux-${arch}`);
}

/** Builds the prebuilds that are missing or were made from other native sources. */
function ensurePrebuilds(): void {
  const stale = ['x64', 'arm64'].filter((arch) => !sources.isCurrentPrebuild(root, prebuildDir(arch)));
  if (!stale.length) return;
  const started = Date.now();
  console.log(`test:arm64: building the ${stale.join(', ')} prebuild(s)`);
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'prebuild-cmake.js')], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ADMMIRNN_PREBUILD_ARCHS: stale.join(',') },
  });
  if (r.status !== 0) throw new Error(`npm run prebuild failed (exit ${r.status})`);
  console.log(`test:arm64: prebuild(s) made in ${seconds(started)}`);
}

/** The ELF machine matches the arch and no shared OpenBLAS or Fortran runtime is needed. */
function checkBinary(arch: string): void {
  const file = path.join(prebuildDir(arch), 'admmirnn.node');
  const header = execFileSync('readelf', ['-h', file], { encoding: 'utf8' });
  check(ELF_MACHINE[arch].test(header), `${file} is not a ${arch} ELF file:\n${header}`);
  const dynamic = execFileSync('readelf', ['-d', file], { encoding: 'utf8' });
  const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  check(!needed.some((lib) => /openblas|gfortran/.test(lib)), `${file} needs ${needed.join(', ')}`);
  check(sources.isCurrentPrebuild(root, prebuildDir(arch)), `${file}: sources hash`);
  console.log(`test:arm64: linux-${arch} prebuild ${fs.statSync(file).size} bytes, NEEDED ${needed.join(' ')}`);
}

function checkPackage(): void {
  const pack = ['pack', '--dry-run', '--json', '--ignore-scripts'];
  const json = execFileSync('npm', pack, { cwd: root, encoding: 'utf8' });
  const files = (JSON.parse(json)[0].files as { path: string }[]).map((f) => f.path);
  for (const arch of ['x64', 'arm64'])
    for (const f of ['admmirnn.node', 'sources.sha256'])
      check(files.includes(`prebuilds/linux-${arch}/${f}`), `npm pack does not ship prebuilds/linux-${arch}/${f}`);
}

/** Under the arm64 node, the install script picks (and loads) the arm64 prebuild instead of building. */
function checkInstallChoice(): void {
  const env: NodeJS.ProcessEnv = { ...process.env, ADMMIRNN_INSTALL_DRY_RUN: '1' };
  delete env.ADMMIRNN_BUILD_FROM_SOURCE;
  const args = ['-L', sysroot, arm64Node, path.join(root, 'scripts', 'install.js')];
  const r = spawnSync('qemu-aarch64-static', args, { cwd: root, env, encoding: 'utf8' });
  const expected = /using the prebuilt binary prebuilds\/linux-arm64\/admmirnn\.node/;
  check(r.status === 0 && expected.test(r.stdout), `install.js under arm64 node: ${r.stdout}${r.stderr}`);
  console.log(`test:arm64: install.js under qemu: ${r.stdout.trim()}`);
}

/** The fixed run's results, by `command` (node, or qemu and an arm64 node) with `options` after the script. */
function reference(command: string, prefix: string[], label: string, options: string[] = []): Reference {
  const started = Date.now();
  const env: NodeJS.ProcessEnv = { ...process.env, PREBUILDS_ONLY: '1' };
  delete env.ADMMIRNN_ADDON;
  const args = [...prefix, referenceRun, ...options];
  const r = spawnSync(command, args, { cwd: root, env, encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`${label} run failed (exit ${r.status}):\n${r.stderr}${r.error ?? ''}`);
  const result = JSON.parse(r.stdout) as Reference;
  console.log(`test:arm64: ${label}: node ${result.node} ${result.arch}, ${result.binary}, ${seconds(started)}`);
  return result;
}

/** ‖a − b‖ / ‖a‖ (Frobenius); Infinity when either holds a non-finite value or the lengths differ. */
function relativeDifference(a: number[], b: number[]): number {
  if (a.length !== b.length || ![...a, ...b].every(Number.isFinite)) return Infinity;
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    norm += a[i] ** 2;
  }
  return norm === 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
}

function quantities(run: RunSummary): [string, number[]][] {
  return [['losses', run.losses], ['predictions', run.predictions], ...Object.entries(run.weights)];
}

function compare(x64: Reference, nudged: Reference, arm64: Reference): void {
  check(x64.binary === path.join('prebuilds', 'linux-x64', 'admmirnn.node'), `x64 loaded ${x64.binary}`);
  check(arm64.binary === path.join('prebuilds', 'linux-arm64', 'admmirnn.node'), `arm64 loaded ${arm64.binary}`);
  check(arm64.arch === 'arm64', `the qemu run reports arch ${arm64.arch}`);
  let worst = 0;
  console.log('run         quantity      arm64 vs x64  one-ulp x64  tolerance');
  for (const [name, run] of Object.entries(x64.runs)) {
    const other = arm64.runs[name];
    const moved = new Map(quantities(nudged.runs[name]));
    for (const [quantity, values] of quantities(run)) {
      const difference = relativeDifference(values, new Map(quantities(other)).get(quantity) ?? []);
      const sensitivity = relativeDifference(values, moved.get(quantity) ?? []);
      const tolerance = Math.max(FLOOR, MARGIN * sensitivity);
      worst = Math.max(worst, difference / tolerance);
      const row =
        `${name.padEnd(12)}${quantity.padEnd(14)}${difference.toExponential(2).padEnd(14)}` +
        `${sensitivity.toExponential(2).padEnd(13)}${tolerance.toExponential(2)}`;
      console.log(difference <= tolerance ? row : `${row}  FAIL`);
      check(difference <= tolerance, `${name} ${quantity}: arm64 differs by ${difference} > ${tolerance}`);
    }
  }
  console.log(`test:arm64: largest difference ${(worst * 100).toFixed(1)}% of its tolerance`);
}

function main(): void {
  const started = Date.now();
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(`test:arm64 cross-compiles on linux-x64 (this is ${process.platform}-${process.arch})`);
  const qemu = spawnSync('qemu-aarch64-static', ['--version'], { encoding: 'utf8' });
  if (qemu.status !== 0 || !fs.existsSync(arm64Node))
    throw new Error(
      'test:arm64 needs qemu-aarch64-static and an arm64 Node.js in build-arm64/sysroot: ' +
        'run scripts/setup-arm64.sh'
    );
  ensurePrebuilds();
  for (const arch of ['x64', 'arm64']) checkBinary(arch);
  checkPackage();
  checkInstallChoice();
  const x64 = reference(process.execPath, [], 'x64');
  const nudged = reference(process.execPath, [], 'x64, one input one ulp off', ['--nudge']);
  const arm64 = reference('qemu-aarch64-static', ['-L', sysroot, arm64Node], 'arm64 under qemu');
  compare(x64, nudged, arm64);
  console.log(`test:arm64: ${failures.length ? `${failures.length} failed` : 'passed'} in ${seconds(started)}`);
  if (failures.length) {
    for (const f of failures) console.error(`  ${f}`);
    process.exit(1);
  }
}

try {
  main();
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
