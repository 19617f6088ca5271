#!/usr/bin/env bash
# Installs what building and testing clattn needs and a fresh Debian/Ubuntu machine may lack:
# the OpenCL ICD loader and headers, PoCL (OpenCL on the CPU, so that there is always a
# device), CUnit, Oclgrind (kernel checking), CMake and pkg-config, clang-19 with libFuzzer
# (the fuzz_* tests; libclang-rt-19-dev holds its runtime). Installs only what is
# missing; uses sudo when not root. Extra package names may be given as arguments.
set -euo pipefail

packages=(cmake make gcc pkg-config ocl-icd-opencl-dev opencl-headers pocl-opencl-icd
          libcunit1-dev oclgrind clinfo clang-19 libclang-rt-19-dev "$@")
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup.sh: please install: ${missing[*]} (no apt-get on this system)" >&2
    exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "setup.sh: installing ${missing[*]}"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
