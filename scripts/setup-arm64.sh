#!/usr/bin/env bash
# Cross tools for the linux-arm64 prebuild (npm run prebuild) and its test under qemu (npm run test:arm64), on
# Debian/Ubuntu x86-64: the aarch64 cross compiler, arm64 OpenBLAS and static Fortran runtime (multiarch),
# qemu-user-static, and an arm64 Node.js unpacked into build-arm64/sysroot (not installed: Debian's
# nodejs:arm64 would replace the host's node). Idempotent: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
sysroot=build-arm64/sysroot

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
  echo "setup-arm64: needs Debian/Ubuntu (apt-get, dpkg multiarch); elsewhere install an aarch64-linux-gnu" \
    "cross compiler, arm64 OpenBLAS and qemu-aarch64-static by hand" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

updated=""
# Waits for another apt or dpkg run to finish (up to 15 min) instead of failing on its lock.
lock_wait=(-o DPkg::Lock::Timeout=900)
apt_update() { [ -n "$updated" ] || { $sudo apt-get update -qq "${lock_wait[@]}"; updated=1; }; }
apt_install() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${lock_wait[@]}" "$@"; }

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "setup-arm64: adding the arm64 architecture to dpkg"
  $sudo dpkg --add-architecture arm64
  apt_update
fi

# The cross compiler's static libgfortran comes from the -cross package (the :arm64 one sits outside its search path).
packages=(crossbuild-essential-arm64 libopenblas-dev:arm64 libgfortran-12-dev-arm64-cross qemu-user-static)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup-arm64: installing ${missing[*]}"
  apt_install "${missing[@]}" || { apt_update && apt_install "${missing[@]}"; }
fi

# Node.js for arm64 with its shared libraries, run as `qemu-aarch64-static -L build-arm64/sysroot`.
if [ ! -x "$sysroot/usr/bin/node" ]; then
  node_packages=(nodejs:arm64 libnode108:arm64 libc6:arm64 libgcc-s1:arm64 libstdc++6:arm64 libuv1:arm64 libicu72:arm64
    libssl3:arm64 libc-ares2:arm64 libnghttp2-14:arm64 libbrotli1:arm64 zlib1g:arm64
    node-acorn node-cjs-module-lexer node-undici)
  debs=$(mktemp -d)
  # apt-get download as root fetches as the _apt user, which may not write into a root-owned mktemp directory.
  sandbox=()
  [ "$(id -u)" != 0 ] || sandbox=(-o APT::Sandbox::User=root)
  trap 'rm -rf "$debs"' EXIT
  echo "setup-arm64: unpacking an arm64 Node.js into $sysroot"
  download() { (cd "$debs" && apt-get download -qq "${sandbox[@]}" "${node_packages[@]}"); }
  download || { apt_update && download; }
  rm -rf "$sysroot.partial"
  mkdir -p "$sysroot.partial"
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$sysroot.partial"; done
  rm -rf "$sysroot"
  mv "$sysroot.partial" "$sysroot" # complete or absent: an interrupted unpack is redone
fi
echo "setup-arm64: ready ($(qemu-aarch64-static -L "$sysroot" "$sysroot/usr/bin/node" --version) for arm64," \
  "$(aarch64-linux-gnu-g++ --version | head -1))"
