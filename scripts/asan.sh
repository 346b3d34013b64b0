#!/usr/bin/env bash
# `npm run test:asan`: builds the addon with AddressSanitizer + UBSan into build-asan/ (leaving
# build/Release alone) and runs dist/scripts/asan-exercise.js under it. Node itself is not
# instrumented, so libasan is preloaded and leak checking (of Node's own allocations) is off.
set -euo pipefail
cd "$(dirname "$0")/.."
node node_modules/cmake-js/bin/cmake-js build --out build-asan --debug --CDADMMIRNN_SANITIZE=ON
npx tsc -p tsconfig.json
log=$(mktemp)
status=0
ADMMIRNN_ADDON=build-asan/Debug/admmirnn.node \
LD_PRELOAD="$(gcc -print-file-name=libasan.so)" \
ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:allow_user_segv_handler=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  node dist/scripts/asan-exercise.js 2>&1 | tee "$log" || status=$?
if grep -qE 'ERROR: AddressSanitizer|runtime error:' "$log"; then
  echo "asan: sanitizer errors reported (see above)"; exit 1
fi
[ "$status" -eq 0 ] && echo "asan: clean (AddressSanitizer + UBSan)" || { echo "asan: exercise failed ($status)"; exit "$status"; }
