/* Runs one shape on every selected backend: the reference (small sizes), the fast CPU path,
 * each OpenCL device and the peers; times, rates and errors. */
#include "bench.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *bench_op_name(bench_op op) {
    static const char *const names[] = {"scores", "attention", "decode", "seed_example", "model"};
    return names[op];
}

void bench_shape_string(const bench_shape *s, char *buf, size_t size) {
    if (s->op == BENCH_SCORES || s->op == BENCH_SEED)
        snprintf(buf, size, "n=%zu d=%zu", s->n, s->d);
    else if (s->op == BENCH_DECODE)
        snprintf(buf, size, "b=%zu h=%zu n=%zu d=%zu", s->batch, s->heads, s->n, s->d);
    else
        snprintf(buf, size, "b=%zu h=%zu m=%zu n=%zu d=%zu%s", s->batch, s->heads, s->m, s->n, s->d,
                 s->causal ? " causal" : "");
}

/* Query-key pairs that are computed: all, or those on or below the (top-left) diagonal. */
static double visible_pairs(const bench_shape *s) {
    const double m = (double)s->m, n = (double)s->n;
    if (!s->causal) return m * n;
    /* row i sees min(i + 1, n) keys */
    const double full = m < n ? m : n;
    return full * (full + 1) / 2 + (m > n ? (m - n) * n : 0);
}

double bench_flops(const bench_shape *s) {
    if (s->op == BENCH_SCORES || s->op == BENCH_SEED) /* dot products, then ~4 per weight */
        return 2.0 * (double)s->n * (double)s->d + 4.0 * (double)s->n;
    /* Q K^T and P V: 2 D flops each per visible pair */
    return 4.0 * (double)s->batch * (double)s->heads * (double)s->d * visible_pairs(s);
}

double bench_bytes(const bench_shape *s) {
    if (s->op == BENCH_SCORES || s->op == BENCH_SEED) /* x once, q, scores out/in, weights */
        return 4.0 * ((double)s->n * (double)s->d + (double)s->d + 3.0 * (double)s->n);
    /* Q, K, V read once, O written once */
    const double bh = (double)s->batch * (double)s->heads, d = (double)s->d;
    return 4.0 * bh * d * (2.0 * (double)s->m + 2.0 * (double)s->n);
}

bool bench_results_add(bench_results *list, const bench_result *r) {
    if (list->count == list->capacity) {
        size_t cap = list->capacity ? 2 * list->capacity : 64;
        bench_result *items = realloc(list->items, cap * sizeof *items);
        if (!items) return false;
        list->items = items;
        list->capacity = cap;
    }
    list->items[list->count++] = *r;
    return true;
}

static void fill(float *a, size_t n, uint64_t seed, float lo, float hi) {
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        a[i] = lo + (hi - lo) * (float)((seed >> 40) * (1.0 / 16777216.0));
    }
}

/* The problem's data: inputs[0..3] and the output size. */
typedef struct problem {
    bench_shape shape;
    clattn_attention_desc desc;
    float *in[3]; /* scores: x, q; attention: q, k, v */
    size_t in_count[3];
    size_t out_count;
} problem;

static bool is_attention(const bench_shape *s) {
    return s->op == BENCH_ATTENTION || s->op == BENCH_DECODE;
}

static bool make_problem(const bench_shape *s, problem *p) {
    memset(p, 0, sizeof *p);
    p->shape = *s;
    if (is_attention(s)) {
        clattn_attention_desc_init(&p->desc, s->batch, s->heads, s->heads, s->m, s->n, s->d, s->d);
        p->desc.causal = s->causal ? CLATTN_CAUSAL_TOP_LEFT : CLATTN_CAUSAL_NONE;
        const size_t bh = s->batch * s->heads;
        p->in_count[0] = bh * s->m * s->d;
        p->in_count[1] = p->in_count[2] = bh * s->n * s->d;
        p->out_count = bh * s->m * s->d;
    } else {
        p->in_count[0] = s->n * s->d;
        p->in_count[1] = s->d;
        p->out_count = s->n;
    }
    for (int i = 0; i < 3; i++) {
        if (!p->in_count[i]) continue;
        if (!(p->in[i] = malloc(p->in_count[i] * sizeof(float)))) return false;
        /* Positive data for the seed op: its SUM normalisation needs a sum far from 0. */
        fill(p->in[i], p->in_count[i], 0x1234567ull + (uint64_t)i * 977, is_attention(s) ? -1 : 0,
             1);
    }
    return true;
}

static void free_problem(problem *p) {
    for (int i = 0; i < 3; i++)
        free(p->in[i]);
}

/* Host backends (ref, cpu): the call on host arrays. The seed op's output is the weights. */
static clattn_status run_host(bool ref, const problem *p, float *out, float *scratch) {
    const bench_shape *s = &p->shape;
    if (is_attention(s))
        return ref ? clattn_ref_attention(&p->desc, p->in[0], p->in[1], p->in[2], NULL, out, NULL)
                   : clattn_cpu_attention(&p->desc, p->in[0], p->in[1], p->in[2], NULL, out, NULL);
    if (ref) {
        clattn_status st = clattn_ref_scores(s->n, s->d, 1.0f, p->in[0], p->in[1], scratch);
        return st ? st : clattn_ref_normalize(CLATTN_NORM_SUM, s->n, scratch, out);
    }
    return clattn_cpu_query_attention(s->n, s->d, p->in[0], p->in[1], NULL, 1.0f, CLATTN_NORM_SUM,
                                      scratch, out, NULL);
}

static void set_rates(bench_result *r, const bench_shape *s, double peak_gbps, double peak_gflops) {
    const double ms = isnan(r->device_ms) ? r->median_ms : r->device_ms;
    r->gflops = bench_flops(s) / (ms * 1e-3) * 1e-9;
    r->gbps = bench_bytes(s) / (ms * 1e-3) * 1e-9;
    /* The bound that applies: bandwidth for the seed op and decoding, flops for attention. */
    r->peak_fraction = s->op == BENCH_ATTENTION ? r->gflops / peak_gflops : r->gbps / peak_gbps;
}

/* The probe of a CPU-type OpenCL device (the same cores) stands for the host's peaks. */
static void host_peaks(const bench_config *cfg, double *gbps, double *gflops) {
    *gbps = cfg->host_gbps;
    *gflops = cfg->host_gflops;
}

static int time_host(const bench_config *cfg, bool ref, const problem *p, const float *want,
                     const char *want_from, bench_result *r) {
    float *out = malloc(p->out_count * sizeof *out),
          *scratch = malloc(p->shape.n * sizeof *scratch);
    int reps = ref ? (cfg->reps < 3 ? cfg->reps : 3) : cfg->reps;
    double t[64], ct[64];
    if (reps > 64) reps = 64;
    if (!out || !scratch) {
        free(out), free(scratch);
        fprintf(stderr, "clattn bench: out of memory\n");
        return 1;
    }
    clattn_status st = run_host(ref, p, out, scratch); /* warm-up */
    for (int i = 0; !st && i < reps; i++) {
        double t0 = bench_now(), c0 = bench_cpu_now();
        st = run_host(ref, p, out, scratch);
        t[i] = (bench_now() - t0) * 1e3;
        ct[i] = (bench_cpu_now() - c0) * 1e3;
    }
    if (st) {
        fprintf(stderr, "clattn bench: %s failed: %s: %s\n", ref ? "reference" : "cpu",
                clattn_status_string(st), clattn_last_error_message());
        free(out), free(scratch);
        return 1;
    }
    r->reps = reps;
    r->min_ms = bench_min(t, reps);
    r->median_ms = bench_median(t, reps);
    r->cpu_ms = bench_median(ct, reps);
    r->max_abs_err = want ? bench_max_abs_diff(out, want, p->out_count) : NAN;
    r->err_vs = want ? want_from : NULL;
    double gbps, gflops;
    host_peaks(cfg, &gbps, &gflops);
    set_rates(r, &p->shape, gbps, gflops);
    free(out), free(scratch);
    return 0;
}

/* The operation on resident buffers, timed by profiling events: *device_ms from a marker
 * before the operation to its last event; *norm_ms the normalisation's share (seed op). The
 * marker and the operation wait for a user event set only after everything is enqueued, so
 * the host's enqueue work (argument checks, kernel objects) is not counted as device time. */
static clattn_status device_once(clattn_handle *h, const problem *p, cl_mem *buf, double *device_ms,
                                 double *norm_ms) {
    cl_command_queue queue = clattn_handle_queue(h);
    const bench_shape *s = &p->shape;
    cl_event gate = NULL, marker = NULL, e1 = NULL, e2 = NULL;
    cl_int err = CL_SUCCESS;
    gate = clCreateUserEvent(clattn_handle_context(h), &err);
    if (!err) err = clEnqueueMarkerWithWaitList(queue, 1, &gate, &marker);
    clattn_status st = err;
    if (!st && is_attention(s)) {
        st = clattn_enqueue_attention(h, queue, &p->desc, buf[0], buf[1], buf[2], NULL, buf[3],
                                      NULL, 1, &marker, &e2);
    } else if (!st) {
        st = clattn_enqueue_scores(h, queue, s->n, s->d, 1.0f, buf[0], 0, buf[1], 0, buf[4], 0, 1,
                                   &marker, &e1);
        if (!st)
            st = clattn_enqueue_normalize(h, queue, CLATTN_NORM_SUM, s->n, buf[4], 0, buf[3], 0, 1,
                                          &e1, &e2);
    }
    if (gate) clSetUserEventStatus(gate, st ? -1 : CL_COMPLETE);
    if (!st) st = clWaitForEvents(1, &e2);
    if (!st) {
        /* From the marker's end: a marker's start may be stamped when it is submitted. */
        cl_ulong m_end = 0, op_end = 0;
        *device_ms = NAN;
        if (!clGetEventProfilingInfo(marker, CL_PROFILING_COMMAND_END, sizeof m_end, &m_end,
                                     NULL) &&
            !clGetEventProfilingInfo(e2, CL_PROFILING_COMMAND_END, sizeof op_end, &op_end, NULL) &&
            op_end >= m_end)
            *device_ms = (double)(op_end - m_end) * 1e-6;
        *norm_ms = NAN;
        if (e1) {
            cl_ulong end1 = 0, end2 = 0;
            if (!clGetEventProfilingInfo(e1, CL_PROFILING_COMMAND_END, sizeof end1, &end1, NULL) &&
                !clGetEventProfilingInfo(e2, CL_PROFILING_COMMAND_END, sizeof end2, &end2, NULL))
                *norm_ms = (double)(end2 - end1) * 1e-6;
        }
    } else {
        clFinish(queue);
    }
    if (gate) clReleaseEvent(gate);
    if (marker) clReleaseEvent(marker);
    if (e1) clReleaseEvent(e1);
    if (e2) clReleaseEvent(e2);
    return st;
}

/* End to end through the blocking API a user calls: upload (zero-copy where the library
 * does that, e.g. on CPU devices), kernels, read back. The seed op's output: the weights. */
static clattn_status end_to_end_once(clattn_handle *h, const problem *p, float *out) {
    const bench_shape *s = &p->shape;
    if (is_attention(s))
        return clattn_attention(h, &p->desc, p->in[0], p->in[1], p->in[2], NULL, out, NULL);
    return clattn_query_attention(h, s->n, s->d, p->in[0], p->in[1], NULL, 1.0f, CLATTN_NORM_SUM,
                                  NULL, out, NULL);
}

static int time_opencl(const bench_config *cfg, const bench_device *dev, const problem *p,
                       const float *want, const char *want_from, bench_result *r) {
    clattn_handle *h = dev->handle;
    cl_context ctx = clattn_handle_context(h);
    cl_command_queue queue = clattn_handle_queue(h);
    cl_mem buf[5] = {NULL};
    float *out = malloc(p->out_count * sizeof *out);
    cl_int err = out ? CL_SUCCESS : CLATTN_ERROR_OUT_OF_HOST_MEMORY;
    for (int i = 0; i < 3 && !err; i++)
        if (p->in_count[i]) {
            buf[i] =
                clCreateBuffer(ctx, CL_MEM_READ_ONLY, p->in_count[i] * sizeof(float), NULL, &err);
            if (!err)
                err = clEnqueueWriteBuffer(queue, buf[i], CL_TRUE, 0,
                                           p->in_count[i] * sizeof(float), p->in[i], 0, NULL, NULL);
        }
    if (!err)
        buf[3] = clCreateBuffer(ctx, CL_MEM_READ_WRITE, p->out_count * sizeof(float), NULL, &err);
    if (!err && !is_attention(&p->shape))
        buf[4] = clCreateBuffer(ctx, CL_MEM_READ_WRITE, p->shape.n * sizeof(float), NULL, &err);
    int reps = cfg->reps > 64 ? 64 : cfg->reps;
    double t[64], dt[64], nt[64], ct[64], sf[64], ff[64];
    clattn_status st = err;
    /* Warm-up: builds the kernels of both paths. */
    if (!st) st = device_once(h, p, buf, &dt[0], &nt[0]);
    if (!st) st = end_to_end_once(h, p, out);
    for (int i = 0; !st && i < reps; i++) {
        const double c0 = bench_cpu_now();
        st = device_once(h, p, buf, &dt[i], &nt[i]);
        ct[i] = (bench_cpu_now() - c0) * 1e3;
        if (!st && !is_attention(&p->shape))
            sf[i] = bench_stream_ms(dev, buf[0], p->in_count[0] * sizeof(float)) / dt[i];
        if (!st && p->shape.op == BENCH_ATTENTION)
            ff[i] = bench_flops(&p->shape) / (dt[i] * 1e-3) * 1e-9 / bench_fma_gflops(dev);
        const double t0 = bench_now();
        if (!st) st = end_to_end_once(h, p, out);
        t[i] = (bench_now() - t0) * 1e3;
    }
    for (int i = 0; i < 5; i++)
        if (buf[i]) clReleaseMemObject(buf[i]);
    if (st) {
        fprintf(stderr, "clattn bench: %s on %s failed: %s: %s\n", bench_op_name(p->shape.op),
                dev->name, clattn_status_string(st), clattn_last_error_message());
        free(out);
        return 1;
    }
    r->reps = reps;
    r->min_ms = bench_min(t, reps);
    r->median_ms = bench_median(t, reps);
    r->device_ms = bench_median(dt, reps);
    r->norm_ms = is_attention(&p->shape) ? NAN : bench_median(nt, reps);
    r->cpu_ms = bench_median(ct, reps);
    if (!is_attention(&p->shape)) r->stream_fraction = bench_median(sf, reps);
    if (p->shape.op == BENCH_ATTENTION) r->fma_fraction = bench_median(ff, reps);
    r->max_abs_err = want ? bench_max_abs_diff(out, want, p->out_count) : NAN;
    r->err_vs = want ? want_from : NULL;
    set_rates(r, &p->shape, dev->bandwidth_gbps, dev->peak_gflops);
    free(out);
    return 0;
}

static void init_result(bench_result *r, const bench_shape *s, const char *backend,
                        const char *device) {
    memset(r, 0, sizeof *r);
    r->shape = *s;
    r->backend = backend;
    snprintf(r->device, sizeof r->device, "%s", device);
    r->device_ms = r->norm_ms = r->cpu_ms = r->max_abs_err = r->stream_fraction = r->fma_fraction =
        NAN;
    r->gflops = r->gbps = r->peak_fraction = NAN;
}

int bench_run_shape(const bench_config *cfg, const bench_shape *s, bench_results *out) {
    problem p;
    if (!make_problem(s, &p)) {
        free_problem(&p);
        fprintf(stderr, "clattn bench: out of memory for %s\n", bench_op_name(s->op));
        return 1;
    }
    /* What errors are measured against: the reference where it takes about a second at most
     * (its seed op is cheap, its attention ~1 GFLOP/s in double), else the fast CPU path.
     * The reference is timed as a backend only up to cfg->ref_limit flops. */
    const double flops = bench_flops(s);
    const bool ref_ok = flops <= (is_attention(s) ? 1e9 : 4e9);
    float *want = malloc(p.out_count * sizeof *want), *scratch = malloc(s->n * sizeof *scratch);
    float *want_scores = NULL; /* the seed op's scores, for the GEMV peers */
    const char *want_from = ref_ok ? "ref" : "cpu";
    int rc = 0;
    if (!want || !scratch || run_host(ref_ok, &p, want, scratch)) {
        fprintf(stderr, "clattn bench: computing the expected output failed\n");
        rc = 1;
        goto out;
    }
    if (!is_attention(s)) want_scores = scratch;

    char host[128];
    snprintf(host, sizeof host, "host CPU (%u thread%s)", clattn_cpu_threads(),
             clattn_cpu_threads() == 1 ? "" : "s");
    bench_result r;
    if ((cfg->backends & BACKEND_REF) && flops <= (double)cfg->ref_limit) {
        init_result(&r, s, "ref", "host CPU (1 thread)");
        if (!(rc = time_host(cfg, true, &p, want, want_from, &r))) bench_results_add(out, &r);
    }
    if (!rc && (cfg->backends & BACKEND_CPU)) {
        init_result(&r, s, "cpu", host);
        if (!(rc = time_host(cfg, false, &p, want, want_from, &r))) bench_results_add(out, &r);
    }
    for (size_t i = 0; !rc && (cfg->backends & BACKEND_OPENCL) && i < cfg->device_count; i++) {
        init_result(&r, s, "opencl", cfg->devices[i].name);
        if (!(rc = time_opencl(cfg, &cfg->devices[i], &p, want, want_from, &r)))
            bench_results_add(out, &r);
    }
    const float *const inputs[3] = {p.in[0], p.in[1], p.in[2]};
    float *peer_out = malloc(p.out_count * sizeof *peer_out);
    const float *peer_want = is_attention(s) ? want : want_scores;
    for (size_t i = 0; !rc && peer_out && (cfg->backends & BACKEND_CLBLAST) &&
                       bench_have_clblast() && i < cfg->device_count;
         i++) {
        init_result(&r, s, "clblast", cfg->devices[i].name);
        const char *err = bench_clblast_run(cfg, &cfg->devices[i], s, inputs, peer_out, &r);
        if (err) {
            fprintf(stderr, "clattn bench: clblast: %s\n", err);
            continue;
        }
        r.max_abs_err = bench_max_abs_diff(peer_out, peer_want, p.out_count);
        r.err_vs = want_from;
        set_rates(&r, s, cfg->devices[i].bandwidth_gbps, cfg->devices[i].peak_gflops);
        bench_results_add(out, &r);
    }
    if (!rc && peer_out && (cfg->backends & BACKEND_OPENBLAS) && bench_have_openblas()) {
        init_result(&r, s, "openblas", host);
        const char *err = bench_openblas_run(cfg, s, inputs, peer_out, &r);
        if (err) {
            fprintf(stderr, "clattn bench: openblas: %s\n", err);
        } else {
            double gbps, gflops;
            host_peaks(cfg, &gbps, &gflops);
            r.max_abs_err = bench_max_abs_diff(peer_out, peer_want, p.out_count);
            r.err_vs = want_from;
            set_rates(&r, s, gbps, gflops);
            bench_results_add(out, &r);
        }
    }
    free(peer_out);
out:
    free(want);
    free(scratch);
    free_problem(&p);
    return rc;
}

/* ---- the seed's example ------------------------------------------------------------------ */

static const float seed_x[18] = {0.43f, 0.15f, 0.89f, 0.55f, 0.87f, 0.66f, 0.57f, 0.85f, 0.64f,
                                 0.22f, 0.58f, 0.33f, 0.77f, 0.25f, 0.10f, 0.05f, 0.80f, 0.55f};

int bench_run_seed_example(const bench_config *cfg, bench_results *out) {
    const bench_shape s = {BENCH_SEED, 1, 1, 1, 6, 3, 0};
    const float *q = seed_x + 3;
    float scores[6], want[6], got[6], context[3];
    clattn_ref_scores(6, 3, 1.0f, seed_x, q, scores);
    clattn_ref_normalize(CLATTN_NORM_SUM, 6, scores, want);
    const int reps = cfg->quick ? 50 : 200;
    double t[200];
    bench_result r;
    char host[128];
    snprintf(host, sizeof host, "host CPU (%u thread%s)", clattn_cpu_threads(),
             clattn_cpu_threads() == 1 ? "" : "s");
    if (cfg->backends & BACKEND_CPU) {
        init_result(&r, &s, "cpu", host);
        for (int i = 0; i < reps; i++) {
            double t0 = bench_now();
            clattn_cpu_query_attention(6, 3, seed_x, q, NULL, 1.0f, CLATTN_NORM_SUM, scores, got,
                                       context);
            t[i] = (bench_now() - t0) * 1e3;
        }
        r.reps = reps;
        r.min_ms = bench_min(t, reps);
        r.median_ms = bench_median(t, reps);
        r.max_abs_err = bench_max_abs_diff(got, want, 6);
        r.err_vs = "ref";
        bench_results_add(out, &r);
    }
    for (size_t d = 0; (cfg->backends & BACKEND_OPENCL) && d < cfg->device_count; d++) {
        clattn_handle *h = cfg->devices[d].handle;
        init_result(&r, &s, "opencl", cfg->devices[d].name);
        clattn_status st = clattn_query_attention(h, 6, 3, seed_x, q, NULL, 1.0f, CLATTN_NORM_SUM,
                                                  scores, got, context); /* warm-up */
        const unsigned long before = bench_launch_count();
        for (int i = 0; !st && i < reps; i++) {
            double t0 = bench_now();
            st = clattn_query_attention(h, 6, 3, seed_x, q, NULL, 1.0f, CLATTN_NORM_SUM, scores,
                                        got, context);
            t[i] = (bench_now() - t0) * 1e3;
        }
        if (st) {
            fprintf(stderr, "clattn bench: seed example failed: %s: %s\n", clattn_status_string(st),
                    clattn_last_error_message());
            return 1;
        }
        r.launches = (int)((bench_launch_count() - before) / (unsigned long)reps);
        r.reps = reps;
        r.min_ms = bench_min(t, reps);
        r.median_ms = bench_median(t, reps);
        r.max_abs_err = bench_max_abs_diff(got, want, 6);
        r.err_vs = "ref";
        r.note = "scores + weights + context, blocking API, upload and read back included";
        bench_results_add(out, &r);
    }
    return 0;
}
