#!/usr/bin/env node
// Install step: use a prebuilt binary when one matches this platform, otherwise build
// from source with cmake-js (node-gyp-build's own fallback would run node-gyp, which
// this package does not use).
'use strict';
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');

function prebuildLoads() {
  if (process.env.ADMMIRNN_BUILD_FROM_SOURCE) return false;
  try {
    require('node-gyp-build')(root);
    return true;
  } catch {
    return false;
  }
}

if (!prebuildLoads()) {
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
