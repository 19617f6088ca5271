/* The handle's scratch buffer: the user's (clattn_handle_set_scratch), else allocated on first
 * need, grown only when too small, reused. Users are serialised through events so that
 * out-of-order queues and several queues never touch it at the same time. */
#include "scratch.h"
#include "status.h"
#include "handle.h"

static clattn_status users_too_small(const clattn_handle *h, size_t bytes) {
    return clattn__fail(CLATTN_ERROR_BUFFER_TOO_SMALL,
                        "the scratch buffer given to the handle holds %zu bytes, the call needs "
                        "%zu (see clattn_op_scratch_size)",
                        h->scratch_bytes, bytes);
}

clattn_status clattn__scratch_check(clattn_handle *h, size_t bytes) {
    pthread_mutex_lock(&h->scratch_lock);
    const bool small = h->scratch_is_users && h->scratch_bytes < bytes;
    clattn_status status = small ? users_too_small(h, bytes) : CLATTN_SUCCESS;
    pthread_mutex_unlock(&h->scratch_lock);
    return status;
}

clattn_status clattn__scratch_acquire(clattn_handle *h, size_t bytes, cl_mem *buf,
                                      cl_event *wait_for) {
    if (bytes > h->max_alloc_size) /* say so now, not as a driver error at the first launch */
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE,
                            "the call needs %zu bytes of scratch memory, more than the device's "
                            "largest allocation (%llu bytes): use a smaller batch or fewer heads "
                            "per call",
                            bytes, (unsigned long long)h->max_alloc_size);
    clattn_status status = CLATTN_SUCCESS;
    pthread_mutex_lock(&h->scratch_lock);
    if (h->scratch_busy && pthread_equal(h->scratch_owner, pthread_self())) {
        pthread_mutex_unlock(&h->scratch_lock);
        return clattn__fail(CLATTN_ERROR_INTERNAL, "scratch acquired twice by one operation");
    }
    while (h->scratch_busy)
        pthread_cond_wait(&h->scratch_free, &h->scratch_lock);
    if (h->scratch_is_users && h->scratch_bytes < bytes) {
        status = users_too_small(h, bytes);
    } else if (!h->scratch || h->scratch_bytes < bytes) {
        /* Releasing is safe while kernels still use the old buffer: OpenCL frees it only
         * after the commands that use it have finished. */
        if (h->scratch) clReleaseMemObject(h->scratch);
        h->scratch = NULL;
        h->scratch_bytes = 0;
        cl_int err;
        cl_mem fresh = clCreateBuffer(h->context, CL_MEM_READ_WRITE, bytes ? bytes : 1, NULL, &err);
        if (err) {
            status = clattn__cl(err, "allocating scratch memory");
        } else {
            h->scratch = fresh;
            h->scratch_bytes = bytes;
        }
    }
    /* Retained: clattn_handle_set_scratch may replace h->scratch while we hold it. A failed
     * retain is an error, never released later. */
    cl_int err = CL_SUCCESS;
    if (!status && (err = clRetainMemObject(h->scratch)))
        status = clattn__cl(err, "clRetainMemObject (scratch)");
    if (!status && h->scratch_last_use && (err = clRetainEvent(h->scratch_last_use))) {
        clReleaseMemObject(h->scratch);
        status = clattn__cl(err, "clRetainEvent (scratch)");
    }
    if (!status) {
        h->scratch_held = h->scratch;
        h->scratch_busy = true;
        h->scratch_owner = pthread_self();
        *buf = h->scratch;
        *wait_for = h->scratch_last_use;
    }
    pthread_mutex_unlock(&h->scratch_lock);
    return status;
}

void clattn__scratch_release(clattn_handle *h, cl_event last_use) {
    pthread_mutex_lock(&h->scratch_lock);
    if (last_use && clRetainEvent(last_use) == CL_SUCCESS) {
        if (h->scratch_last_use) clReleaseEvent(h->scratch_last_use);
        h->scratch_last_use = last_use;
    } else if (last_use) {
        /* Not retained, so the next user could not wait for this one. Our own buffer is
         * dropped instead (OpenCL keeps it alive for the pending commands) and the next user
         * gets a fresh one; the user's buffer cannot be replaced, so wait for this use. This
         * use waited for the previous ones: nothing else is pending on the buffer. */
        if (h->scratch_is_users) {
            clWaitForEvents(1, &last_use);
        } else if (h->scratch) {
            clReleaseMemObject(h->scratch);
            h->scratch = NULL;
            h->scratch_bytes = 0;
        }
        if (h->scratch_last_use) clReleaseEvent(h->scratch_last_use);
        h->scratch_last_use = NULL;
    }
    if (h->scratch_held) clReleaseMemObject(h->scratch_held);
    h->scratch_held = NULL;
    h->scratch_busy = false;
    pthread_cond_signal(&h->scratch_free);
    pthread_mutex_unlock(&h->scratch_lock);
}

clattn_status clattn_handle_set_scratch(clattn_handle *h, cl_mem buffer, size_t bytes) {
    if (!h) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "handle is NULL");
    if (buffer) {
        size_t size = 0;
        cl_context context = NULL;
        cl_int err = clGetMemObjectInfo(buffer, CL_MEM_SIZE, sizeof size, &size, NULL);
        if (!err) err = clGetMemObjectInfo(buffer, CL_MEM_CONTEXT, sizeof context, &context, NULL);
        cl_mem parent = NULL;
        if (!err)
            err = clGetMemObjectInfo(buffer, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof parent, &parent,
                                     NULL);
        if (err) return clattn__cl(err, "scratch buffer");
        if (parent)
            return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                                "the scratch buffer must not be a sub-buffer");
        if (context != h->context)
            return clattn__fail(CLATTN_ERROR_INVALID_HANDLE,
                                "the scratch buffer belongs to another context than the handle");
        if (bytes == 0) bytes = size;
        if (bytes > size)
            return clattn__fail(CLATTN_ERROR_BUFFER_TOO_SMALL,
                                "scratch: %zu bytes asked of a buffer of %zu", bytes, size);
        if ((err = clRetainMemObject(buffer))) return clattn__cl(err, "clRetainMemObject");
    }
    pthread_mutex_lock(&h->scratch_lock);
    /* The previous buffer may still be in use by enqueued work: OpenCL keeps it alive until
     * that finishes. scratch_last_use stays, so the next user still waits for the last. */
    if (h->scratch) clReleaseMemObject(h->scratch);
    h->scratch = buffer;
    h->scratch_bytes = buffer ? bytes : 0;
    h->scratch_is_users = buffer != NULL;
    pthread_mutex_unlock(&h->scratch_lock);
    clattn__clear_error();
    return CLATTN_SUCCESS;
}
