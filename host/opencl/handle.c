/* Handle lifetime: own or borrowed context, device and queue, and the device's limits. */
#include "handle.h"
#include "tune_table.h"
#include "status.h"
#include "program.h"
#include "launch.h"
#include "device_profile.h"
#include "cl_std.h"

#include <stdlib.h>
#include <string.h>

void clattn_options_init(clattn_options *options) {
    if (options) memset(options, 0, sizeof *options);
}

static clattn_status read_device_limits(clattn_handle *h, const clattn_options *options) {
    size_t max_wg = 0;
    cl_int err =
        clGetDeviceInfo(h->device, CL_DEVICE_TYPE, sizeof h->device_type, &h->device_type, NULL);
    if (!err)
        err =
            clGetDeviceInfo(h->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_wg, &max_wg, NULL);
    if (!err)
        err = clGetDeviceInfo(h->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof h->local_mem_size,
                              &h->local_mem_size, NULL);
    if (!err)
        err = clGetDeviceInfo(h->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof h->max_alloc_size,
                              &h->max_alloc_size, NULL);
    if (!err)
        err = clGetDeviceInfo(h->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof h->compute_units,
                              &h->compute_units, NULL);
    if (!err)
        err = clGetDeviceInfo(h->device, CL_DEVICE_MEM_BASE_ADDR_ALIGN,
                              sizeof h->mem_base_addr_align, &h->mem_base_addr_align, NULL);
    if (!err)
        err =
            clGetDeviceInfo(h->device, CL_DEVICE_NAME, sizeof h->device_name, h->device_name, NULL);
    if (err) return clattn__cl(err, "clGetDeviceInfo");
    h->device_name[sizeof h->device_name - 1] = '\0';
    h->mem_base_addr_align /= 8; /* bits -> bytes */

    if (options && options->max_work_group_size && options->max_work_group_size < max_wg)
        max_wg = options->max_work_group_size;
    h->max_work_group_size = max_wg ? max_wg : 1;

    clattn_variant variant = options ? options->variant : CLATTN_VARIANT_AUTO;
    if (variant != CLATTN_VARIANT_AUTO && variant != CLATTN_VARIANT_CPU &&
        variant != CLATTN_VARIANT_GPU)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "unknown kernel variant %d", (int)variant);
    if (variant == CLATTN_VARIANT_AUTO)
        variant = (h->device_type & CL_DEVICE_TYPE_CPU) ? CLATTN_VARIANT_CPU : CLATTN_VARIANT_GPU;
    h->variant = variant;

    clattn_status status = clattn__profile_from_device(h->device, &h->profile);
    if (status) return status;
    if ((status = clattn__choose_cl_std(h->device, &h->profile))) return status;
    h->profile.variant = variant;
    h->profile.max_work_group_size = h->max_work_group_size;
    if (h->profile.max_unannotated_work_group_size > h->max_work_group_size)
        h->profile.max_unannotated_work_group_size = h->max_work_group_size;
    /* Last: the tuned entries are checked against the limits above. */
    clattn__tune_table_load(h);
    return CLATTN_SUCCESS;
}

/* Allocates a handle and fills what does not depend on owning the objects. */
static clattn_status new_handle(const clattn_options *options, clattn_handle **out) {
    clattn_handle *h = calloc(1, sizeof *h);
    if (!h) return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    if (pthread_mutex_init(&h->lock, NULL) != 0) {
        free(h);
        return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "cannot create a mutex");
    }
    if (pthread_mutex_init(&h->scratch_lock, NULL) != 0) {
        pthread_mutex_destroy(&h->lock);
        free(h);
        return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "cannot create a mutex");
    }
    if (pthread_cond_init(&h->scratch_free, NULL) != 0) {
        pthread_mutex_destroy(&h->scratch_lock);
        pthread_mutex_destroy(&h->lock);
        free(h);
        return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "cannot create a condition variable");
    }
    if (options && options->build_options) {
        h->extra_build_options = strdup(options->build_options);
        if (!h->extra_build_options) {
            clattn_handle_destroy(h);
            return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
        }
    }
    *out = h;
    return CLATTN_SUCCESS;
}

clattn_status clattn_handle_create(const clattn_options *options, clattn_handle **handle) {
    if (!handle) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "handle pointer is NULL");
    *handle = NULL;
    clattn_device_info info;
    clattn_status status = clattn_select_device(options ? options->device : NULL, &info);
    if (status) return status;

    clattn_handle *h = NULL;
    if ((status = new_handle(options, &h))) return status;
    cl_int err;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)info.platform, 0};
    h->context = clCreateContext(props, 1, &info.device, NULL, NULL, &err);
    if (err) {
        clattn_handle_destroy(h);
        return clattn__cl(err, "clCreateContext");
    }
    /* Every retain is checked: a failed one must not be released again at destroy. */
    if ((err = clRetainDevice(info.device))) {
        clattn_handle_destroy(h);
        return clattn__cl(err, "clRetainDevice");
    }
    h->device = info.device;
    cl_command_queue_properties qprops =
        (options && options->enable_profiling) ? CL_QUEUE_PROFILING_ENABLE : 0;
    /* clCreateCommandQueue is deprecated from 2.0 but is the OpenCL 1.2 call. */
    h->queue = clCreateCommandQueue(h->context, h->device, qprops, &err);
    if (err) {
        clattn_handle_destroy(h);
        return clattn__cl(err, "clCreateCommandQueue");
    }
    if ((status = read_device_limits(h, options))) {
        clattn_handle_destroy(h);
        return status;
    }
    *handle = h;
    clattn__clear_error();
    return CLATTN_SUCCESS;
}

clattn_status clattn_handle_create_from(cl_context context, cl_device_id device,
                                        cl_command_queue queue, const clattn_options *options,
                                        clattn_handle **handle) {
    if (!handle) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "handle pointer is NULL");
    *handle = NULL;
    if (!context || !device)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "context and device must not be NULL");

    /* The device must be one of the context's. */
    cl_uint num = 0;
    cl_int err = clGetContextInfo(context, CL_CONTEXT_NUM_DEVICES, sizeof num, &num, NULL);
    if (err) return clattn__cl(err, "clGetContextInfo");
    cl_device_id *ids = calloc(num ? num : 1, sizeof *ids);
    if (!ids) return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    err = clGetContextInfo(context, CL_CONTEXT_DEVICES, num * sizeof *ids, ids, NULL);
    bool found = false;
    for (cl_uint i = 0; !err && i < num; i++)
        found = found || ids[i] == device;
    /* PoCL lists a context made of sub-devices by their root device: accept a sub-device
     * whose ancestor is listed. */
    for (cl_device_id d = device; !err && !found && d;) {
        cl_device_id parent = NULL;
        if (clGetDeviceInfo(d, CL_DEVICE_PARENT_DEVICE, sizeof parent, &parent, NULL)) break;
        for (cl_uint i = 0; parent && i < num; i++)
            found = found || ids[i] == parent;
        d = parent;
    }
    free(ids);
    if (err) return clattn__cl(err, "clGetContextInfo");
    if (!found)
        return clattn__fail(CLATTN_ERROR_INVALID_HANDLE, "the device is not in the context");

    clattn_handle *h = NULL;
    clattn_status status = new_handle(options, &h);
    if (status) return status;
    /* Each object is stored only once retained, so that destroy releases what was retained. */
    if ((err = clRetainContext(context))) {
        clattn_handle_destroy(h);
        return clattn__cl(err, "clRetainContext");
    }
    h->context = context;
    if ((err = clRetainDevice(device))) {
        clattn_handle_destroy(h);
        return clattn__cl(err, "clRetainDevice");
    }
    h->device = device;
    if (queue) {
        cl_command_queue checked = NULL;
        if ((status = clattn__pick_queue(h, queue, &checked))) {
            clattn_handle_destroy(h);
            return status;
        }
        if ((err = clRetainCommandQueue(checked))) {
            clattn_handle_destroy(h);
            return clattn__cl(err, "clRetainCommandQueue");
        }
        h->queue = checked;
    }
    if ((status = read_device_limits(h, options))) {
        clattn_handle_destroy(h);
        return status;
    }
    *handle = h;
    clattn__clear_error();
    return CLATTN_SUCCESS;
}

void clattn_handle_destroy(clattn_handle *h) {
    if (!h) return;
    clattn__release_programs(h);
    if (h->scratch_last_use) clReleaseEvent(h->scratch_last_use);
    if (h->scratch) clReleaseMemObject(h->scratch);
    if (h->queue) clReleaseCommandQueue(h->queue);
    if (h->device) clReleaseDevice(h->device);
    if (h->context) clReleaseContext(h->context);
    free(h->extra_build_options);
    free(h->build_log);
    pthread_cond_destroy(&h->scratch_free);
    pthread_mutex_destroy(&h->scratch_lock);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

cl_context clattn_handle_context(const clattn_handle *h) {
    return h ? h->context : NULL;
}

cl_device_id clattn_handle_device(const clattn_handle *h) {
    return h ? h->device : NULL;
}

cl_command_queue clattn_handle_queue(const clattn_handle *h) {
    return h ? h->queue : NULL;
}

const char *clattn_handle_device_name(const clattn_handle *h) {
    return h ? h->device_name : "";
}

clattn_variant clattn_handle_variant(const clattn_handle *h) {
    return h ? h->variant : CLATTN_VARIANT_AUTO;
}
