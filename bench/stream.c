/* A streaming read of a buffer, timed on the device: the seed op's roofline measured right
 * beside it. The probe (clattn_probe_device) measures bandwidth once per process; on a
 * shared machine the load changes between then and a run, so each repetition of the seed op
 * is paired with a read of the same x, and the ratio of their device times is a
 * load-robust "fraction of the achievable bandwidth". Same kernel shapes as the probe. */
#include "bench.h"

#include <math.h>
#include <string.h>

static const char *stream_source =
    "__kernel void stream_read(__global const float16 *a, ulong n16, uint per_item,\n"
    "                          int strided, __global float *out)\n"
    "{\n"
    "    const ulong gid = get_global_id(0), gsize = get_global_size(0);\n"
    "    float16 acc = (float16)(0.0f);\n"
    "    if (strided) {\n"
    "        for (ulong i = gid; i < n16; i += gsize) acc += a[i];\n"
    "    } else {\n"
    "        const ulong end = min(n16, (ulong)(gid * per_item + per_item));\n"
    "        for (ulong i = gid * per_item; i < end; i++) acc += a[i];\n"
    "    }\n"
    "    const float8 b = acc.lo + acc.hi;\n"
    "    const float4 c = b.lo + b.hi;\n"
    "    out[gid] = (c.x + c.y) + (c.z + c.w);\n"
    "}\n";

typedef struct stream_state {
    cl_device_id device;
    cl_program program;
    cl_mem out;
    size_t items, local;
} stream_state;

static stream_state states[BENCH_MAX_DEVICES];

static stream_state *state_for(const bench_device *dev) {
    cl_device_id device = clattn_handle_device(dev->handle);
    for (int i = 0; i < BENCH_MAX_DEVICES; i++)
        if (states[i].device == device) return &states[i];
    for (int i = 0; i < BENCH_MAX_DEVICES; i++) {
        if (states[i].device) continue;
        stream_state *s = &states[i];
        cl_context ctx = clattn_handle_context(dev->handle);
        cl_uint units = 1;
        clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
        const bool cpu = strcmp(dev->type, "CPU") == 0;
        /* Explicit work-groups: a CPU device left to choose may put all in one group (one
         * core). */
        size_t max_local = 256;
        clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_local, &max_local, NULL);
        s->local = cpu ? 16 : 256;
        while (s->local > max_local)
            s->local /= 2;
        s->items = (size_t)units * 2048; /* GPU; CPU: per call, runs of 64 KiB (as the probe) */
        cl_int err;
        s->program = clCreateProgramWithSource(ctx, 1, &stream_source, NULL, &err);
        if (!err) err = clBuildProgram(s->program, 1, &device, "", NULL, NULL);
        if (!err)
            s->out = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, s->items * sizeof(float), NULL, &err);
        if (err) {
            if (s->program) clReleaseProgram(s->program);
            if (s->out) clReleaseMemObject(s->out);
            memset(s, 0, sizeof *s);
            return NULL;
        }
        s->device = device;
        return s;
    }
    return NULL;
}

double bench_stream_ms(const bench_device *dev, cl_mem buf, size_t bytes) {
    stream_state *s = state_for(dev);
    if (!s) return NAN;
    cl_int err;
    cl_kernel k = clCreateKernel(s->program, "stream_read", &err);
    if (err) return NAN;
    const cl_ulong n16 = bytes / 64;
    size_t items = s->items;
    if (strcmp(dev->type, "CPU") == 0) {
        items = (size_t)((n16 + 1023) / 1024);
        items = (items + s->local - 1) / s->local * s->local;
        if (items > s->items) items = s->items;
    }
    const cl_uint per_item = (cl_uint)((n16 + items - 1) / items);
    const cl_int strided = strcmp(dev->type, "CPU") != 0;
    err = clSetKernelArg(k, 0, sizeof buf, &buf);
    err |= clSetKernelArg(k, 1, sizeof n16, &n16);
    err |= clSetKernelArg(k, 2, sizeof per_item, &per_item);
    err |= clSetKernelArg(k, 3, sizeof strided, &strided);
    err |= clSetKernelArg(k, 4, sizeof s->out, &s->out);
    cl_event e = NULL;
    if (!err)
        err = clEnqueueNDRangeKernel(clattn_handle_queue(dev->handle), k, 1, NULL, &items,
                                     &s->local, 0, NULL, &e);
    if (!err) err = clWaitForEvents(1, &e);
    const double ms = err ? NAN : bench_event_ms(e, e);
    if (e) clReleaseEvent(e);
    clReleaseKernel(k);
    return ms;
}
