#!/bin/sh
# cli_attend_devices.sh CLI: `clattn attend --devices` against the single-device output: a
# decoding shape (keys split) and a prefill shape (rows split), causal, on the default device
# twice with uneven shares, and on every device (all) with measured shares; the split report
# on stderr; bad --devices/--shares refused. Run through with_intel_opencl.sh: with Intel's runtime
# registered, "all" is PoCL + Intel.
set -u
cli=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0

# Deterministic matrices as text (rows of numbers): rows x cols from a seed.
matrix() { # matrix ROWS COLS SEED FILE
    awk -v rows="$1" -v cols="$2" -v seed="$3" 'BEGIN {
        x = seed
        for (r = 0; r < rows; r++) {
            line = ""
            for (c = 0; c < cols; c++) {
                x = (x * 1103515245 + 12345) % 2147483648
                line = line sprintf("%s%.6f", c ? " " : "", x / 1073741824.0 - 1.0)
            }
            print line
        }
    }' >"$4"
}

# close A B: the CSV outputs agree to 1e-5 (the keys split merges partials in another order).
close() {
    awk -F, 'NR == FNR { for (c = 1; c <= NF; c++) want[FNR, c] = $c; rows = FNR; next }
        { for (c = 1; c <= NF; c++) { d = $c - want[FNR, c]; if (d < 0) d = -d
              if (d > 1e-5 + 1e-4 * (want[FNR, c] < 0 ? -want[FNR, c] : want[FNR, c])) bad++ } }
        END { if (FNR != rows || bad) { print "differ: " bad " values, " FNR " vs " rows " rows"; exit 1 } }' "$1" "$2"
}

check() { # check LABEL EXPECTED_SPLIT ARGS...: --devices ARGS against the single device
    label=$1 split=$2
    shift 2
    if ! "$cli" attend $shape >"$dir/one.csv" 2>"$dir/one.err"; then
        echo "FAILED: $label: single device: $(cat "$dir/one.err")"
        fail=1
        return
    fi
    if ! "$cli" attend $shape "$@" >"$dir/multi.csv" 2>"$dir/multi.err"; then
        echo "FAILED: $label: $(cat "$dir/multi.err")"
        fail=1
        return
    fi
    cat "$dir/multi.err"
    if ! grep -q "^attend: $split split across" "$dir/multi.err"; then
        echo "FAILED: $label: stderr does not report a $split split"
        fail=1
    fi
    if ! close "$dir/one.csv" "$dir/multi.csv"; then
        echo "FAILED: $label: --devices output differs from the single device's"
        fail=1
    else
        echo "ok: $label"
    fi
}

matrix 3 16 1 "$dir/q_dec.txt"
matrix 77 16 2 "$dir/k_dec.txt"
matrix 77 8 3 "$dir/v_dec.txt"
matrix 45 16 4 "$dir/q_pre.txt"
matrix 45 16 5 "$dir/k_pre.txt"
matrix 45 8 6 "$dir/v_pre.txt"

shape="--q $dir/q_dec.txt --k $dir/k_dec.txt --v $dir/v_dec.txt --causal bottom-right"
check "decode, one device twice, shares 1,3" keys --devices default,default --shares 1,3
check "decode, all devices" keys --devices all
shape="--q $dir/q_pre.txt --k $dir/k_pre.txt --v $dir/v_pre.txt --causal"
check "prefill, one device twice, shares 2,1" "query rows" --devices default,default --shares 2,1
check "prefill, all devices, measured shares" "query rows" --devices all

# Bad lists are refused with a message, not a crash.
for bad in "--devices default, " "--devices ,default" "--devices default --shares 1,2" \
    "--devices default,default --shares 1,x" "--devices default --shares -1" \
    "--devices default --shares 0" "--devices no-such-device-anywhere" "--shares 1" \
    "--devices default --device default"; do
    "$cli" attend $shape $bad >/dev/null 2>"$dir/err"
    rc=$?
    if [ $rc -ne 1 ] || ! grep -q "clattn" "$dir/err"; then
        echo "FAILED: '$bad' gave exit $rc: $(cat "$dir/err")"
        fail=1
    fi
done
exit $fail
