/* CLBlast peer on the same OpenCL device: the seed op's scores as SGEMV, attention as SGEMM
 * (S = scale Q K^T) + a row-softmax kernel (causal mask) + SGEMM (O = P V) per head. Built
 * only when CLBlast is found (CLATTN_HAVE_CLBLAST). */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef CLATTN_HAVE_CLBLAST
#include <clblast_c.h>

bool bench_have_clblast(void) {
    return true;
}

static const char *softmax_source =
    "__kernel void softmax_rows(__global float *s, ulong m, ulong n, int causal)\n"
    "{\n"
    "    const ulong i = get_global_id(0);\n"
    "    if (i >= m) return;\n"
    "    __global float *r = s + i * n;\n"
    "    const ulong lim = causal ? min(i + 1, n) : n;\n"
    "    float mx = -INFINITY, sum = 0.0f;\n"
    "    for (ulong j = 0; j < lim; j++) mx = fmax(mx, r[j]);\n"
    "    for (ulong j = 0; j < lim; j++) { const float e = exp(r[j] - mx); r[j] = e; sum += e; }\n"
    "    const float inv = 1.0f / sum;\n"
    "    for (ulong j = 0; j < lim; j++) r[j] *= inv;\n"
    "    for (ulong j = lim; j < n; j++) r[j] = 0.0f;\n"
    "}\n";

/* The softmax program per device, built once. */
static cl_kernel softmax_kernel(const bench_device *dev) {
    static struct {
        cl_device_id device;
        cl_program program;
    } built[BENCH_MAX_DEVICES];
    cl_device_id device = clattn_handle_device(dev->handle);
    cl_program program = NULL;
    for (int i = 0; i < BENCH_MAX_DEVICES && !program; i++)
        if (built[i].device == device) program = built[i].program;
    cl_int err = CL_SUCCESS;
    if (!program) {
        program = clCreateProgramWithSource(clattn_handle_context(dev->handle), 1, &softmax_source,
                                            NULL, &err);
        if (!err) err = clBuildProgram(program, 1, &device, "", NULL, NULL);
        if (err) {
            if (program) clReleaseProgram(program);
            return NULL;
        }
        for (int i = 0; i < BENCH_MAX_DEVICES; i++)
            if (!built[i].device) {
                built[i].device = device;
                built[i].program = program;
                break;
            }
    }
    cl_kernel k = clCreateKernel(program, "softmax_rows", &err);
    return err ? NULL : k;
}

typedef struct peer_buffers {
    cl_mem in[3], out, s;
    cl_kernel softmax;
} peer_buffers;

/* One run: upload, compute, read back. *device_ms from the first upload-free command's start
 * to the last command's end. */
static const char *run_once(const bench_device *dev, const bench_shape *sh, const float *const *in,
                            const size_t *counts, float *out, size_t out_count, peer_buffers *b,
                            double *device_ms) {
    cl_command_queue queue = clattn_handle_queue(dev->handle);
    cl_event first = NULL, last = NULL, ev = NULL;
    cl_int err = CL_SUCCESS;
    for (int i = 0; i < 3 && !err; i++)
        if (in[i])
            err = clEnqueueWriteBuffer(queue, b->in[i], CL_FALSE, 0, counts[i] * sizeof(float),
                                       in[i], 0, NULL, NULL);
    if (err) return "upload failed";
    CLBlastStatusCode st = CLBlastSuccess;
#define TRACK()                                                                                    \
    do {                                                                                           \
        if (!first)                                                                                \
            first = ev;                                                                            \
        else if (last && last != first)                                                            \
            clReleaseEvent(last);                                                                  \
        last = ev;                                                                                 \
        ev = NULL;                                                                                 \
    } while (0)
    if (sh->op == BENCH_SCORES) {
        st = CLBlastSgemv(CLBlastLayoutRowMajor, CLBlastTransposeNo, sh->n, sh->d, 1.0f, b->in[0],
                          0, sh->d, b->in[1], 0, 1, 0.0f, b->out, 0, 1, &queue, &ev);
        if (st == CLBlastSuccess) TRACK();
    } else {
        const size_t m = sh->m, n = sh->n, d = sh->d;
        const float scale = 1.0f / sqrtf((float)d);
        cl_ulong um = m, un = n;
        cl_int causal = sh->causal;
        size_t global = m;
        for (size_t h = 0; st == CLBlastSuccess && !err && h < sh->batch * sh->heads; h++) {
            st = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, m, n,
                              d, scale, b->in[0], h * m * d, d, b->in[1], h * n * d, d, 0.0f, b->s,
                              0, n, &queue, &ev);
            if (st != CLBlastSuccess) break;
            TRACK();
            err = clSetKernelArg(b->softmax, 0, sizeof b->s, &b->s);
            err |= clSetKernelArg(b->softmax, 1, sizeof um, &um);
            err |= clSetKernelArg(b->softmax, 2, sizeof un, &un);
            err |= clSetKernelArg(b->softmax, 3, sizeof causal, &causal);
            if (!err)
                err =
                    clEnqueueNDRangeKernel(queue, b->softmax, 1, NULL, &global, NULL, 0, NULL, &ev);
            if (err) break;
            TRACK();
            st = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, m, d,
                              n, 1.0f, b->s, 0, n, b->in[2], h * n * d, d, 0.0f, b->out, h * m * d,
                              d, &queue, &ev);
            if (st == CLBlastSuccess) TRACK();
        }
    }
#undef TRACK
    if (!err && st == CLBlastSuccess)
        err = clEnqueueReadBuffer(queue, b->out, CL_TRUE, 0, out_count * sizeof(float), out, 0,
                                  NULL, NULL);
    clFinish(queue);
    *device_ms = first && last ? bench_event_ms(first, last) : NAN;
    if (first && first != last) clReleaseEvent(first);
    if (last) clReleaseEvent(last);
    if (st != CLBlastSuccess) return "a CLBlast call failed";
    return err ? "an OpenCL call failed" : NULL;
}

const char *bench_clblast_run(const bench_config *cfg, const bench_device *dev,
                              const bench_shape *sh, const float *const *in, float *out,
                              bench_result *r) {
    const bool attn = sh->op != BENCH_SCORES;
    if (attn && (double)sh->m * (double)sh->n > (double)(1u << 24))
        return "skipped: M x N too large for the stored-matrix composition";
    const size_t bh = sh->batch * sh->heads;
    const size_t counts[3] = {attn ? bh * sh->m * sh->d : sh->n * sh->d,
                              attn ? bh * sh->n * sh->d : sh->d, attn ? bh * sh->n * sh->d : 0};
    const size_t out_count = attn ? bh * sh->m * sh->d : sh->n;
    cl_context ctx = clattn_handle_context(dev->handle);
    peer_buffers b = {{NULL}, NULL, NULL, NULL};
    cl_int err = CL_SUCCESS;
    for (int i = 0; i < 3 && !err; i++)
        if (counts[i])
            b.in[i] = clCreateBuffer(ctx, CL_MEM_READ_ONLY, counts[i] * sizeof(float), NULL, &err);
    if (!err) b.out = clCreateBuffer(ctx, CL_MEM_READ_WRITE, out_count * sizeof(float), NULL, &err);
    if (!err && attn)
        b.s = clCreateBuffer(ctx, CL_MEM_READ_WRITE, sh->m * sh->n * sizeof(float), NULL, &err);
    /* CLBlast computes beta * C even for beta = 0: outputs must not hold NaN garbage. */
    const float zero = 0.0f;
    cl_command_queue queue = clattn_handle_queue(dev->handle);
    if (!err)
        err = clEnqueueFillBuffer(queue, b.out, &zero, sizeof zero, 0, out_count * sizeof(float), 0,
                                  NULL, NULL);
    if (!err && attn)
        err = clEnqueueFillBuffer(queue, b.s, &zero, sizeof zero, 0, sh->m * sh->n * sizeof(float),
                                  0, NULL, NULL);
    if (!err) err = clFinish(queue);
    if (!err && attn && !(b.softmax = softmax_kernel(dev))) err = CL_BUILD_PROGRAM_FAILURE;
    const char *msg = err ? "allocation or softmax build failed" : NULL;
    int reps = cfg->reps > 64 ? 64 : cfg->reps;
    double t[64], dt[64], ct[64];
    if (!msg) msg = run_once(dev, sh, in, counts, out, out_count, &b, &dt[0]); /* warm-up */
    for (int i = 0; !msg && i < reps; i++) {
        double t0 = bench_now(), c0 = bench_cpu_now();
        msg = run_once(dev, sh, in, counts, out, out_count, &b, &dt[i]);
        t[i] = (bench_now() - t0) * 1e3;
        ct[i] = (bench_cpu_now() - c0) * 1e3;
    }
    for (int i = 0; i < 3; i++)
        if (b.in[i]) clReleaseMemObject(b.in[i]);
    if (b.out) clReleaseMemObject(b.out);
    if (b.s) clReleaseMemObject(b.s);
    if (b.softmax) clReleaseKernel(b.softmax);
    if (msg) return msg;
    r->reps = reps;
    r->min_ms = bench_min(t, reps);
    r->median_ms = bench_median(t, reps);
    r->cpu_ms = bench_median(ct, reps);
    r->device_ms = bench_median(dt, reps);
    r->note = attn ? "sgemm + softmax kernel + sgemm" : "sgemv (scores only, no normalisation)";
    return NULL;
}

#else

bool bench_have_clblast(void) {
    return false;
}

const char *bench_clblast_run(const bench_config *cfg, const bench_device *dev,
                              const bench_shape *s, const float *const *inputs, float *output,
                              bench_result *r) {
    (void)cfg, (void)dev, (void)s, (void)inputs, (void)output, (void)r;
    return "not built with CLBlast";
}

#endif
