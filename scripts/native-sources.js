'use strict';
// The identity of the native sources a binary is built from: a SHA-256 over the contents (not the
// times) of CMakeLists.txt and native/*, so it survives npm pack and unpack, which give every file
// its extraction time. `npm run prebuild` records it beside each prebuild; install.js uses a
// prebuild only when the package's sources still have that hash.
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const HASH_FILE = 'sources.sha256';

/** Hex SHA-256 of CMakeLists.txt and every file in native/, by sorted relative path. */
function nativeSourcesHash(root) {
  const dir = path.join(root, 'native');
  const files = [
    'CMakeLists.txt',
    ...fs
      .readdirSync(dir)
      .sort()
      .map((f) => `native/${f}`),
  ];
  const hash = crypto.createHash('sha256');
  for (const rel of files) {
    const content = fs.readFileSync(path.join(root, rel));
    hash.update(`${rel}\0${content.length}\0`);
    hash.update(content);
  }
  return hash.digest('hex');
}

/** The hash recorded beside the prebuild directory `dir`, or undefined when there is none. */
function recordedSourcesHash(dir) {
  try {
    return fs.readFileSync(path.join(dir, HASH_FILE), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** True when `dir` holds admmirnn.node built from the native sources of the package at `root`. */
function isCurrentPrebuild(root, dir) {
  return fs.existsSync(path.join(dir, 'admmirnn.node')) && recordedSourcesHash(dir) === nativeSourcesHash(root);
}

function recordSourcesHash(root, dir) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, HASH_FILE), `${nativeSourcesHash(root)}\n`);
}

module.exports = { HASH_FILE, nativeSourcesHash, recordedSourcesHash, isCurrentPrebuild, recordSourcesHash };
