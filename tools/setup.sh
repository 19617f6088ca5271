#!/usr/bin/env bash
# Installs what building and testing clattn needs and a fresh Debian/Ubuntu machine may lack:
# the OpenCL ICD loader and headers, PoCL (OpenCL on the CPU, so that there is always a
# device), CUnit, Oclgrind (kernel checking), CMake and pkg-config. Installs only what is
# missing; uses sudo when not root. clang-19 and libclc-19 (with rocm-device-libs) compile
# the kernels offline for NVIDIA and AMD GPUs (tools/kernel-report.sh; ptxas comes with the
# CUDA toolkit; Intel's ocloc is unpacked by tools/setup-ocloc.sh); clang-19 with
# libclang-rt-19-dev (libFuzzer's runtime) builds the fuzz_* tests. Extra package names may
# be given as arguments.
set -euo pipefail
# Intel's offline compiler for tools/kernel-report.sh (unpacked, see the script).
bash "$(dirname "$0")/setup-ocloc.sh"

packages=(cmake make gcc pkg-config ocl-icd-opencl-dev opencl-headers pocl-opencl-icd
          libcunit1-dev oclgrind clinfo clang-19 libclc-19 libclc-19-dev rocm-device-libs
          libclang-rt-19-dev "$@")
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
