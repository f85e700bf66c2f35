#!/usr/bin/env bash
# Builds the committed prebuilds, one N-API build each, serving every Node >= 20:
#   prebuilds/linux-x64/int4.napi.node    clang 16 of Debian 11 (glibc 2.31), in a chroot
#   prebuilds/linux-arm64/int4.napi.node  g++ 10 aarch64 cross compiler of Debian 11, same chroot
#   prebuilds/win32-x64/int4.napi.node    this machine's MinGW-w64 g++ (POSIX threads)
# The Linux ones are built against Debian 11's glibc with the few newer libm symbol versions
# pinned back (cpp/platform/glibc_compat.h), so they load on glibc >= 2.28; static libstdc++ and
# libgcc everywhere, so no C++ runtime of the user's is needed. Debian 11's g++ 10 has no AMX or
# AVX-VNNI intrinsics: its clang 16 builds the x64 one (Debian 11's binutils cannot assemble
# AVX-VNNI either; clang assembles itself).
#
# Run it after any change under cpp/, cmake/ or CMakeLists.txt; a test fails when a committed
# prebuild does not match the sources. Needs root (debootstrap, chroot) and the Debian packages
# debootstrap and g++-mingw-w64-x86-64-posix (installed here when missing), plus npm ci's
# node_modules (node-api-headers, node-addon-api).
#
# Times on the 2-core development machine (each step prints its own): the chroot with its
# toolchain, first time only, ~2 min (debootstrap 40 s, clang/g++/cmake/cross compiler 1.5 min,
# needs Debian's package mirror); then linux-x64 ~10 s, linux-arm64 ~10 s, win32-x64 ~13 s.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
chroot_dir=$root/build-chroot/bullseye
chroot_packages=(clang-16 g++ cmake make binutils g++-aarch64-linux-gnu libc6-dev-arm64-cross)
host_packages=(debootstrap g++-mingw-w64-x86-64-posix binutils-mingw-w64-x86-64 binutils-aarch64-linux-gnu cmake make file)

say() { echo "prebuild: $*" >&2; }
step_start=0
step() { step_start=$SECONDS; say "$*"; }
step_done() { say "  done in $((SECONDS - step_start)) s"; }

[ "$(id -u)" = 0 ] || { say "needs root (debootstrap and chroot for the Linux builds)"; exit 1; }
[ -d node_modules/node-api-headers ] && [ -d node_modules/node-addon-api ] || { say "run npm ci first"; exit 1; }
missing=()
for p in "${host_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  step_done
fi

# ---- the Debian 11 chroot (cached in build-chroot/, outside git) ----
marker=$chroot_dir/.int4-toolchain
if [ ! -f "$marker" ] || [ "$(cat "$marker")" != "${chroot_packages[*]}" ]; then
  step "creating the Debian 11 chroot with ${chroot_packages[*]}"
  if [ ! -x "$chroot_dir/usr/bin/apt-get" ]; then
    rm -rf "$chroot_dir"
    mkdir -p "$(dirname "$chroot_dir")"
    debootstrap --variant=minbase bullseye "$chroot_dir" >/dev/null
  fi
  chroot "$chroot_dir" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive chroot "$chroot_dir" apt-get install -y -qq --no-install-recommends "${chroot_packages[@]}" >/dev/null
  echo "${chroot_packages[*]}" > "$marker"
  step_done
fi

# the sources and the Node-API headers, copied in (the hash is over the same files)
src=$chroot_dir/int4/src
rm -rf "$chroot_dir/int4"
mkdir -p "$src/node_modules"
cp -r cpp cmake CMakeLists.txt "$src/"
cp -r node_modules/node-api-headers node_modules/node-addon-api "$src/node_modules/"

linux_build() {  # linux_build <arch> [cmake args...]
  local arch=$1; shift
  step "linux-$arch (Debian 11 chroot)"
  chroot "$chroot_dir" /bin/sh -c "cmake -S /int4/src -B /int4/build-$arch -DCMAKE_BUILD_TYPE=Release -DINT4_GLIBC_COMPAT=ON \
      -DINT4_NAPI_INCLUDE=/int4/src/node_modules/node-api-headers/include -DNODE_ADDON_API_DIR=/int4/src/node_modules/node-addon-api $* >/dev/null \
    && cmake --build /int4/build-$arch --target int4 -j$(nproc)" >/dev/null
  step_done
}

linux_build x64 -DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16
mkdir -p prebuilds/linux-x64
strip --strip-unneeded -o prebuilds/linux-x64/int4.napi.node "$chroot_dir/int4/build-x64/Release/int4.node"

linux_build arm64 -DCMAKE_TOOLCHAIN_FILE=/int4/src/cmake/aarch64-linux-gnu.cmake
mkdir -p prebuilds/linux-arm64
aarch64-linux-gnu-strip --strip-unneeded -o prebuilds/linux-arm64/int4.napi.node "$chroot_dir/int4/build-arm64/Release/int4.node"

# ---- win32-x64: MinGW-w64 on this machine (no link or strip time in the PE header: the same
# sources give the same bytes) ----
step "win32-x64 (MinGW-w64)"
out=build-prebuild/win32-x64
rm -rf "$out"
cmake -S . -B "$out" -DCMAKE_BUILD_TYPE=Release -DCMAKE_TOOLCHAIN_FILE="$root/cmake/x86_64-w64-mingw32.cmake" \
  -DINT4_NAPI_INCLUDE="$root/node_modules/node-api-headers/include" -DINT4_NAPI_DEF="$root/node_modules/node-api-headers/def/node_api.def" \
  -DNODE_ADDON_API_DIR="$root/node_modules/node-addon-api" >/dev/null
cmake --build "$out" --target int4 -j"$(nproc)" >/dev/null
mkdir -p prebuilds/win32-x64
SOURCE_DATE_EPOCH=0 x86_64-w64-mingw32-strip --strip-unneeded -o prebuilds/win32-x64/int4.napi.node "$out/Release/int4.node"
step_done

rm -rf "$chroot_dir/int4"
file prebuilds/*/int4.napi.node 2>/dev/null || ls -l prebuilds/*/int4.napi.node
