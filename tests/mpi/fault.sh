#!/bin/sh
# A rank that dies or hangs mid-ring must end the whole job with an error within a bound:
#   fault.sh MPIRUN TEST_RING
# 1. kill: rank 1 SIGKILLs itself at step 1. Open MPI's mpirun (4.1, tested here) then kills
#    the other ranks and exits non-zero at once; the ring's own timeout is the fallback.
# 2. stall: rank 1 hangs at step 1. The other ranks give up after CLATTN_RING_TIMEOUT_S (3 s
#    here) with CLATTN_ERROR_COMMUNICATION, test_ring calls MPI_Abort, and mpirun ends the job.
# 3. fail: rank 1's compute fails; every rank returns an error with no timeout, exit 1.
# test_ring run first runs one ring without the fault (compiling the kernels), then the faulty
# one. Each job must end non-zero within BOUND seconds in all (start, compile, tear-down:
# generous on 2 shared cores); in the stall case the surviving ranks must report the timeout
# within STALL_BOUND seconds of the faulty ring's start (3 s timeout + polling and slack).
set -u
mpirun=$1
program=$2
bound=120
stall_bound=8
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
for kind in kill stall fail; do
    start=$(date +%s)
    CLATTN_RING_TIMEOUT_S=3 CLATTN_RING_TEST_FAULT="1:1:$kind" \
        "$mpirun" --oversubscribe -np 3 "$program" run >"$out" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    echo "fault $kind: mpirun exited $rc after ${took} s"
    sed 's/^/    /' "$out" | head -20
    if [ "$rc" -eq 0 ]; then
        echo "FAIL: fault $kind: the job succeeded" >&2
        status=1
    fi
    if [ "$took" -gt "$bound" ]; then
        echo "FAIL: fault $kind: took ${took} s (bound ${bound} s)" >&2
        status=1
    fi
    case $kind in
    stall)
        grep -q "no answer from a peer rank within 3 s" "$out" || {
            echo "FAIL: fault stall: no rank reported the timeout" >&2
            status=1
        }
        # "rank R: ring attention failed after S s": every reported S within the bound.
        late=$(sed -n 's/.*failed after \([0-9.]*\) s.*/\1/p' "$out" |
            awk -v b="$stall_bound" '$1 > b { n++ } END { print n + 0 }')
        [ "$late" -eq 0 ] || {
            echo "FAIL: fault stall: $late rank(s) took longer than ${stall_bound} s" >&2
            status=1
        }
        ;;
    fail)
        grep -q "rank 1 failed (CLATTN_ERROR_INTERNAL)" "$out" || {
            echo "FAIL: fault fail: the other ranks did not name rank 1's failure" >&2
            status=1
        }
        ;;
    esac
done
exit $status
