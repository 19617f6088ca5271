#!/bin/sh
# Builds and runs one libFuzzer target for a bounded time (CTest fuzz_* tests; .ci/run):
#
#   tests/fuzz/run.sh TARGET WORK_DIR [SECONDS]      TARGET: npy, text or cache_file
#
# The target is compiled with clang (CLATTN_FUZZ_CC, else clang-19, else clang) with libFuzzer,
# AddressSanitizer and UBSan, and run from a copy of the committed seed corpus with the target's
# dictionary, a memory limit and an allocation limit. Prints the number of executions. Exits
# 77 (CTest: skipped) with a message when no clang with libFuzzer is installed
# (tools/setup.sh installs clang-19 and libclang-rt-19-dev).
set -eu
target=$1
work=$2
seconds=${3:-60}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)

case "$target" in
npy) sources="$src/tools/npy.c $src/host/core/dtype.c" ;;
text) sources="$src/tools/matrix_io.c $src/tools/npy.c $src/host/core/dtype.c" ;;
cache_file) sources="$src/host/opencl/cache_file.c $src/host/opencl/tune_file.c $src/host/plan/tuned.c" ;;
*)
    echo "usage: $0 npy|text|cache_file WORK_DIR [SECONDS]" >&2
    exit 2
    ;;
esac

cc=${CLATTN_FUZZ_CC:-}
if [ -z "$cc" ]; then
    for c in clang-19 clang; do
        if command -v "$c" >/dev/null 2>&1; then
            cc=$c
            break
        fi
    done
fi
mkdir -p "$work"
probe="$work/probe.c"
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; return (int)(n & 0); }' >"$probe"
if [ -z "$cc" ] || ! "$cc" -fsanitize=fuzzer "$probe" -o "$work/probe" >/dev/null 2>&1; then
    echo "SKIPPED fuzz_$target: no clang with libFuzzer (install clang-19 and libclang-rt-19-dev: bash tools/setup.sh)"
    exit 77
fi

flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -std=c11"
flags="$flags -D_GNU_SOURCE -I$src/tools -I$src/host/opencl -I$src/host/plan -I$src/include"
flags="$flags -I$src/host/core -DCL_TARGET_OPENCL_VERSION=120"
binary="$work/fuzz_$target"
# shellcheck disable=SC2086 # flags and sources are word lists
"$cc" $flags "$here/fuzz_$target.c" $sources -o "$binary"

corpus="$work/corpus_$target"
rm -rf "$corpus"
mkdir -p "$corpus"
cp "$here/corpus/$target/"* "$corpus/"
if [ "$target" = cache_file ]; then # seeds in the current file format as well
    "$cc" -std=c11 -I"$src/host/opencl" "$here/make_seeds.c" "$src/host/opencl/cache_file.c" \
        -o "$work/make_seeds"
    "$work/make_seeds" "$corpus"
fi

log="$work/fuzz_$target.log"
status=0
(cd "$work" && "$binary" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -timeout=10 -print_final_stats=1 -dict="$here/$target.dict" "$corpus") >"$log" 2>&1 ||
    status=$?
executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
coverage=$(sed -n 's/^#[0-9]*.*DONE *cov: \([0-9]*\).*/\1/p' "$log")
echo "fuzz_$target: ${executions:-?} executions in $seconds s, coverage ${coverage:-?} edges," \
    "corpus $(ls "$corpus" | wc -l) inputs"
if [ "$status" -ne 0 ]; then
    echo "fuzz_$target FAILED (exit $status); the crashing input is in $work:" >&2
    tail -n 40 "$log" >&2
    exit 1
fi
