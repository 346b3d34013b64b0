#!/usr/bin/env node
// `npm run prebuild`: builds the self-contained prebuilt binaries prebuilds/<platform>-<arch>/admmirnn.node
// with cmake-js, OpenBLAS and the Fortran and C++ runtimes linked statically, and records beside each the hash
// of the native sources it was built from (install.js uses a prebuild only when the hash matches). On
// linux-x64 it makes linux-x64 and, cross-compiled with scripts/toolchains/aarch64-linux-gnu.cmake,
// linux-arm64; elsewhere the host's own. ADMMIRNN_PREBUILD_ARCHS=x64 (a comma list) picks the arches,
// ADMMIRNN_PREBUILD_JOBS the parallel compile jobs (default 4).
// Each build has its own cmake directory (build-prebuild/<platform>-<arch>), so the development build
// (build/) is never touched, and the result replaces the prebuild by rename: rewriting a loaded .node in
// place would kill the processes that mapped it (SIGBUS); for the same reason the linker strips it (-s).
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { recordSourcesHash } = require('./native-sources');

const root = path.join(__dirname, '..');

/** Cross builds this host can make, by `<host platform>-<host arch>>target arch`. */
const CROSS = {
  'linux-x64>arm64': {
    toolchain: path.join(__dirname, 'toolchains', 'aarch64-linux-gnu.cmake'),
    compiler: 'aarch64-linux-gnu-g++',
    files: ['/usr/lib/aarch64-linux-gnu/pkgconfig/openblas.pc'], // arm64 OpenBLAS
    staticLibraries: ['libgfortran.a'], // found by the cross compiler
    install:
      'Run scripts/setup-arm64.sh (Debian/Ubuntu: dpkg --add-architecture arm64; apt-get update;\n' +
      'apt-get install crossbuild-essential-arm64 libopenblas-dev:arm64 libgfortran-12-dev-arm64-cross),\n' +
      'or make the x64 prebuild only: ADMMIRNN_PREBUILD_ARCHS=x64 npm run prebuild',
  },
};

function fail(message) {
  console.error(`prebuild: ${message}`);
  process.exit(1);
}

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function compilerFinds(compiler, library) {
  const r = spawnSync(compiler, [`-print-file-name=${library}`], { encoding: 'utf8' });
  return r.status === 0 && path.isAbsolute(r.stdout.trim());
}

function targetArches() {
  const listed = process.env.ADMMIRNN_PREBUILD_ARCHS;
  if (listed) return listed.split(',').map((a) => a.trim()).filter(Boolean);
  const host = `${process.platform}-${process.arch}`;
  const cross = Object.keys(CROSS).filter((k) => k.startsWith(`${host}>`)).map((k) => k.split('>')[1]);
  return [process.arch, ...cross];
}

/** cmake-js options that cross-compile to `arch`; fails saying what to install when the tools are missing. */
function crossOptions(arch) {
  const host = `${process.platform}-${process.arch}`;
  const cross = CROSS[`${host}>${arch}`];
  if (!cross) fail(`cannot make a ${process.platform}-${arch} prebuild on ${host}`);
  const missing = [];
  if (!onPath(cross.compiler)) missing.push(cross.compiler);
  else missing.push(...cross.staticLibraries.filter((lib) => !compilerFinds(cross.compiler, lib)));
  missing.push(...cross.files.filter((f) => !fs.existsSync(f)));
  if (missing.length) {
    fail(`the ${process.platform}-${arch} prebuild needs the cross tools; missing ${missing.join(', ')}.\n` +
      cross.install);
  }
  return [`--CDCMAKE_TOOLCHAIN_FILE=${cross.toolchain}`];
}

/** Fails unless the ELF `file` needs no shared OpenBLAS, Fortran or C++ runtime. */
function checkSelfContained(file) {
  const r = spawnSync('readelf', ['-d', file], { encoding: 'utf8' });
  if (r.status !== 0) fail(`readelf -d ${file} failed: ${r.stderr || r.error}`);
  const needed = [...r.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const shared = needed.filter((lib) => /openblas|gfortran|quadmath|stdc\+\+|libgcc_s/.test(lib));
  if (shared.length) fail(`${file} needs ${shared.join(', ')} at run time; a prebuild must link them statically`);
}

function build(arch) {
  const started = Date.now();
  const target = `${process.platform}-${arch}`;
  const options = arch === process.arch ? [] : crossOptions(arch);
  const out = path.join(root, 'build-prebuild', target);
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const jobs = process.env.ADMMIRNN_PREBUILD_JOBS || '4';
  const args = [cmakeJs, 'rebuild', '--out', out, '--CDADMMIRNN_STATIC_OPENBLAS=ON',
    '--CDCMAKE_SHARED_LINKER_FLAGS=-s', ...options, '--parallel', jobs];
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) fail(`the ${target} build failed (cmake-js exit ${result.status})`);
  const built = path.join(out, 'Release', 'admmirnn.node');
  if (process.platform === 'linux') checkSelfContained(built);

  const dir = path.join(root, 'prebuilds', target);
  const dest = path.join(dir, 'admmirnn.node');
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${dest}.tmp-${process.pid}`; // not *.node: node-gyp-build must not pick it up
  fs.copyFileSync(built, tmp);
  fs.renameSync(tmp, dest);
  recordSourcesHash(root, dir);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  console.log(`prebuild: ${path.relative(root, dest)} (${fs.statSync(dest).size} bytes, ${seconds} s)`);
}

const arches = targetArches();
// Check every cross toolchain before the first (minute-long) build.
for (const arch of arches) if (arch !== process.arch) crossOptions(arch);
for (const arch of arches) build(arch);
