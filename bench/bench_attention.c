/* Benchmark of the fused attention (clattn_enqueue_attention): one batch, one head, M x N
 * (M = N unless --m), for the head dims and causal modes asked, on the default (or --device)
 * device. Reports the median over --reps runs after one warm-up of the device time (profiling
 * events from a marker before the operation to its last kernel's end) and of the wall time
 * (enqueue to clFinish), and GFLOP/s counting 4 M N D flops (2 M N D when causal): from
 * the median device time, the median wall time and the best device time (on a shared
 * machine the best run is the one least disturbed by other processes), and from the
 * process's CPU time times the device's compute units (for a CPU device: about what the kernel
 * reaches alone on the machine, when other processes share the cores).
 *
 * usage: bench_attention [--m M] [--n N] [--d D[,D...]] [--causal no|yes|both] [--reps R]
 *                        [--variant auto|cpu|gpu] [--splits K] [--device SEL] [--peak]
 *
 * --peak first measures the device's FMA rate with a probe kernel (see fma_probe). */
#include "clattn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_seconds(clockid_t id) {
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int fail(const char *what, clattn_status status) {
    fprintf(stderr, "bench_attention: %s: %s: %s\n", what, clattn_status_string(status),
            clattn_last_error_message());
    return 1;
}

/* One configuration: fills the buffers, warms up, times `reps` runs. */
static int run(clattn_handle *h, size_t m, size_t n, size_t d, int causal, int reps,
               size_t splits) {
    cl_context ctx = clattn_handle_context(h);
    cl_command_queue queue = clattn_handle_queue(h);
    const size_t count = (m > n ? m : n) * d; /* every buffer holds the larger of Q and K */
    float *host = malloc(count * sizeof *host);
    if (!host) return fail("malloc", CLATTN_ERROR_OUT_OF_HOST_MEMORY);
    uint64_t s = 88172645463325252ull;
    for (size_t i = 0; i < count; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        host[i] = (float)((s >> 40) * (2.0 / 16777216.0) - 1.0);
    }
    cl_int err;
    cl_mem buf[4];
    for (int i = 0; i < 4; i++)
        buf[i] = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                                count * sizeof(float), host, &err);
    free(host);
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, 1, 1, 1, m, n, d, d);
    desc.causal = causal ? CLATTN_CAUSAL_TOP_LEFT : CLATTN_CAUSAL_NONE;
    desc.kv_splits = splits;

    double *dev = malloc((size_t)reps * sizeof *dev), *wall = malloc((size_t)reps * sizeof *wall);
    double *cpu = malloc((size_t)reps * sizeof *cpu);
    int rc = 0;
    for (int r = -1; r < reps && !rc; r++) { /* r = -1: warm-up (builds the kernels) */
        cl_event start = NULL, done = NULL;
        const double t0 = clock_seconds(CLOCK_MONOTONIC);
        const double c0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
        err = clEnqueueMarkerWithWaitList(queue, 0, NULL, &start);
        clattn_status status = clattn_enqueue_attention(h, NULL, &desc, buf[0], buf[1], buf[2],
                                                        NULL, buf[3], NULL, 0, NULL, &done);
        if (status) rc = fail("clattn_enqueue_attention", status);
        clFinish(queue);
        const double t1 = clock_seconds(CLOCK_MONOTONIC);
        const double c1 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
        if (!rc && r >= 0) {
            cl_ulong a = 0, b = 0;
            clGetEventProfilingInfo(start, CL_PROFILING_COMMAND_END, sizeof a, &a, NULL);
            clGetEventProfilingInfo(done, CL_PROFILING_COMMAND_END, sizeof b, &b, NULL);
            dev[r] = 1e-9 * (double)(b - a);
            wall[r] = t1 - t0;
            cpu[r] = c1 - c0;
        }
        if (start) clReleaseEvent(start);
        if (done) clReleaseEvent(done);
    }
    if (!rc) {
        const double flops = (causal ? 2.0 : 4.0) * (double)m * (double)n * (double)d;
        const double t_dev = median(dev, reps), t_wall = median(wall, reps);
        const double t_best = dev[0]; /* sorted by median() */
        cl_uint units = 1;
        clGetDeviceInfo(clattn_handle_device(h), CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units,
                        NULL);
        const double t_cpu = median(cpu, reps), cores = (double)units;
        printf("%6zu %6zu %4zu %-6s %10.2f %10.2f %9.1f %9.1f %9.1f %9.1f\n", m, n, d,
               causal ? "causal" : "full", 1e3 * t_dev, 1e3 * t_wall, flops / t_dev * 1e-9,
               flops / t_wall * 1e-9, flops / t_best * 1e-9, cores * flops / t_cpu * 1e-9);
    }
    free(dev);
    free(cpu);
    free(wall);
    for (int i = 0; i < 4; i++)
        clReleaseMemObject(buf[i]);
    return rc;
}

/* The device's FMA rate in this run, for scale: per work-item 16 independent float16 FMA
 * chains in registers (the shape of the attention kernel's inner loops, without loads).
 * On a machine shared with other processes the attention rates are best read against it. */
static const char *probe_source =
    "__kernel __attribute__((reqd_work_group_size(1, 1, 1)))\n"
    "void fma_probe(__global float *out, int iters, float a) {\n"
    "    float16 acc[16];\n"
    "    for (int r = 0; r < 16; r++) acc[r] = (float16)(r);\n"
    "    for (int i = 0; i < iters; i++) {\n"
    "        #pragma unroll\n"
    "        for (int r = 0; r < 16; r++) acc[r] = fma(acc[r], (float16)(a), (float16)(0.5f));\n"
    "    }\n"
    "    float16 s = (float16)(0.0f);\n"
    "    for (int r = 0; r < 16; r++) s += acc[r];\n"
    "    out[get_global_id(0)] = s.s0 + s.sf;\n"
    "}\n";

static void fma_probe(clattn_handle *h, int reps) {
    cl_context ctx = clattn_handle_context(h);
    cl_device_id dev = clattn_handle_device(h);
    cl_command_queue queue = clattn_handle_queue(h);
    cl_int err;
    cl_program program = clCreateProgramWithSource(ctx, 1, &probe_source, NULL, &err);
    if (err || clBuildProgram(program, 1, &dev, "-cl-mad-enable", NULL, NULL)) {
        printf("# FMA probe: build failed\n");
        if (!err) clReleaseProgram(program);
        return;
    }
    cl_kernel kernel = clCreateKernel(program, "fma_probe", &err);
    cl_uint units = 1;
    clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    const size_t groups = 32 * (size_t)units, one = 1;
    cl_mem out = clCreateBuffer(ctx, CL_MEM_READ_WRITE, groups * sizeof(float), NULL, &err);
    const int iters = 400000;
    const float a = 0.999f;
    clSetKernelArg(kernel, 0, sizeof out, &out);
    clSetKernelArg(kernel, 1, sizeof iters, &iters);
    clSetKernelArg(kernel, 2, sizeof a, &a);
    double best = 0.0, best_cpu = 0.0;
    for (int r = -1; r < reps; r++) {
        const double t0 = clock_seconds(CLOCK_MONOTONIC);
        const double c0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
        clEnqueueNDRangeKernel(queue, kernel, 1, NULL, &groups, &one, 0, NULL, NULL);
        clFinish(queue);
        const double t1 = clock_seconds(CLOCK_MONOTONIC);
        const double c1 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
        const double flops = 2.0 * 16 * 16 * (double)iters * (double)groups;
        if (r >= 0 && flops / (t1 - t0) > best) best = flops / (t1 - t0);
        if (r >= 0 && units * flops / (c1 - c0) > best_cpu) best_cpu = units * flops / (c1 - c0);
    }
    printf("# FMA probe (16 float16 FMA chains per work-item): best %.1f GFLOP/s wall, %.1f from "
           "CPU time\n",
           best * 1e-9, best_cpu * 1e-9);
    clReleaseMemObject(out);
    clReleaseKernel(kernel);
    clReleaseProgram(program);
}

int main(int argc, char **argv) {
    size_t m = 0, n = 4096, splits = 0, dims[8] = {64, 128};
    int ndims = 2, reps = 5, causal_lo = 0, causal_hi = 1, peak = 0;
    clattn_options options;
    clattn_options_init(&options);
    options.enable_profiling = 1;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(argv[i], "--peak") == 0)
            peak = 1;
        else if (strcmp(argv[i], "--n") == 0)
            n = strtoull(v, NULL, 10), i++;
        else if (strcmp(argv[i], "--m") == 0)
            m = strtoull(v, NULL, 10), i++;
        else if (strcmp(argv[i], "--reps") == 0)
            reps = atoi(v), i++;
        else if (strcmp(argv[i], "--splits") == 0)
            splits = strtoull(v, NULL, 10), i++;
        else if (strcmp(argv[i], "--device") == 0)
            options.device = v, i++;
        else if (strcmp(argv[i], "--d") == 0) {
            ndims = 0;
            for (char *p = argv[++i]; p && *p && ndims < 8;
                 p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
                dims[ndims++] = strtoull(p, NULL, 10);
        } else if (strcmp(argv[i], "--causal") == 0) {
            causal_lo = strcmp(v, "yes") == 0;
            causal_hi = strcmp(v, "no") != 0;
            i++;
        } else if (strcmp(argv[i], "--variant") == 0) {
            options.variant = strcmp(v, "cpu") == 0   ? CLATTN_VARIANT_CPU
                              : strcmp(v, "gpu") == 0 ? CLATTN_VARIANT_GPU
                                                      : CLATTN_VARIANT_AUTO;
            i++;
        } else {
            fprintf(stderr,
                    "usage: %s [--m M] [--n N] [--d D[,D...]] [--causal no|yes|both] [--reps R] "
                    "[--variant auto|cpu|gpu] [--splits K] [--device SEL] [--peak]\n",
                    argv[0]);
            return 2;
        }
    }
    if (n == 0 || reps < 1 || ndims == 0) return 2;
    clattn_handle *h = NULL;
    clattn_status status = clattn_handle_create(&options, &h);
    if (status) return fail("clattn_handle_create", status);
    printf("# %s, %s kernels, median of %d runs after a warm-up\n", clattn_handle_device_name(h),
           clattn_handle_variant(h) == CLATTN_VARIANT_CPU ? "CPU-shaped" : "GPU-shaped", reps);
    if (peak) fma_probe(h, reps);
    printf("#      m      n    d mode     dev ms    wall ms   GFLOP/s    (wall)    (best)     "
           "(cpu)\n");
    int rc = 0;
    for (int di = 0; di < ndims && !rc; di++)
        for (int c = causal_lo; c <= causal_hi && !rc; c++)
            rc = run(h, m ? m : n, n, dims[di], c, reps, splits);
    clattn_handle_destroy(h);
    return rc;
}
