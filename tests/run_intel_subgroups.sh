#!/bin/sh
# run_intel_subgroups.sh CLI TEST_PLAN TEST_ATTENTION: the GPU attention shape's sub-group
# reductions on Intel's CPU OpenCL runtime (PyPI intel-opencl-rt), which offers
# cl_khr_subgroup_shuffle and cl_intel_subgroups:
#   1. test_plan's device suite: the runtime's profile offers the khr shuffle, the planner
#      puts -DSUBGROUP_SHUFFLE=1 into attention_gpu's options and every planned kernel builds;
#   2. test_attention's small and mask suites (both kernel shapes; the GPU shape then takes the
#      khr shuffles), the small suite again with CLATTN_SUBGROUPS=intel (Intel's shuffle) and
#      with CLATTN_SUBGROUPS=0 (the local-memory path in the same runtime).
# CTest runs it through with_intel_opencl.sh, which registers the runtime where tools/setup.sh
# installed it. Skips (exit 77) when there is none.
set -u
cli=$1 test_plan=$2 test_attention=$3

intel_platform() { # the platform index of Intel's OpenCL runtime, or nothing
    "$cli" devices 2>/dev/null | sed -n 's/^platform \([0-9][0-9]*\): Intel(R) OpenCL.*/\1/p' |
        head -n 1
}

platform=$(intel_platform)
if [ -z "$platform" ]; then
    echo "SKIPPED: Intel's CPU OpenCL runtime is not registered (no 'Intel(R) OpenCL' platform;"
    echo "  pip install intel-opencl-rt, then list its lib/libintelocl.so in an ICD file)"
    exit 77
fi
CLATTN_DEVICE=$platform:0
export CLATTN_DEVICE
unset CLATTN_SUBGROUPS
echo "Intel's runtime: CLATTN_DEVICE=$CLATTN_DEVICE"

fail=0
run() { # run LABEL COMMAND...: runs it, remembers a failure
    label=$1
    shift
    echo "== $label"
    if ! "$@"; then
        echo "FAILED: $label"
        fail=1
    fi
}

log=$(mktemp)
"$test_plan" plan_device >"$log" 2>&1
status=$?
cat "$log"
if [ $status -ne 0 ] || ! grep -q "planned with -DSUBGROUP_SHUFFLE=1" "$log"; then
    echo "FAILED: test_plan plan_device did not plan and build the khr shuffle on Intel's runtime"
    fail=1
fi
rm -f "$log"
run "attention_small, khr shuffles" "$test_attention" attention_small
run "attention_masks, khr shuffles" "$test_attention" attention_masks
run "attention_small, Intel shuffles" env CLATTN_SUBGROUPS=intel "$test_attention" attention_small
run "attention_small, local memory" env CLATTN_SUBGROUPS=0 "$test_attention" attention_small
exit $fail
