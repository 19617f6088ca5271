#!/bin/sh
# clattn tune end to end (CTest cli_tune): --quick writes the device's tuned table into a fresh
# cache folder, a second process (tune --show) plans with the winner, the environment override
# still wins over it, and a damaged table is ignored.
#   tests/cli_tune.sh CLATTN
set -eu
clattn=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/clattn-tune-XXXXXX")
trap 'rm -rf "$dir"' EXIT
export CLATTN_CACHE_DIR="$dir"
unset CLATTN_ATTENTION_CPU_TILE CLATTN_ATTENTION_GPU_TILE

fail() {
    echo "FAIL: $*"
    exit 1
}

"$clattn" tune --quick --d 16 >"$dir/tune.out"
cat "$dir/tune.out"
winner=$(sed -n 's/^  winner *\([0-9]*\), *\([0-9]*\), *\([0-9]*\), *\([0-9]*\) .*/\1,\2,\3,\4/p' "$dir/tune.out")
[ -n "$winner" ] || fail "no winner printed"
grep -q '^wrote .*tune-.*\.txt (1 entries)$' "$dir/tune.out" || fail "no table written"
table=$(ls "$dir"/tune-*.txt)

"$clattn" tune --show --quick --d 16 >"$dir/show.out"
cat "$dir/show.out"
grep -q "^plan: attention_[cg]pu d=16 .*=$winner (tuned)$" "$dir/show.out" ||
    fail "the second process does not plan with the tuned $winner"

CLATTN_ATTENTION_CPU_TILE=3,1,1,1 CLATTN_ATTENTION_GPU_TILE=64,16,16,1 \
    "$clattn" tune --show --quick --d 16 >"$dir/env.out"
grep -q "^plan: attention_[cg]pu d=16 .*=\(3,1,1,1\|64,16,16,1\) (environment)$" "$dir/env.out" ||
    fail "the environment override does not win over the table"

sed 's/^end 1$/end 7/' "$table" >"$dir/bad" && mv "$dir/bad" "$table"
"$clattn" tune --show --quick --d 16 >"$dir/bad.out"
grep -q "^plan: attention_[cg]pu d=16 .* (default)$" "$dir/bad.out" ||
    fail "a damaged table was used"
grep -q '^entry:' "$dir/bad.out" && fail "a damaged table's entries were read"
echo "cli_tune: passed"
