/* The handle's scratch buffer (scratch.c). */
#ifndef CLATTN_OPENCL_SCRATCH_H
#define CLATTN_OPENCL_SCRATCH_H

#include "handle.h"

/* Gives a scratch buffer of at least bytes and an event the first user must wait for
 * (may be NULL; owned by the caller). The caller holds the scratch (a token, not a lock:
 * it may build kernels and enqueue freely) until clattn__scratch_release, which records the
 * operation's final event; another thread asking meanwhile waits for the release. One
 * operation holds at most one acquisition: a second acquire by the holding thread fails
 * with CLATTN_ERROR_INTERNAL instead of waiting for itself. */
clattn_status clattn__scratch_acquire(clattn_handle *h, size_t bytes, cl_mem *buf,
                                      cl_event *wait_for);
void clattn__scratch_release(clattn_handle *h, cl_event last_use);

/* Fails with CLATTN_ERROR_BUFFER_TOO_SMALL when the caller's scratch (set with
 * clattn_handle_set_scratch) holds fewer than bytes: for operations that acquire scratch
 * several times, so that they fail before enqueueing anything. */
clattn_status clattn__scratch_check(clattn_handle *h, size_t bytes);

#endif
