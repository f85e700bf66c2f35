#!/usr/bin/env bash
# Cross-builds the C++ kernel test binary for aarch64 with Debian's g++-aarch64-linux-gnu into
# build-arm64/tests/int4_kernel_tests (incremental). Run it under qemu:
#   qemu-aarch64 -L /usr/aarch64-linux-gnu build-arm64/tests/int4_kernel_tests
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-arm64/tests -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64-linux-gnu.cmake" >/dev/null
cmake --build build-arm64/tests --target int4_kernel_tests -j 2 >/dev/null
echo build-arm64/tests/int4_kernel_tests
