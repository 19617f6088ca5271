#!/bin/sh
# Runs a test program under Oclgrind with data-race and API checks (--uninitialized crashes
# Oclgrind 21.10 on vector code, so it is left out); fails on
# any error Oclgrind reports, even when the program itself passes. Skips (exit 77, which
# CTest reports as skipped) when Oclgrind is not installed.
if ! command -v oclgrind >/dev/null 2>&1; then
    echo "SKIPPED: oclgrind is not installed (apt-get install oclgrind)"
    exit 77
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
oclgrind --data-races --check-api --max-errors 20 --log "$log" "$@"
status=$?
if [ -s "$log" ]; then
    echo "Oclgrind reported errors:"
    cat "$log"
    exit 1
fi
exit $status
