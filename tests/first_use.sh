#!/bin/sh
# First-use time of a handle (tests/first_use.c) in fresh processes, for each combination of
# clattn's on-disk cache (CLATTN_CACHE_DIR) and PoCL's own kernel cache (POCL_CACHE_DIR),
# each cold (an empty directory) or warm (filled by a previous run). RUNS runs of each.
# usage: tests/first_use.sh path/to/first_use [runs]
set -eu
exe=${1:?usage: $0 path/to/first_use [runs]}
runs=${2:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "clattn-cache pocl-cache   create_ms prepare_ms first_call_ms total_ms"
for combo in "cold cold" "warm cold" "cold warm" "warm warm"; do
    set -- $combo
    i=0
    while [ $i -lt "$runs" ]; do
        i=$((i + 1))
        # Warm directories are filled once by an untimed run; cold ones are new every run.
        for which in clattn pocl; do
            if [ "$which" = clattn ]; then state=$1; else state=$2; fi
            dir="$tmp/$which-warm"
            if [ "$state" = cold ]; then dir="$tmp/$which-cold-$combo-$i" && dir=$(echo "$dir" | tr ' ' _); fi
            mkdir -p "$dir"
            eval "${which}_dir=\$dir"
        done
        if [ ! -e "$tmp/filled" ]; then
            CLATTN_CACHE_DIR="$tmp/clattn-warm" POCL_CACHE_DIR="$tmp/pocl-warm" "$exe" >/dev/null
            touch "$tmp/filled"
        fi
        printf "%-12s %-12s " "$1" "$2"
        CLATTN_CACHE_DIR="$clattn_dir" POCL_CACHE_DIR="$pocl_dir" "$exe"
    done
done
