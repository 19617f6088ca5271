/* A streaming read of a buffer and an FMA-throughput kernel, timed on the device: the roofline
 * measured right beside each repetition. The probe (clattn_probe_device) measures bandwidth once
 * per process; on a shared machine the load changes between then and a run, so each repetition of
 * the seed op is paired with a read of the same x, and the ratio of their device times is a
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
    "}\n"
    "__kernel void fma_peak(uint iterations, float bs, __global float *out)\n"
    "{\n"
    "    const float16 b = (float16)(bs), c = (float16)(0.5f);\n"
    "    const float s = (float)get_global_id(0) * 1e-6f;\n"
    "    float16 a0 = s, a1 = s + 0.1f, a2 = s + 0.2f, a3 = s + 0.3f;\n"
    "    float16 a4 = s + 0.4f, a5 = s + 0.5f, a6 = s + 0.6f, a7 = s + 0.7f;\n"
    "    for (uint i = 0; i < iterations; i++) {\n"
    "        a0 = fma(a0, b, c); a1 = fma(a1, b, c); a2 = fma(a2, b, c); a3 = fma(a3, b, c);\n"
    "        a4 = fma(a4, b, c); a5 = fma(a5, b, c); a6 = fma(a6, b, c); a7 = fma(a7, b, c);\n"
    "    }\n"
    "    const float16 t = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));\n"
    "    out[get_global_id(0)] = t.s0 + t.s7 + t.sf;\n"
    "}\n";

typedef struct stream_state {
    cl_device_id device;
    cl_program program;
    cl_mem out;
    size_t items, local;
    cl_uint fma_iterations; /* calibrated: one FMA launch takes ~5 ms */
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

/* One launch of the FMA kernel (the probe's: 8 independent float16 chains per work-item). */
static double fma_once(stream_state *s, cl_command_queue queue, cl_kernel k, double *ms) {
    const cl_float b = 0.999f;
    cl_int err = clSetKernelArg(k, 0, sizeof s->fma_iterations, &s->fma_iterations);
    err |= clSetKernelArg(k, 1, sizeof b, &b);
    err |= clSetKernelArg(k, 2, sizeof s->out, &s->out);
    cl_event e = NULL;
    const size_t items = s->items / 16 < s->local ? s->local : s->items / 16;
    if (!err) err = clEnqueueNDRangeKernel(queue, k, 1, NULL, &items, &s->local, 0, NULL, &e);
    if (!err) err = clWaitForEvents(1, &e);
    *ms = err ? NAN : bench_event_ms(e, e);
    if (e) clReleaseEvent(e);
    return (double)items * s->fma_iterations * 256.0 / (*ms * 1e-3) * 1e-9;
}

double bench_fma_gflops(const bench_device *dev) {
    stream_state *s = state_for(dev);
    if (!s) return NAN;
    cl_int err;
    cl_kernel k = clCreateKernel(s->program, "fma_peak", &err);
    if (err) return NAN;
    cl_command_queue queue = clattn_handle_queue(dev->handle);
    double ms = 0, gflops = NAN;
    if (!s->fma_iterations) { /* grow until a launch takes ~5 ms */
        s->fma_iterations = 64;
        while (fma_once(s, queue, k, &ms) > 0 && ms < 5.0 && s->fma_iterations < (1u << 24))
            s->fma_iterations *= 2;
    }
    gflops = fma_once(s, queue, k, &ms);
    clReleaseKernel(k);
    return isnan(ms) ? NAN : gflops;
}
