#!/usr/bin/env bash
# Installs what building and testing clattn needs and a fresh Debian/Ubuntu machine may lack:
# the OpenCL ICD loader and headers, PoCL (OpenCL on the CPU, so that there is always a
# device), CUnit, Oclgrind (kernel checking), CMake and pkg-config. Installs only what is
# missing; uses sudo when not root. clang-19 and libclc-19 (with rocm-device-libs) compile
# the kernels offline for NVIDIA and AMD GPUs (tools/kernel-report.sh; ptxas comes with the
# CUDA toolkit; Intel's ocloc is unpacked by tools/setup-ocloc.sh); clang-19 with
# libclang-rt-19-dev (libFuzzer's runtime) builds the fuzz_* tests; python3-numpy lets
# cli_attend_check and cli_mha_check compare the CLI with NumPy; Open MPI (libopenmpi-dev,
# openmpi-bin) builds clattn_mpi and clattn attend --mpi (ring attention) and runs the mpi_*
# tests. Extra package names may be given as arguments.
#
# The Python package's tests (tools/python_tests.sh) run in a virtual environment of the
# system's python3 at CLATTN_PYTHON_VENV (default ~/.cache/clattn/python-venv) holding what
# they need from PyPI: pytest, pyopencl, NumPy, ml_dtypes (bfloat16 arrays) and
# scikit-build-core (the package's build backend). Skipped with CLATTN_SETUP_NO_PYTHON=1.
#
# Intel's CPU OpenCL runtime (a second, independent OpenCL compiler for tools/matrix.sh)
# comes from PyPI (intel-opencl-rt, intel-cmplr-lib-rt) into a virtual environment of the
# system's python3 at CLATTN_INTEL_OPENCL_DIR (default ~/.cache/clattn/intel-opencl), so that
# libintelocl.so lies at a known place ($dir/lib) and no site-packages is touched. Its own
# .icd file names a path that does not exist: tools/matrix.sh writes one of its own. x86-64
# only; skipped elsewhere and with CLATTN_SETUP_NO_INTEL=1.
set -euo pipefail
# Intel's offline compiler for tools/kernel-report.sh (unpacked, see the script).
bash "$(dirname "$0")/setup-ocloc.sh"

packages=(cmake make gcc pkg-config ocl-icd-opencl-dev opencl-headers pocl-opencl-icd
          libcunit1-dev oclgrind clinfo clang-19 libclc-19 libclc-19-dev rocm-device-libs
          libclang-rt-19-dev python3 python3-numpy python3-venv python3-pip
          libopenmpi-dev openmpi-bin "$@")
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -ne 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "setup.sh: please install: ${missing[*]} (no apt-get on this system)" >&2
        exit 1
    fi
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup.sh: installing ${missing[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

intel_dir="${CLATTN_INTEL_OPENCL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/clattn/intel-opencl}"
if [ "${CLATTN_SETUP_NO_INTEL:-0}" != 1 ] && [ "$(uname -m)" = x86_64 ] &&
   [ ! -e "$intel_dir/lib/libintelocl.so" ]; then
    echo "setup.sh: installing Intel's CPU OpenCL runtime (PyPI) into $intel_dir"
    /usr/bin/python3 -m venv "$intel_dir"
    "$intel_dir/bin/python3" -m pip install -q --disable-pip-version-check \
        intel-opencl-rt intel-cmplr-lib-rt
    [ -e "$intel_dir/lib/libintelocl.so" ] || {
        echo "setup.sh: $intel_dir/lib/libintelocl.so missing after pip install" >&2
        exit 1
    }
fi

python_venv="${CLATTN_PYTHON_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/clattn/python-venv}"
if [ "${CLATTN_SETUP_NO_PYTHON:-0}" != 1 ] && [ ! -e "$python_venv/.clattn-test-deps-2" ]; then
    echo "setup.sh: installing pytest, pyopencl, numpy, ml_dtypes, scikit-build-core (PyPI) into $python_venv"
    /usr/bin/python3 -m venv "$python_venv"
    "$python_venv/bin/python3" -m pip install -q --disable-pip-version-check \
        pytest pyopencl numpy ml_dtypes scikit-build-core
    touch "$python_venv/.clattn-test-deps-2"
fi
