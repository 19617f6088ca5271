/* Waiting on MPI with a deadline, the ring's timeout, and its test-only fault hook
 * (ring_comm.c). */
#ifndef CLATTN_MPI_RING_COMM_H
#define CLATTN_MPI_RING_COMM_H

#include "clattn_mpi.h"

/* desc->timeout_s, else CLATTN_RING_TIMEOUT_S, else 60 seconds. */
double clattn__ring_timeout(const clattn_ring_desc *desc);

/* Completes every request within timeout_s seconds, polling with MPI_Testall (MPI_Waitall
 * would wait forever for a peer that hung). CLATTN_ERROR_COMMUNICATION with a message naming
 * `what` on timeout or an MPI error; pending requests are then left as they are. */
clattn_status clattn__ring_wait(MPI_Request *requests, int count, double timeout_s,
                                const char *what);

/* The test-only hook CLATTN_RING_TEST_FAULT=RANK:STEP:KIND makes rank RANK at ring step STEP
 * kill itself (KIND kill: SIGKILL), hang (stall: sleeps for an hour) or fail its compute
 * (fail: returns CLATTN_ERROR_INTERNAL). Returns the status the step gets. */
clattn_status clattn__ring_fault_hook(int rank, size_t step);

#endif
