/* Waiting on MPI with a deadline, the ring's timeout, and its test seam
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

/* A seam for tests, called before each ring step's compute: a non-zero status fails that step
 * (every rank then ends with an error, as when a compute fails). The library's definition is
 * weak and does nothing; tests/mpi/ring_fault.c links a strong one into test_ring that kills,
 * hangs or fails a chosen rank at a chosen step, so no fault switch ships in the library. */
clattn_status clattn__ring_step_hook(int rank, size_t step);

#endif
