/* Argument checks, work-group sizes, kernel arguments and event chains (launch.c): what
 * every operation's enqueue form uses. */
#ifndef CLATTN_OPENCL_LAUNCH_H
#define CLATTN_OPENCL_LAUNCH_H

#include "handle.h"

/* The queue to use: the caller's, else the handle's; checks it belongs to the context. */
clattn_status clattn__pick_queue(clattn_handle *h, cl_command_queue queue, cl_command_queue *out);

/* The prologue of every enqueue form: a handle, a wait list whose count and pointer agree,
 * and the queue to use (*queue: the caller's, replaced by the handle's when NULL). */
clattn_status clattn__enqueue_begin(clattn_handle *h, cl_command_queue *queue, cl_uint num_wait,
                                    const cl_event *wait);

/* Checks that buf is of the handle's context and holds at least offset + count elements of
 * elem_size bytes (4 for floats, 1 for a boolean mask). name is used in the message. */
clattn_status clattn__check_elements(clattn_handle *h, cl_mem buf, size_t offset, size_t count,
                                     size_t elem_size, const char *name);

/* clattn__check_elements for floats, the common case. */
static inline clattn_status clattn__check_buffer(clattn_handle *h, cl_mem buf, size_t offset,
                                                 size_t count, const char *name) {
    return clattn__check_elements(h, buf, offset, count, sizeof(float), name);
}

/* Largest power of two <= limit, the kernel's and the handle's limits, and want. */
clattn_status clattn__work_group_size(clattn_handle *h, cl_kernel kernel, size_t want, size_t *out);

/* Sets kernel arguments from a list of (size, pointer) pairs. */
typedef struct clattn_arg {
    size_t size;
    const void *value; /* NULL with size > 0 means local memory of that size */
} clattn_arg;
clattn_status clattn__set_args(cl_kernel kernel, const clattn_arg *args, cl_uint count);

/* A chain of kernels forming one operation: the first waits for the caller's wait list,
 * each later one for the previous kernel, and the last one's event is the operation's. */
typedef struct clattn_chain {
    cl_command_queue queue;
    cl_uint num_wait;
    const cl_event *wait;
    cl_event last;       /* owned: the event of the last kernel enqueued, or NULL */
    cl_event extra_wait; /* an additional dependency of the first kernel (scratch), or NULL */
} clattn_chain;

void clattn__chain_begin(clattn_chain *chain, cl_command_queue queue, cl_uint num_wait,
                         const cl_event *wait);
clattn_status clattn__chain_launch(clattn_chain *chain, cl_kernel kernel, cl_uint dims,
                                   const size_t *global, const size_t *local);
/* Hands the final event to *done (or releases it) and cleans up. On failure (status != 0)
 * nothing is handed out. Returns status. */
clattn_status clattn__chain_end(clattn_chain *chain, clattn_status status, cl_event *done);

/* Validates an event wait list: count and pointer must agree. */
clattn_status clattn__check_wait_list(cl_uint num, const cl_event *list);

#endif
