/* clattn_probe_device: measured global-memory read bandwidth and peak float FMA throughput of
 * the handle's device, cached per device for the process. */
#include "status.h"
#include "size.h"
#include "handle.h"
#include "program.h"
#include "launch.h"
#include "contract.h"

#define MAX_CACHED  32
#define READ_BYTES  (256u << 20) /* streamed per read launch: well beyond any cache */
#define CPU_RUN     1024         /* float16 vectors per work-item on CPU devices: 64 KiB */
#define MIN_SECONDS 0.3          /* per measurement: the best of many runs, for quiet moments */

typedef struct probe_result {
    cl_device_id device;
    double gbps, gflops;
} probe_result;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static probe_result cache[MAX_CACHED];
static size_t cached;

/* Runs the kernel once and returns its device time from the profiling event. */
static clattn_status run_timed(cl_command_queue queue, cl_kernel kernel, size_t global,
                               size_t local, double *seconds) {
    cl_event event = NULL;
    cl_int err = clEnqueueNDRangeKernel(queue, kernel, 1, NULL, &global, &local, 0, NULL, &event);
    if (err) return clattn__cl(err, "clEnqueueNDRangeKernel (probe)");
    cl_ulong start = 0, end = 0;
    err = clWaitForEvents(1, &event);
    if (!err)
        err =
            clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_START, sizeof start, &start, NULL);
    if (!err)
        err = clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL);
    clReleaseEvent(event);
    if (err) return clattn__cl(err, "clGetEventProfilingInfo (probe)");
    *seconds = (double)(end - start) * 1e-9;
    return CLATTN_SUCCESS;
}

/* The best of at least 3 runs (after a warm-up), repeated until MIN_SECONDS have passed. */
static clattn_status best_time(cl_command_queue queue, cl_kernel kernel, size_t global,
                               size_t local, double *best) {
    double t = 0, total = 0;
    clattn_status status = run_timed(queue, kernel, global, local, &t); /* warm-up */
    *best = 1e30;
    for (int run = 0; !status && run < 100 && (run < 3 || total < MIN_SECONDS); run++) {
        status = run_timed(queue, kernel, global, local, &t);
        total += t;
        if (t > 0 && t < *best) *best = t;
    }
    return status;
}

static clattn_status probe_bandwidth(clattn_handle *h, cl_command_queue queue, double *gbps) {
    cl_ulong bytes = READ_BYTES;
    if (bytes > h->max_alloc_size / 2) bytes = h->max_alloc_size / 2;
    bytes -= bytes % 64;
    const cl_ulong n16 = bytes / 64;
    const bool cpu =
        (h->device_type & CL_DEVICE_TYPE_CPU) != 0; /* by device: results are cached per device */
    cl_kernel kernel = NULL;
    clattn_status status = clattn__get_kernel(h, "probe.cl", NULL, "probe_read", &kernel);
    if (status) return status;
    size_t local = 0;
    status = clattn__work_group_size(h, kernel, cpu ? 16 : 256, &local);
    /* CPU: runs of 64 KiB per work-item, so there are many work-groups and a core that other
     * processes slow down takes fewer of them (with one group per core the slowest core
     * sets the time). GPU: enough work-items to fill the device. */
    const size_t items = cpu ? clattn__round_up((size_t)((n16 + CPU_RUN - 1) / CPU_RUN), local)
                             : clattn__round_up((size_t)h->compute_units * 2048, local);
    cl_uint per_item = (cl_uint)((n16 + items - 1) / items);
    cl_int strided = !cpu;
    cl_int err = CL_SUCCESS;
    cl_mem a = NULL, out = NULL;
    if (!status) {
        a = clCreateBuffer(h->context, CL_MEM_READ_ONLY, bytes, NULL, &err);
        if (!err)
            out = clCreateBuffer(h->context, CL_MEM_WRITE_ONLY, items * sizeof(float), NULL, &err);
        /* Fill it: untouched pages may read as a shared zero page on CPU devices. */
        const float one = 1.0f;
        if (!err) err = clEnqueueFillBuffer(queue, a, &one, sizeof one, 0, bytes, 0, NULL, NULL);
        if (!err) err = clFinish(queue);
        status = clattn__cl(err, "probe buffers");
    }
    clattn_arg args[] = {
        [PROBE_READ_ARG_A] = {sizeof a, &a},
        [PROBE_READ_ARG_N16] = {sizeof n16, &n16},
        [PROBE_READ_ARG_PER_ITEM] = {sizeof per_item, &per_item},
        [PROBE_READ_ARG_STRIDED] = {sizeof strided, &strided},
        [PROBE_READ_ARG_OUT] = {sizeof out, &out},
    };
    CLATTN_ARGS_MATCH(args, PROBE_READ_ARG_COUNT);
    double best = 0;
    if (!status) status = clattn__set_args(kernel, args, PROBE_READ_ARG_COUNT);
    if (!status) status = best_time(queue, kernel, items, local, &best);
    if (!status) *gbps = (double)bytes / best * 1e-9;
    if (a) clReleaseMemObject(a);
    if (out) clReleaseMemObject(out);
    clReleaseKernel(kernel);
    return status;
}

static clattn_status probe_fma(clattn_handle *h, cl_command_queue queue, double *gflops) {
    const bool cpu =
        (h->device_type & CL_DEVICE_TYPE_CPU) != 0; /* by device: results are cached per device */
    cl_kernel kernel = NULL;
    clattn_status status = clattn__get_kernel(h, "probe.cl", NULL, "probe_fma", &kernel);
    if (status) return status;
    size_t local = 0;
    status = clattn__work_group_size(h, kernel, cpu ? 16 : 256, &local);
    const size_t items = clattn__round_up((size_t)h->compute_units * (cpu ? 128 : 2048), local);
    cl_int err = CL_SUCCESS;
    cl_mem out = NULL;
    if (!status) {
        out = clCreateBuffer(h->context, CL_MEM_WRITE_ONLY, items * sizeof(float), NULL, &err);
        status = clattn__cl(err, "probe buffer");
    }
    cl_uint iterations = 64;
    const cl_float b = 0.999f;
    double t = 0, best = 0;
    clattn_arg args[] = {
        [PROBE_FMA_ARG_ITERATIONS] = {sizeof iterations, &iterations},
        [PROBE_FMA_ARG_BS] = {sizeof b, &b},
        [PROBE_FMA_ARG_OUT] = {sizeof out, &out},
    };
    CLATTN_ARGS_MATCH(args, PROBE_FMA_ARG_COUNT);
    if (!status) status = clattn__set_args(kernel, args, PROBE_FMA_ARG_COUNT);
    /* Grow the loop until one launch takes ~10 ms: launch overhead then does not count. */
    while (!status && (status = run_timed(queue, kernel, items, local, &t)) == CLATTN_SUCCESS &&
           t < 0.01 && iterations < (1u << 24)) {
        iterations *= 2;
        status = clattn__cl(clSetKernelArg(kernel, 0, sizeof iterations, &iterations), "probe arg");
    }
    if (!status) status = best_time(queue, kernel, items, local, &best);
    if (!status) *gflops = (double)items * iterations * 256.0 / best * 1e-9;
    if (out) clReleaseMemObject(out);
    clReleaseKernel(kernel);
    return status;
}

clattn_status clattn_probe_device(clattn_handle *h, double *bandwidth_gbps, double *peak_gflops) {
    if (!h) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "handle is NULL");
    /* The lock also keeps two threads from probing the same device at once (they would
     * measure each other). */
    pthread_mutex_lock(&cache_lock);
    probe_result result = {h->device, 0, 0};
    bool found = false;
    for (size_t i = 0; i < cached && !found; i++)
        if (cache[i].device == h->device) result = cache[i], found = true;
    clattn_status status = CLATTN_SUCCESS;
    if (!found) {
        cl_int err;
        cl_command_queue queue =
            clCreateCommandQueue(h->context, h->device, CL_QUEUE_PROFILING_ENABLE, &err);
        status = clattn__cl(err, "clCreateCommandQueue (probe)");
        if (!status) status = probe_bandwidth(h, queue, &result.gbps);
        if (!status) status = probe_fma(h, queue, &result.gflops);
        if (queue) clReleaseCommandQueue(queue);
        if (!status && cached < MAX_CACHED) cache[cached++] = result;
    }
    pthread_mutex_unlock(&cache_lock);
    if (status) return status;
    if (bandwidth_gbps) *bandwidth_gbps = result.gbps;
    if (peak_gflops) *peak_gflops = result.gflops;
    clattn__clear_error();
    return CLATTN_SUCCESS;
}
