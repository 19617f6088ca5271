/* The fault injection of the ring tests: CLATTN_RING_TEST_FAULT=RANK:STEP:KIND makes rank RANK
 * at ring step STEP kill itself (KIND kill: SIGKILL), hang (stall: sleeps for an hour) or fail
 * its compute (fail: CLATTN_ERROR_INTERNAL). Linked into test_ring only: it replaces the
 * library's weak clattn__ring_step_hook, which does nothing. */
#define _POSIX_C_SOURCE 200809L
#include "clattn.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

clattn_status clattn__ring_step_hook(int rank, size_t step);

clattn_status clattn__ring_step_hook(int rank, size_t step) {
    const char *env = getenv("CLATTN_RING_TEST_FAULT");
    if (!env || !*env) return CLATTN_SUCCESS;
    int fault_rank = -1;
    unsigned long fault_step = 0;
    char kind[16] = "";
    if (sscanf(env, "%d:%lu:%15s", &fault_rank, &fault_step, kind) != 3 || fault_rank != rank ||
        fault_step != step)
        return CLATTN_SUCCESS;
    if (strcmp(kind, "kill") == 0) raise(SIGKILL);
    if (strcmp(kind, "stall") == 0) {
        const struct timespec hour = {3600, 0};
        nanosleep(&hour, NULL);
    }
    return CLATTN_ERROR_INTERNAL;
}
