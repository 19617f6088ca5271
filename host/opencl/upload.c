/* The device buffers of blocking calls: inputs zero-copy on CPU devices. */
#include "upload.h"
#include "status.h"
#include "size.h"
#include "handle.h"

clattn_status clattn__upload(clattn_handle *h, clattn_buffers *b, const void *data, size_t count,
                             size_t elem, bool input, cl_mem *out) {
    size_t bytes;
    if (!clattn__mul_size(count, elem, &bytes))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "buffer size overflows size_t");
    if (bytes > h->max_alloc_size)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE,
                            "a buffer of %zu bytes exceeds the device's largest allocation "
                            "(%llu bytes)",
                            bytes, (unsigned long long)h->max_alloc_size);
    cl_mem_flags flags = CL_MEM_READ_WRITE | (data ? CL_MEM_COPY_HOST_PTR : 0);
    if (input)
        flags = (h->device_type & CL_DEVICE_TYPE_CPU) ? CL_MEM_READ_ONLY | CL_MEM_USE_HOST_PTR
                                                      : CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
    if (b->count == (int)(sizeof b->mem / sizeof b->mem[0]))
        return clattn__fail(CLATTN_ERROR_INTERNAL, "too many buffers in one blocking call");
    cl_int err;
    *out = clCreateBuffer(h->context, flags, bytes ? bytes : 1, (void *)data, &err);
    if (err) return clattn__cl(err, "clCreateBuffer");
    b->mem[b->count++] = *out;
    return CLATTN_SUCCESS;
}

void clattn__release_buffers(clattn_buffers *b) {
    for (int i = 0; i < b->count; i++)
        clReleaseMemObject(b->mem[i]);
    b->count = 0;
}

clattn_status clattn__end_blocking_call(clattn_handle *h, clattn_status status, cl_event *events,
                                        int event_count, clattn_buffers *b) {
    if (status) clFinish(h->queue);
    for (int i = 0; i < event_count; i++)
        if (events[i]) clReleaseEvent(events[i]);
    clattn__release_buffers(b);
    if (!status) clattn__clear_error();
    return status;
}
