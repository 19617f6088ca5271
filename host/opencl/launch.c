/* Shared launch helpers: argument checks, work-group sizes and event chains. */
#include "launch.h"
#include "status.h"
#include "size.h"
#include "handle.h"

#include <stdlib.h>

clattn_status clattn__pick_queue(clattn_handle *h, cl_command_queue queue, cl_command_queue *out) {
    if (!queue) queue = h->queue;
    if (!queue)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER,
                            "no queue given and the handle was created without one");
    cl_context context = NULL;
    cl_device_id device = NULL;
    cl_int err = clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof context, &context, NULL);
    if (!err) err = clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof device, &device, NULL);
    if (err) return clattn__cl(err, "clGetCommandQueueInfo");
    if (context != h->context || device != h->device)
        return clattn__fail(CLATTN_ERROR_INVALID_HANDLE,
                            "the queue belongs to another context or device than the handle");
    *out = queue;
    return CLATTN_SUCCESS;
}

clattn_status clattn__enqueue_begin(clattn_handle *h, cl_command_queue *queue, cl_uint num_wait,
                                    const cl_event *wait) {
    if (!h) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "handle is NULL");
    clattn_status status = clattn__check_wait_list(num_wait, wait);
    return status ? status : clattn__pick_queue(h, *queue, queue);
}

clattn_status clattn__check_elements(clattn_handle *h, cl_mem buf, size_t offset, size_t count,
                                     size_t elem_size, const char *name) {
    if (!buf) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "buffer %s is NULL", name);
    size_t bytes = 0, end = 0;
    cl_context context = NULL;
    cl_int err = clGetMemObjectInfo(buf, CL_MEM_SIZE, sizeof bytes, &bytes, NULL);
    if (!err) err = clGetMemObjectInfo(buf, CL_MEM_CONTEXT, sizeof context, &context, NULL);
    if (err) return clattn__cl(err, name);
    if (context != h->context)
        return clattn__fail(CLATTN_ERROR_INVALID_HANDLE,
                            "buffer %s belongs to another context than the handle", name);
    if (offset > SIZE_MAX - count || !clattn__mul_size(offset + count, elem_size, &end))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "buffer %s: offset + size overflows", name);
    if (end > bytes)
        return clattn__fail(CLATTN_ERROR_BUFFER_TOO_SMALL,
                            "buffer %s holds %zu bytes, the call needs %zu (offset %zu + %zu "
                            "elements of %zu bytes)",
                            name, bytes, end, offset, count, elem_size);
    /* Offsets are passed to kernels as 32- or 64-bit element indices: both fit in size_t. */
    return CLATTN_SUCCESS;
}

clattn_status clattn__work_group_size(clattn_handle *h, cl_kernel kernel, size_t want,
                                      size_t *out) {
    *out = 1; /* callers size their launches with it even on failure: never 0 */
    size_t kernel_max = 0;
    cl_int err = clGetKernelWorkGroupInfo(kernel, h->device, CL_KERNEL_WORK_GROUP_SIZE,
                                          sizeof kernel_max, &kernel_max, NULL);
    if (err) return clattn__cl(err, "clGetKernelWorkGroupInfo");
    size_t limit = want;
    if (h->max_work_group_size < limit) limit = h->max_work_group_size;
    if (kernel_max && kernel_max < limit) limit = kernel_max;
    size_t size = 1;
    while (size * 2 <= limit)
        size *= 2;
    *out = size;
    return CLATTN_SUCCESS;
}

clattn_status clattn__set_args(cl_kernel kernel, const clattn_arg *args, cl_uint count) {
    for (cl_uint i = 0; i < count; i++) {
        cl_int err = clSetKernelArg(kernel, i, args[i].size, args[i].value);
        if (err) return clattn__fail(err, "clSetKernelArg(%u): %s", i, clattn_status_string(err));
    }
    return CLATTN_SUCCESS;
}

clattn_status clattn__check_wait_list(cl_uint num, const cl_event *list) {
    if ((num > 0) != (list != NULL))
        return clattn__fail(CLATTN_ERROR_NULL_POINTER,
                            "num_events_in_wait_list and event_wait_list disagree");
    for (cl_uint i = 0; i < num; i++)
        if (!list[i])
            return clattn__fail(CLATTN_ERROR_NULL_POINTER, "wait list event %u is NULL", i);
    return CLATTN_SUCCESS;
}

void clattn__chain_begin(clattn_chain *chain, cl_command_queue queue, cl_uint num_wait,
                         const cl_event *wait) {
    chain->queue = queue;
    chain->num_wait = num_wait;
    chain->wait = wait;
    chain->last = NULL;
    chain->extra_wait = NULL;
}

clattn_status clattn__chain_launch(clattn_chain *chain, cl_kernel kernel, cl_uint dims,
                                   const size_t *global, const size_t *local) {
    cl_event event = NULL;
    cl_int err;
    if (chain->last) {
        err = clEnqueueNDRangeKernel(chain->queue, kernel, dims, NULL, global, local, 1,
                                     &chain->last, &event);
    } else if (chain->extra_wait) {
        /* The caller's wait list plus the scratch dependency. */
        cl_event stack[16];
        cl_uint count = chain->num_wait + 1;
        cl_event *list = count <= 16 ? stack : malloc(count * sizeof *list);
        if (!list) return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
        for (cl_uint i = 0; i < chain->num_wait; i++)
            list[i] = chain->wait[i];
        list[chain->num_wait] = chain->extra_wait;
        err = clEnqueueNDRangeKernel(chain->queue, kernel, dims, NULL, global, local, count, list,
                                     &event);
        if (list != stack) free(list);
    } else {
        err = clEnqueueNDRangeKernel(chain->queue, kernel, dims, NULL, global, local,
                                     chain->num_wait, chain->num_wait ? chain->wait : NULL, &event);
    }
    if (err) return clattn__cl(err, "clEnqueueNDRangeKernel");
    if (chain->last) clReleaseEvent(chain->last);
    chain->last = event;
    return CLATTN_SUCCESS;
}

clattn_status clattn__chain_end(clattn_chain *chain, clattn_status status, cl_event *done) {
    if (status == CLATTN_SUCCESS && done) {
        *done = chain->last;
    } else if (chain->last) {
        clReleaseEvent(chain->last);
    }
    chain->last = NULL;
    if (status == CLATTN_SUCCESS) clattn__clear_error();
    return status;
}
