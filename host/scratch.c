/* The handle's scratch buffer: allocated on first need, grown only when too small, reused.
 * Users are serialised through events so that out-of-order queues and several queues never
 * touch it at the same time. */
#include "internal.h"

clattn_status clattn__scratch_acquire(clattn_handle *h, size_t bytes, cl_mem *buf,
                                      cl_event *wait_for) {
    pthread_mutex_lock(&h->lock);
    if (!h->scratch || h->scratch_bytes < bytes) {
        /* Releasing is safe while kernels still use the old buffer: OpenCL frees it only
         * after the commands that use it have finished. */
        if (h->scratch) clReleaseMemObject(h->scratch);
        h->scratch = NULL;
        h->scratch_bytes = 0;
        cl_int err;
        cl_mem fresh = clCreateBuffer(h->context, CL_MEM_READ_WRITE, bytes ? bytes : 1, NULL, &err);
        if (err) {
            pthread_mutex_unlock(&h->lock);
            return clattn__cl(err, "allocating scratch memory");
        }
        h->scratch = fresh;
        h->scratch_bytes = bytes;
    }
    *buf = h->scratch;
    *wait_for = h->scratch_last_use;
    if (*wait_for) clRetainEvent(*wait_for);
    return CLATTN_SUCCESS; /* still locked: released by clattn__scratch_release */
}

void clattn__scratch_release(clattn_handle *h, cl_event last_use) {
    if (last_use) {
        clRetainEvent(last_use);
        if (h->scratch_last_use) clReleaseEvent(h->scratch_last_use);
        h->scratch_last_use = last_use;
    }
    pthread_mutex_unlock(&h->lock);
}
