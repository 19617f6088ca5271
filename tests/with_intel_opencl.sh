#!/bin/sh
# with_intel_opencl.sh PROGRAM ARGS...: runs PROGRAM with Intel's CPU OpenCL runtime registered
# beside the system's ICDs (PoCL): for the tests that need a second OpenCL implementation (the
# multi-device tests, the sub-group shuffles). Intel's runtime is found as tools/matrix.sh finds it (tools/setup.sh installs it in
# $CLATTN_INTEL_OPENCL_DIR, default ~/.cache/clattn/intel-opencl), else in python3's prefix
# (pip install intel-opencl-rt). When it is already registered, or absent, PROGRAM runs with
# the ICDs as they are (a test that needs it then says that it skipped, and why).
set -u
vendors_in="${OCL_ICD_VENDORS:-/etc/OpenCL/vendors}"
if [ -d "$vendors_in" ] && grep -qs libintelocl "$vendors_in"/*.icd; then
    exec "$@"
fi
lib=
for candidate in \
    "${CLATTN_INTEL_OPENCL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/clattn/intel-opencl}/lib/libintelocl.so" \
    "$(python3 -c 'import sys; print(sys.prefix)' 2>/dev/null)/lib/libintelocl.so"; do
    if [ -f "$candidate" ]; then
        lib=$candidate
        break
    fi
done
[ -n "$lib" ] || exec "$@"
vendors=$(mktemp -d)
trap 'rm -rf "$vendors"' EXIT
if [ -d "$vendors_in" ]; then
    for icd in "$vendors_in"/*.icd; do
        [ -f "$icd" ] && cp "$icd" "$vendors/"
    done
fi
echo "$lib" >"$vendors/intel-test.icd"
OCL_ICD_VENDORS=$vendors
export OCL_ICD_VENDORS
"$@"
