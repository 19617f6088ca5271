#!/usr/bin/env bash
# The Python package's tests: builds and installs python/ (pip install ./python: the
# library by scikit-build-core, then the ctypes binding) into the virtual environment that
# tools/setup.sh prepares, and runs its pytest suite (python/tests) on the default OpenCL
# device, printing pytest's summary. --fresh instead makes a brand-new environment and
# installs with the one command of the README (pip install './python[test]'), as a user would.
#
#   tools/python_tests.sh [--fresh] [pytest arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${CLATTN_PYTHON_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/clattn/python-venv}"
fresh=0
if [ "${1:-}" = --fresh ]; then
    fresh=1
    shift
    venv=$(mktemp -d)/venv
    trap 'rm -rf "$(dirname "$venv")"' EXIT
    /usr/bin/python3 -m venv "$venv"
elif [ ! -e "$venv/.clattn-test-deps-2" ]; then
    echo "python_tests.sh: no test environment at $venv: run tools/setup.sh first" >&2
    exit 2
fi
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
unset CLATTN_LIBRARY # the tests check the library the package bundles
pip=("$venv/bin/python3" -m pip install -q --disable-pip-version-check)
start=$(date +%s)
if [ $fresh = 1 ]; then
    "${pip[@]}" './python[test]'
else
    # The environment's build backend, and a build folder kept between runs.
    "${pip[@]}" --no-build-isolation --no-deps --force-reinstall \
        --config-settings=build-dir="$PWD/build-python" ./python
fi
echo "python_tests.sh: installed in $(($(date +%s) - start)) s into $venv"
cd python
"$venv/bin/python3" -m pytest -p no:cacheprovider -q "$@" tests
