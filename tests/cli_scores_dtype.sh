#!/usr/bin/env bash
# clattn scores --dtype and float16 .npy inputs (issue 11, item 3): a float16 file is read
# exactly; --dtype f16 rounds text inputs to the same values (same output, bit for bit, as
# the file); bf16 rounds differently; an unknown dtype is refused.
#   tests/cli_scores_dtype.sh CLATTN_BINARY
set -u
cli=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
run() { # run OUT ARGS...: clattn scores ARGS > OUT, failing the case on an error
    local out=$1
    shift
    "$cli" scores "$@" >"$dir/$out" 2>"$dir/err" || fail "scores $*: $(cat "$dir/err")"
}

# X = [[0.1, 2], [1, 0.5]]; in float16 0.1 is 0x2e66 = 0.0999755859375, the rest exact.
printf '0.1 2\n1 0.5\n' >"$dir/x.txt"
text="{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2), }"
{
    printf '\x93NUMPY\x01\x00\x76\x00%s' "$text"
    printf "%$((118 - ${#text} - 1))s\n" ""
    printf '\x66\x2e\x00\x40\x00\x3c\x00\x38'
} >"$dir/x16.npy"

for extra in "" "--norm softmax --context"; do
    # shellcheck disable=SC2086
    run f16file --inputs "$dir/x16.npy" --query 0 $extra
    # shellcheck disable=SC2086
    run f16 --inputs "$dir/x.txt" --query 0 --dtype f16 $extra
    # shellcheck disable=SC2086
    run f32 --inputs "$dir/x.txt" --query 0 --dtype f32 $extra
    # shellcheck disable=SC2086
    run bf16 --inputs "$dir/x.txt" --query 0 --dtype bf16 $extra
    cmp -s "$dir/f16file" "$dir/f16" || fail "[$extra] --dtype f16 differs from the float16 file"
    cmp -s "$dir/f16" "$dir/f32" && fail "[$extra] --dtype f16 gave the float32 result"
    cmp -s "$dir/bf16" "$dir/f16" && fail "[$extra] --dtype bf16 gave the float16 result"
done
# Scores of row 1: 1 * 0.1 + 0.5 * 2 with 0.1 as stored (float32 arithmetic, exact here).
run s16 --inputs "$dir/x.txt" --query 0 --dtype f16
[ "$(sed -n 2p "$dir/s16")" = "1.09997559" ] || fail "f16 score of row 1: $(sed -n 2p "$dir/s16")"
run s32 --inputs "$dir/x.txt" --query 0
[ "$(sed -n 2p "$dir/s32")" = "1.10000002" ] || fail "f32 score of row 1: $(sed -n 2p "$dir/s32")"

"$cli" scores --inputs "$dir/x.txt" --query 0 --dtype f8 >/dev/null 2>"$dir/err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "f32, f16 or bf16" "$dir/err" || fail "--dtype f8: exit $rc"

echo "cli_scores_dtype: $failures failures"
[ "$failures" -eq 0 ]
