#!/usr/bin/env bash
# Builds with AddressSanitizer + UBSan (INT4_SANITIZE=ON) into build-sanitize/ (incremental):
#   build-sanitize/int4_kernel_tests   the C++ kernel tests, run as they are
#   build-sanitize/Release/int4.node   the whole addon (binding, kernels, ops), for Node with
#                                      libasan preloaded and INT4_NATIVE pointing at it
#                                      (test/sanitize.test.ts)
# Plain CMake with the Node-API headers of the dependencies, as `npx int4 build` does (no cmake-js,
# so the kernel tests and the addon share one configuration). Arguments: the targets to build
# (default both: int4_kernel_tests int4). Prints the built files.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(int4_kernel_tests int4)
napi_include=$(node -p "require('path').join(path.dirname(require.resolve('node-api-headers/package.json')), 'include')")
addon_api=$(node -p "require('node-addon-api').include" | tr -d '"')
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINT4_SANITIZE=ON \
  -DINT4_NAPI_INCLUDE="$napi_include" -DNODE_ADDON_API_DIR="$addon_api" >/dev/null
cmake --build build-sanitize --target "${targets[@]}" -j 2 >/dev/null
for t in "${targets[@]}"; do
  case $t in
    int4) echo build-sanitize/Release/int4.node ;;
    *) echo "build-sanitize/$t" ;;
  esac
done
