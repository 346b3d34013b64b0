#!/usr/bin/env node
// Install step: use a prebuilt binary (prebuilds/<platform>-<arch>/) when one matches this
// platform and loads, otherwise build from source with cmake-js (node-gyp-build's own fallback
// would run node-gyp, which this package does not use). ADMMIRNN_BUILD_FROM_SOURCE=1 forces a
// source build; ADMMIRNN_INSTALL_DRY_RUN=1 only reports the choice (for tests).
'use strict';
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');
const dryRun = Boolean(process.env.ADMMIRNN_INSTALL_DRY_RUN);

const { isCurrentPrebuild } = require('./native-sources');

/** The prebuild that node-gyp-build picks for this platform, if it loads and is current; else undefined. */
function loadablePrebuild() {
  if (process.env.ADMMIRNN_BUILD_FROM_SOURCE) return undefined;
  // PREBUILDS_ONLY makes node-gyp-build ignore build/ (read when the module loads).
  process.env.PREBUILDS_ONLY = '1';
  try {
    const gypBuild = require('node-gyp-build');
    const file = gypBuild.resolve(root);
    // Current when built from these very sources (file times do not survive npm pack and unpack).
    if (!isCurrentPrebuild(root, path.dirname(file))) return undefined;
    require(file);
    return file;
  } catch {
    return undefined;
  }
}

const prebuild = loadablePrebuild();
if (prebuild) {
  console.log(`admmirnn: using the prebuilt binary ${path.relative(root, prebuild)}`);
} else if (dryRun) {
  console.log('admmirnn: would build from source with cmake-js');
} else {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const result = spawnSync(process.execPath, [cmakeJs, 'rebuild'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(
      'admmirnn: building the native addon failed. It needs cmake, a C++17 compiler and OpenBLAS\n' +
        '(Debian/Ubuntu: apt-get install -y libopenblas-dev cmake pkg-config), then run npm rebuild admmirnn.'
    );
    process.exit(result.status || 1);
  }
}
