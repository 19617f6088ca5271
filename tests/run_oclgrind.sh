#!/bin/sh
# Runs a test program under Oclgrind with data-race and API checks and a GPU's limits (256
# work-items, 32 KiB local memory, or OCLGRIND_MAX_WGSIZE and OCLGRIND_LOCAL_MEM); fails on any error Oclgrind reports, even when the
# program itself passes. --uninitialized is left out: it crashes Oclgrind 21.10 on vector
# code. Skips (exit 77, reported by CTest as skipped) when Oclgrind is not installed.
if ! command -v oclgrind >/dev/null 2>&1; then
    echo "SKIPPED: oclgrind is not installed (apt-get install oclgrind)"
    exit 77
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
oclgrind --data-races --check-api --max-wgsize "${OCLGRIND_MAX_WGSIZE:-256}" \
    --local-mem-size "${OCLGRIND_LOCAL_MEM:-32768}" --max-errors 20 --log "$log" "$@"
status=$?
if [ -s "$log" ]; then
    echo "Oclgrind reported errors:"
    cat "$log"
    exit 1
fi
exit $status
