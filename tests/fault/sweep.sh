#!/bin/sh
# Fault sweep: for each operation, counts the OpenCL calls a clean run makes (N), then runs it N
# more times, failing call k = 1..N (tests/fault/fault_shim.c), and checks each run: no crash or
# hang (exit 0 from fault_driver, which checks status, message, outputs and the handle's reuse),
# and for the pipeline example a clean exit or a failure with a message.
#
#   tests/fault/sweep.sh BUILD_DIR [STRIDE] [OPS...]
#
# STRIDE > 1 sweeps every STRIDE-th call (plus the last), for the slower ASan subset.
set -u
build=$1
stride=${2:-1}
shift 2 2>/dev/null || shift $#
ops=${*:-"demo seed_context normalize context attention_mask_lse attention_split_kv mha pipeline"}
shim=$build/tests/libclattn_fault_shim.so
driver=$build/tests/fault_driver
example=$build/examples/clattn_pipeline
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
total=0

run() { # run K OP -> exit status; stderr in $work/err
    if [ "$2" = pipeline ]; then set -- "$1" "$example"; else set -- "$1" "$driver" "$2"; fi
    k=$1
    shift
    rm -f "$work/count"
    timeout -k 5 120 env CLATTN_FAULT_AT="$k" CLATTN_FAULT_COUNT_FILE="$work/count" \
        LD_PRELOAD="$shim" "$@" >"$work/out" 2>"$work/err"
}

for op in $ops; do
    if ! run 0 "$op"; then
        echo "FAIL $op: the run without faults failed" >&2
        cat "$work/err" >&2
        failures=$((failures + 1))
        continue
    fi
    calls=$(awk '{print $2}' "$work/count")
    swept=0
    k=1
    while [ "$k" -le "$calls" ]; do
        run "$k" "$op"
        rc=$?
        failed=$(sed -n 's/^fault_shim: failing call [0-9]* (\(.*\)).*/\1/p' "$work/err")
        bad=""
        if [ "$rc" -ge 124 ]; then
            bad="crashed or hung (exit $rc)"
        elif [ "$op" = pipeline ]; then
            [ "$rc" -ne 0 ] && ! grep -q . "$work/err" && bad="failed without a message"
        elif [ "$rc" -ne 0 ]; then
            bad="broke a rule (exit $rc)"
        fi
        if [ -n "$bad" ]; then
            echo "FAIL $op: failing call $k ($failed) $bad:" >&2
            tail -n 5 "$work/err" >&2
            failures=$((failures + 1))
        fi
        swept=$((swept + 1))
        if [ "$k" -lt "$calls" ] && [ $((k + stride)) -gt "$calls" ]; then
            k=$calls
        else
            k=$((k + stride))
        fi
    done
    total=$((total + swept))
    echo "fault sweep: $op: $calls OpenCL calls, $swept failure points swept"
done
echo "fault sweep: $total runs with a failing call, $failures failures"
[ "$failures" -eq 0 ]
