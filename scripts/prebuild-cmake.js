#!/usr/bin/env node
// Stand-in for node-gyp under prebuildify (`prebuildify --node-gyp scripts/prebuild-cmake.js`):
// prebuildify runs it as `<this> rebuild --target=… --arch=… --release` and then takes the first
// *.node in build/Release. It builds with cmake-js in its own directory (build-prebuild/, so the
// development build's cache is untouched) with OpenBLAS linked statically, and puts the result
// into build/Release by rename (never rewriting a loaded .node in place: a process that mapped it
// would die of SIGBUS; hence the linker strips it, not prebuildify's in-place --strip). The
// development binary is kept in build-prebuild/ and put back by `--restore` (the npm postprebuild
// step). The hash of the sources is recorded beside the prebuild for install.js.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { recordSourcesHash } = require('./native-sources');

const root = path.join(__dirname, '..');
const out = path.join(root, 'build-prebuild');
const release = path.join(root, 'build', 'Release', 'admmirnn.node');
const backup = path.join(out, 'development.node');

function replace(from, to) {
  const tmp = `${to}.tmp-${process.pid}`; // not *.node: prebuildify must not pick it up
  fs.copyFileSync(from, tmp);
  fs.renameSync(tmp, to);
}

if (process.argv.includes('--restore')) {
  if (fs.existsSync(backup)) {
    fs.mkdirSync(path.dirname(release), { recursive: true });
    replace(backup, release);
    fs.rmSync(backup);
  }
  process.exit(0);
}

const arch = (process.argv.find((a) => a.startsWith('--arch=')) || '').slice('--arch='.length);
if (arch && arch !== process.arch) {
  console.error(`prebuild-cmake: cross-compiling to ${arch} is not supported (host ${process.arch})`);
  process.exit(1);
}
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const args = [cmakeJs, 'rebuild', '--out', out, '--CDADMMIRNN_STATIC_OPENBLAS=ON', '--CDCMAKE_SHARED_LINKER_FLAGS=-s', '--parallel', process.env.ADMMIRNN_PREBUILD_JOBS || '4'];
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status || 1);

fs.mkdirSync(path.dirname(release), { recursive: true });
if (fs.existsSync(release) && !fs.existsSync(backup)) fs.copyFileSync(release, backup);
replace(path.join(out, 'Release', 'admmirnn.node'), release);
recordSourcesHash(root, path.join(root, 'prebuilds', `${process.platform}-${process.arch}`));
