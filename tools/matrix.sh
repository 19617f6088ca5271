#!/usr/bin/env bash
# The test matrix: the CTest suite on every OpenCL implementation this machine can reach
# (installed by tools/setup.sh), one summary line per implementation:
#   matrix: <implementation>: <device>: N passed, F failed, S skipped
# and exit status 1 when any test failed. .ci/run calls it after the plain pass (PoCL pthread,
# summarised here from its JUnit file when given one) and before the sanitizers.
#
#   tools/matrix.sh [BUILD_DIR] [PLAIN_JUNIT]
#
# Implementations: Intel's CPU runtime (a second, independent compiler), PoCL's basic driver
# (one work-item after another: a subset), Oclgrind under the GPU limits the plain pass does
# not cover, and the kernels built as OpenCL C 3.0 on Intel and PoCL (a subset).
# CLATTN_MATRIX_ONLY="intel basic ..." runs only the named entries (for development).
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
plain_junit=${2:-}
[ -x "$build/tests/test_seed" ] || {
    echo "matrix.sh: build $build first (cmake --build $build)" >&2
    exit 2
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The vendors folder: PoCL's .icd as installed, and our own for Intel's runtime (its own .icd
# names a path that does not exist).
intel_dir="${CLATTN_INTEL_OPENCL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/clattn/intel-opencl}"
mkdir -p "$work/vendors"
cp /etc/OpenCL/vendors/pocl.icd "$work/vendors/" 2>/dev/null ||
    echo "matrix.sh: no /etc/OpenCL/vendors/pocl.icd" >&2
have_intel=0
if [ -e "$intel_dir/lib/libintelocl.so" ]; then
    echo "$intel_dir/lib/libintelocl.so" >"$work/vendors/intel.icd"
    have_intel=1
fi
export OCL_ICD_VENDORS="$work/vendors"

summaries=()
failed_any=0

# The device a selection resolves to, as every test program prints it (under $runner, e.g.
# oclgrind, when set).
runner=""
device_of() {
    env "$@" $runner "$build/tests/test_seed" 2>&1 | sed -n 's/^device: //p' | head -n 1
}

# Counts of a CTest JUnit file: "passed failed skipped".
junit_counts() {
    local tests failures skipped
    attribute() { # the first NAME="N" of the file: the <testsuite> element's, one a line
        grep -m 1 -oE "(^|[[:space:]])$1=\"[0-9]+\"" "$2" 2>/dev/null | grep -oE '[0-9]+'
    }
    tests=$(attribute tests "$1")
    failures=$(attribute failures "$1")
    skipped=$(attribute skipped "$1")
    tests=${tests:-0} failures=${failures:-0} skipped=${skipped:-0}
    echo "$((tests - failures - skipped)) $failures $skipped"
}

summarise() { # implementation device junit [ctest status]
    local counts passed failed skipped
    counts=$(junit_counts "$3")
    read -r passed failed skipped <<<"$counts"
    if [ "${4:-0}" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi # ctest itself failed
    if [ $((passed + failed)) -eq 0 ]; then failed=1; fi            # nothing ran: a failure
    [ "$failed" -eq 0 ] || failed_any=1
    summaries+=("matrix: $1: $2: $passed passed, $failed failed, $skipped skipped")
    echo "${summaries[-1]}"
}

wanted() { [ -z "${CLATTN_MATRIX_ONLY:-}" ] || [[ " $CLATTN_MATRIX_ONLY " == *" $1 "* ]]; }

# run_entry NAME SELECTION-ENV CTEST-ARGS...: the tests with the environment, summarised.
run_entry() {
    local name=$1 envs=$2
    shift 2
    wanted "$name" || return 0
    local device start status
    read -r -a env_list <<<"$envs"
    device=$(device_of "${env_list[@]}")
    echo "=== matrix: $name on ${device:-no device} ($envs)"
    start=$(date +%s)
    env "${env_list[@]}" ctest --test-dir "$build" -j2 --output-on-failure \
        --output-junit "$work/$name.xml" "$@"
    status=$?
    echo "=== matrix: $name took $(($(date +%s) - start)) s"
    summarise "$name" "${device:-no device}" "$work/$name.xml" "$status"
}

start_all=$(date +%s)
if [ -n "$plain_junit" ] && [ -e "$plain_junit" ]; then
    summarise "pocl-pthread (plain pass)" "$(device_of CLATTN_DEVICE=pthread)" "$plain_junit"
fi

# Intel's CPU runtime, the whole suite but for what does not depend on the device or only
# makes sense on PoCL (each checked with the device the plain pass used):
#   check_layers          nm over the host objects: no device involved
#   kernel_report_budget  offline compiles for sm_80/sm_90/gfx90a/gfx1100: no device involved
#   fuzz_*                the .npy/text/cache-file parsers under libFuzzer: host code only
#   oclgrind_*            Oclgrind is its own implementation (the entry below)
#   fault_sweep           every OpenCL call failed once by the shim: our error paths, whatever
#                         driver answers, and 20+ minutes (the fault_readback_* and
#                         fault_work_group_info tests do run here)
#   soak                  60 s of random shapes for leaks and reference counts; run once, on
#                         PoCL, for CI time
#   test_attention_subgroups  runs on Intel's runtime in the plain pass already (through
#                         tests/with_intel_opencl.sh)
#   mpi_*                 ring attention over MPI: host-side code around clattn_attention,
#                         which the other suites test here; the ranks' cold compiles cost ~45 s
#                         on Intel (passed there by hand, 2026-11-30), run on PoCL only for CI time
# test_reliability_max_alloc and cli_hostile's max-allocation case pin themselves to PoCL
# (only PoCL's limit can be lowered by an environment variable).
if [ "$have_intel" -eq 1 ]; then
    run_entry intel "CLATTN_DEVICE=Intel" \
        -E '^(check_layers|kernel_report_budget|fault_sweep|soak|test_attention_subgroups)$|^fuzz_|^oclgrind_|^mpi_'
else
    echo "matrix: intel: Intel's CPU runtime is not installed (tools/setup.sh): failed"
    summaries+=("matrix: intel: not installed: 0 passed, 1 failed, 0 skipped")
    failed_any=1
fi

# PoCL's basic driver runs a work-group's work-items one after another in one thread, a
# different code path from pthread's (no work-group vectorisation), and slowly: on a shared
# machine the attention masks/splits/contract suites took 100-300+ s each and test_mha over
# 500 s there. So a subset: every seed-op kernel, the weights and GEMM kernels, the small
# attention suite (both kernel shapes, masks and splits at small sizes), errors and probes.
# Left out too: test_weights and bench_smoke, which gate work on a user event: PoCL's basic
# driver deadlocks in clSetUserEventStatus when a command waits on the event (pocl/pocl#1177,
# open; seen here as both blocked in pocl_update_event_running), a driver bug, not ours.
run_entry pocl-basic "POCL_DEVICES=basic CLATTN_DEVICE=basic" \
    -R '^(test_(seed|special|errors|small_kernels|gemm|seed_small|desc|probe|reliability)|test_attention_attention_small)$'

# Oclgrind (--data-races --check-api) with the GPU limits the plain pass's oclgrind_* tests do
# not cover: the attention suite at 256 work-items with 48 and 64 KiB of local memory and at
# 1024 with 32 KiB (the plain pass has 256/32, 1024/48 and 1024/64 KiB). --uninitialized is
# left out: it crashes Oclgrind 21.10 on vector code (tests/run_oclgrind.sh).
if command -v oclgrind >/dev/null 2>&1; then
    for limits in "256 49152" "256 65536" "1024 32768"; do
        read -r wg lmem <<<"$limits"
        runner=oclgrind run_entry "oclgrind-${wg}-${lmem}" \
            "OCLGRIND_MAX_WGSIZE=$wg OCLGRIND_LOCAL_MEM=$lmem" -R '^oclgrind_attention$'
    done
else
    echo "matrix: oclgrind: not installed (tools/setup.sh): failed"
    summaries+=("matrix: oclgrind: not installed: 0 passed, 1 failed, 0 skipped")
    failed_any=1
fi

# The kernels built as OpenCL C 3.0 (CLATTN_CL_STD) where the device offers it: both
# implementations are OpenCL 3.x devices. The seed, MHA and small attention suites (every
# kernel source, each compiled cold again under the new option: the attention splits suite
# alone ran past 300 s on a shared machine).
cl30='^(test_seed|test_seed_small|test_small_kernels|test_mha|test_attention_attention_small)$'
[ "$have_intel" -eq 1 ] && run_entry intel-cl3.0 "CLATTN_DEVICE=Intel CLATTN_CL_STD=3.0" -R "$cl30"
run_entry pocl-cl3.0 "CLATTN_DEVICE=pthread CLATTN_CL_STD=3.0" -R "$cl30"

echo
echo "matrix summary ($(($(date +%s) - start_all)) s):"
printf '%s\n' "${summaries[@]}"
exit "$failed_any"
