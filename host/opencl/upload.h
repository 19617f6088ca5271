/* The device buffers of one blocking (host-pointer) call (upload.c). */
#ifndef CLATTN_OPENCL_UPLOAD_H
#define CLATTN_OPENCL_UPLOAD_H

#include "handle.h"

/* The device buffers of one blocking call, released together. */
typedef struct clattn_buffers {
    cl_mem mem[12]; /* the most any call makes: MHA's x, 4 weights, 4 biases, sinks, mask, out */
    int count;
} clattn_buffers;

/* Makes a device buffer of count elements of elem bytes and records it in b. An input (the
 * kernels only read it) is read-only and, on CPU devices, the host memory itself
 * (CL_MEM_USE_HOST_PTR: no copy of what may be gigabytes); otherwise the buffer is
 * read-write, a copy of data, or uninitialised when data is NULL. */
clattn_status clattn__upload(clattn_handle *h, clattn_buffers *b, const void *data, size_t count,
                             size_t elem, bool input, cl_mem *out);
void clattn__release_buffers(clattn_buffers *b);

/* Ends a blocking call: after a failure, waits for the queue (enqueued kernels may still read
 * the caller's arrays, zero-copy on CPU devices, and the buffers about to go); releases the
 * non-NULL events of the call's chain and its buffers; clears the thread's error message on
 * success. Returns status. */
clattn_status clattn__end_blocking_call(clattn_handle *h, clattn_status status, cl_event *events,
                                        int event_count, clattn_buffers *b);

#endif
