#!/usr/bin/env bash
# Builds the committed prebuilds: prebuilds/linux-x64/int4.napi.node (native) and
# prebuilds/linux-arm64/int4.napi.node (Debian's aarch64 cross compiler). One N-API build serves
# every Node >= 20. Run it after any change under cpp/, cmake/ or CMakeLists.txt; a test fails
# when a committed prebuild does not match the sources.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

build() {  # build <arch> <out dir> [cmake-js args...]
  local arch=$1 out=$2; shift 2
  rm -rf "$out"
  npx cmake-js compile --arch "$arch" --out "$out" "$@"
}

build x64 build-prebuild/x64
mkdir -p prebuilds/linux-x64
strip --strip-unneeded -o prebuilds/linux-x64/int4.napi.node build-prebuild/x64/Release/int4.node

if ! command -v aarch64-linux-gnu-g++ >/dev/null; then
  echo "prebuild: aarch64-linux-gnu-g++ not found (apt-get install g++-aarch64-linux-gnu)" >&2
  exit 1
fi
build arm64 build-prebuild/arm64 --CDCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake"
mkdir -p prebuilds/linux-arm64
aarch64-linux-gnu-strip --strip-unneeded -o prebuilds/linux-arm64/int4.napi.node build-prebuild/arm64/Release/int4.node

file prebuilds/*/int4.napi.node 2>/dev/null || ls -l prebuilds/*/int4.napi.node
