#!/usr/bin/env bash
# Builds the C++ kernel test binary with AddressSanitizer + UBSan (INT4_SANITIZE=ON) into
# build-sanitize/int4_kernel_tests (incremental).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINT4_SANITIZE=ON >/dev/null
cmake --build build-sanitize --target int4_kernel_tests -j 2 >/dev/null
echo build-sanitize/int4_kernel_tests
