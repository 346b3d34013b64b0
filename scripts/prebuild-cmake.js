#!/usr/bin/env node
// `npm run prebuild`: the self-contained prebuilt binaries prebuilds/<platform>-<arch>/admmirnn.node, OpenBLAS and
// the Fortran and C++ runtimes linked statically, each with the hash of the native sources it was built from
// beside it (install.js uses a prebuild only when the hash matches). On linux-x64 it makes linux-x64 and,
// cross-compiled with scripts/toolchains/aarch64-linux-gnu.cmake, linux-arm64; elsewhere the host's own.
// ADMMIRNN_PREBUILD_ARCHS=x64 (a comma list) picks the arches, ADMMIRNN_PREBUILD_JOBS the compile jobs (default 4).
// prebuildify packages each arch: it runs scripts/prebuild-node-gyp.js (cmake-js in build-prebuild/<target>) in a
// staging directory and moves the result into prebuilds/ by rename, so the development build (build/) is never
// touched and a loaded .node is never rewritten in place (the processes that mapped it would die of SIGBUS); for
// the same reason the linker strips it (-s), not prebuildify's in-place --strip.
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
  if (listed)
    return listed
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean);
  const host = `${process.platform}-${process.arch}`;
  const cross = Object.keys(CROSS)
    .filter((k) => k.startsWith(`${host}>`))
    .map((k) => k.split('>')[1]);
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
    fail(
      `the ${process.platform}-${arch} prebuild needs the cross tools; missing ${missing.join(', ')}.\n` + cross.install
    );
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
  const cmakeOptions = [
    '--CDADMMIRNN_STATIC_OPENBLAS=ON',
    '--CDCMAKE_SHARED_LINKER_FLAGS=-s',
    ...(arch === process.arch ? [] : crossOptions(arch)),
  ];
  const stage = path.join(root, 'build-prebuild', `${target}-stage`);
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  const prebuildify = require.resolve('prebuildify/bin.js');
  const args = [
    prebuildify,
    '--napi',
    '--name',
    'admmirnn',
    '--platform',
    process.platform,
    '--arch',
    arch,
    '--cwd',
    stage,
    '--out',
    root,
    '--node-gyp',
    path.join(__dirname, 'prebuild-node-gyp.js'),
  ];
  const env = { ...process.env, ADMMIRNN_PREBUILD_CMAKE_OPTIONS: JSON.stringify(cmakeOptions) };
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0) fail(`the ${target} build failed (prebuildify exit ${result.status})`);

  const dir = path.join(root, 'prebuilds', target);
  const dest = path.join(dir, 'admmirnn.node');
  if (process.platform === 'linux') checkSelfContained(dest);
  recordSourcesHash(root, dir);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  console.log(`prebuild: ${path.relative(root, dest)} (${fs.statSync(dest).size} bytes, ${seconds} s)`);
}

const arches = targetArches();
// Check every cross toolchain before the first (minute-long) build.
for (const arch of arches) if (arch !== process.arch) crossOptions(arch);
for (const arch of arches) build(arch);
