#!/usr/bin/env bash
# Sets up a fresh machine to build and test int4: the Debian packages the tests need (a C++
# compiler and CMake for the addon and kernel tests, the aarch64 cross compiler and qemu-user for
# the NEON tests), then the npm dependencies. Installing int4 itself needs none of this.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake g++ make g++-aarch64-linux-gnu qemu-user)
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
