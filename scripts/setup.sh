#!/usr/bin/env bash
# One-time (idempotent) setup from a fresh clone: system packages for the native build
# (OpenBLAS with headers, cmake, pkg-config; redis-server, which the Redis transport's tests
# start on loopback), npm dependencies (which build the addon), and the TypeScript build.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists openblas; then missing+=(libopenblas-dev); fi
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)

if ((${#missing[@]})); then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "setup: installing ${missing[*]} with apt-get"
    $sudo apt-get install -y "${missing[@]}" || { $sudo apt-get update && $sudo apt-get install -y "${missing[@]}"; }
  else
    echo "setup: missing ${missing[*]}; install OpenBLAS (with headers and its pkg-config file), cmake, pkg-config and redis-server with your package manager, then rerun." >&2
    exit 1
  fi
fi

# Static Fortran runtime for self-contained prebuilds (npm run prebuild); optional otherwise.
if command -v apt-get >/dev/null 2>&1 && command -v c++ >/dev/null 2>&1; then
  if [[ "$(c++ -print-file-name=libgfortran.a)" != /* ]]; then
    gcc_major=$(c++ -dumpversion | cut -d. -f1)
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get install -y "libgfortran-${gcc_major}-dev" || { $sudo apt-get update && $sudo apt-get install -y "libgfortran-${gcc_major}-dev"; } ||
      echo "setup: libgfortran-${gcc_major}-dev not installed; prebuilds will need libgfortran at run time" >&2
  fi
fi

# npm ci also compiles the addon (install script) and the TypeScript (prepare).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci
fi
if ! node -e "require('node-gyp-build')('.')" >/dev/null 2>&1; then
  npx cmake-js rebuild
fi
npx tsc -p tsconfig.json
echo "setup: ready"
