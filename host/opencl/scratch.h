/* The handle's scratch buffer (scratch.c). */
#ifndef CLATTN_OPENCL_SCRATCH_H
#define CLATTN_OPENCL_SCRATCH_H

#include "handle.h"


/* Gives a scratch buffer of at least bytes and an event the first user must wait for
 * (may be NULL; owned by the caller). The handle stays locked until
 * clattn__scratch_release, which records the operation's final event. */
clattn_status clattn__scratch_acquire(clattn_handle *h, size_t bytes, cl_mem *buf,
                                      cl_event *wait_for);
void clattn__scratch_release(clattn_handle *h, cl_event last_use);

#endif
