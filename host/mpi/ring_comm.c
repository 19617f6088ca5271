/* Deadline waits on MPI requests, the ring's timeout and its test seam. */
#define _POSIX_C_SOURCE 200809L
#include "ring_comm.h"
#include "status.h"

#include <stdlib.h>
#include <time.h>

#define DEFAULT_TIMEOUT_S 60.0

double clattn__ring_timeout(const clattn_ring_desc *desc) {
    if (desc->timeout_s > 0) return desc->timeout_s;
    const char *env = getenv("CLATTN_RING_TIMEOUT_S");
    if (env && *env) {
        char *end = NULL;
        const double v = strtod(env, &end);
        if (end && *end == '\0' && v > 0) return v;
    }
    return DEFAULT_TIMEOUT_S;
}

clattn_status clattn__ring_wait(MPI_Request *requests, int count, double timeout_s,
                                const char *what) {
    const double deadline = MPI_Wtime() + timeout_s;
    /* Short sleeps between polls: the ranks of a node share its cores with the compute. */
    const struct timespec pause = {0, 100 * 1000};
    for (;;) {
        int done = 0;
        const int rc = MPI_Testall(count, requests, &done, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS) {
            char text[MPI_MAX_ERROR_STRING];
            int length = 0;
            if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) text[0] = '\0';
            return clattn__fail(CLATTN_ERROR_COMMUNICATION, "ring attention: %s: MPI error: %s",
                                what, text);
        }
        if (done) return CLATTN_SUCCESS;
        if (MPI_Wtime() > deadline)
            return clattn__fail(CLATTN_ERROR_COMMUNICATION,
                                "ring attention: %s: no answer from a peer rank within %.3g s "
                                "(a rank failed or hangs; CLATTN_RING_TIMEOUT_S sets the bound)",
                                what, timeout_s);
        nanosleep(&pause, NULL);
    }
}

__attribute__((weak)) clattn_status clattn__ring_step_hook(int rank, size_t step) {
    (void)rank;
    (void)step;
    return CLATTN_SUCCESS;
}
