#!/usr/bin/env node
// The node-gyp that prebuildify runs for `npm run prebuild` (scripts/prebuild-cmake.js starts it as
// `prebuildify --node-gyp scripts/prebuild-node-gyp.js`): prebuildify calls it as
// `<this> rebuild --target=… --arch=… --release` in a staging directory and then moves the first *.node of
// that directory's build/Release into prebuilds/<platform>-<arch>/. It builds with cmake-js in
// build-prebuild/<platform>-<arch> with the cmake options the driver passes in ADMMIRNN_PREBUILD_CMAKE_OPTIONS
// (JSON), and copies the result into the staging build/Release: the development build (build/) is never touched.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');
const arch = (process.argv.find((a) => a.startsWith('--arch=')) || `--arch=${process.arch}`).slice('--arch='.length);
const target = `${process.platform}-${arch}`;
const out = path.join(root, 'build-prebuild', target);
const options = JSON.parse(process.env.ADMMIRNN_PREBUILD_CMAKE_OPTIONS || '[]');
const jobs = process.env.ADMMIRNN_PREBUILD_JOBS || '4';
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const result = spawnSync(process.execPath, [cmakeJs, 'rebuild', '--out', out, ...options, '--parallel', jobs], {
  cwd: root,
  stdio: 'inherit',
});
if (result.status !== 0) process.exit(result.status || 1);

const release = path.join(process.cwd(), 'build', 'Release');
fs.mkdirSync(release, { recursive: true });
fs.copyFileSync(path.join(out, 'Release', 'admmirnn.node'), path.join(release, 'admmirnn.node'));
