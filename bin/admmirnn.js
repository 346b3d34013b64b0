#!/usr/bin/env node
'use strict';
// The `admmirnn` command: a shim over the compiled CLI (dist/lib/cli/main.js).
require('../dist/lib/cli/main.js')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
