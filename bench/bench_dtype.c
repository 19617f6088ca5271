/* Decoding in half-precision storage: one query row (M = 1, bottom-right) over a long KV cache,
 * Q, K, V and O stored as float32, float16 and bfloat16, measured alternately (one run of each
 * storage per round, so that a shared machine's load falls on all of them alike). Decoding reads
 * all of K and V once per step: bandwidth-bound, so 2-byte storage should approach 2x the
 * float32 steps per second. Then the seed op with x and q stored the three ways, measured the
 * same way: its scores alone (one read of x: bandwidth-bound) and the whole query pipeline
 * (scores, softmax over n, context with v = x: x read twice, the softmax float32 either way).
 *
 *   bench_dtype [N] [D] [ROUNDS] [SEED_N] [SEED_D]
 *   (defaults 32768 128 15 1048576 64; decode B = 1, Hq = 32, Hkv = 8; N or SEED_N 0 skips)
 *
 * One row per kernel shape (the device's CPU-shaped and GPU-shaped kernels) and storage:
 * steps per second (median over the rounds, bench_alternate_ms) with its range, the K/V bytes
 * read per step and GB/s, and the ratio to float32 of the medians (in brackets the extremes:
 * slowest float32 over fastest this, fastest over slowest). Device buffers, enqueue + finish
 * per step. */
#include "bench.h"
#include "clattn.h"
#include "dtype.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HQ       32
#define HKV      8
#define STORAGES 3

static const clattn_dtype storages[STORAGES] = {CLATTN_F32, CLATTN_F16, CLATTN_BF16};
static const char *const names[STORAGES] = {"f32", "f16", "bf16"};

/* Random data in [-1, 1) stored as dtype (host/core/dtype.h rounds it). */
static void *make(clattn_dtype dtype, size_t count, uint64_t *seed) {
    float *x = malloc(count * sizeof *x);
    void *out = malloc(count * clattn_dtype_size(dtype));
    if (!x || !out) {
        free(x);
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        *seed ^= *seed << 13, *seed ^= *seed >> 7, *seed ^= *seed << 17;
        x[i] = (float)((*seed >> 40) * (2.0 / 16777216.0)) - 1.0f;
    }
    clattn__dtype_narrow(dtype, x, out, count);
    free(x);
    return out;
}

typedef struct storage_run {
    clattn_handle *h;
    clattn_attention_desc desc;
    cl_mem q, k, v, o;
} storage_run;

static cl_mem upload(clattn_handle *h, const void *data, size_t bytes) {
    cl_int err;
    return clCreateBuffer(clattn_handle_context(h), CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes,
                          (void *)data, &err);
}

/* One decoding step (bench_run_fn): enqueue and finish. */
static int step(const void *problem) {
    const storage_run *r = problem;
    return clattn_enqueue_attention(r->h, NULL, &r->desc, r->q, r->k, r->v, NULL, r->o, NULL, 0,
                                    NULL, NULL) ||
           clFinish(clattn_handle_queue(r->h));
}

/* A handle on the default device that plans the given kernel shape, or NULL (said on stderr). */
static clattn_handle *open_handle(clattn_variant variant) {
    clattn_options options;
    clattn_options_init(&options);
    options.variant = variant;
    clattn_handle *h = NULL;
    if (clattn_handle_create(&options, &h)) {
        fprintf(stderr, "no handle: %s\n", clattn_last_error_message());
        return NULL;
    }
    return h;
}

static int bench_variant(clattn_variant variant, size_t n, size_t d, int rounds) {
    clattn_handle *h = open_handle(variant);
    if (!h) return 1;
    const char *shape = variant == CLATTN_VARIANT_GPU ? "GPU shape" : "CPU shape";
    storage_run runs[STORAGES];
    memset(runs, 0, sizeof runs);
    int rc = 0;
    for (int s = 0; s < STORAGES && !rc; s++) {
        uint64_t seed = 0x9e3779b97f4a7c15ull; /* the same draws for every storage */
        runs[s].h = h;
        clattn_attention_desc *desc = &runs[s].desc;
        clattn_attention_desc_init(desc, 1, HQ, HKV, 1, n, d, d);
        desc->causal = CLATTN_CAUSAL_BOTTOM_RIGHT;
        desc->q_dtype = desc->k_dtype = desc->v_dtype = desc->o_dtype = storages[s];
        const size_t size = clattn_dtype_size(storages[s]);
        void *q = make(storages[s], HQ * d, &seed), *k = make(storages[s], HKV * n * d, &seed);
        void *v = make(storages[s], HKV * n * d, &seed);
        if (q && k && v) {
            runs[s].q = upload(h, q, HQ * d * size);
            runs[s].k = upload(h, k, HKV * n * d * size);
            runs[s].v = upload(h, v, HKV * n * d * size);
            runs[s].o = upload(h, q, HQ * d * size);
        }
        free(q), free(k), free(v);
        if (!runs[s].q || !runs[s].k || !runs[s].v || !runs[s].o) rc = 1;
    }
    const void *problems[STORAGES] = {&runs[0], &runs[1], &runs[2]};
    double *ms = calloc((size_t)STORAGES * (size_t)rounds, sizeof *ms);
    if (!rc && (!ms || bench_alternate_ms(step, problems, STORAGES, rounds, ms))) {
        fprintf(stderr, "%s: %s\n", shape, clattn_last_error_message());
        rc = 1;
    }
    const double *f32 = ms; /* sorted: median at rounds / 2, range at 0 and rounds - 1 */
    for (int s = 0; s < STORAGES && !rc; s++) {
        const double *t = ms + s * rounds, med = t[rounds / 2];
        const double bytes = 2.0 * HKV * n * d * (double)clattn_dtype_size(storages[s]);
        printf("%-9s  %-4s  %8.2f steps/s (%.2f..%.2f)  %6.1f MB K+V  %6.2f GB/s  x%.2f vs f32 "
               "(%.2f..%.2f)\n",
               shape, names[s], 1e3 / med, 1e3 / t[rounds - 1], 1e3 / t[0], bytes / 1e6,
               bytes / med / 1e6, f32[rounds / 2] / med, f32[0] / t[rounds - 1],
               f32[rounds - 1] / t[0]);
    }
    for (int s = 0; s < STORAGES; s++) {
        cl_mem m[4] = {runs[s].q, runs[s].k, runs[s].v, runs[s].o};
        for (int i = 0; i < 4; i++)
            if (m[i]) clReleaseMemObject(m[i]);
    }
    free(ms);
    clattn_handle_destroy(h);
    return rc;
}

/* ---- the seed op ------------------------------------------------------------------------ */
/* The seed rows: the three storages and float16 read with native half loads
 * (CLATTN_NATIVE_HALF=1; the same program as f16 where the device lacks cl_khr_fp16). */
#define SEED_RUNS 4
static const clattn_dtype seed_storages[SEED_RUNS] = {CLATTN_F32, CLATTN_F16, CLATTN_BF16,
                                                      CLATTN_F16};
static const char *const seed_names[SEED_RUNS] = {"f32", "f16", "bf16", "f16n"};

typedef struct seed_run {
    clattn_handle *h;
    size_t n, d;
    bool pipeline;    /* scores, softmax and context; else the scores alone */
    bool native_half; /* CLATTN_NATIVE_HALF=1 for this run's plans, else 0 */
    clattn_seed_dtypes dtypes;
    cl_mem x, q, scores, weights, context;
} seed_run;

/* One query (bench_run_fn): its kernels enqueued, then finish. */
static int seed_step(const void *problem) {
    const seed_run *r = problem;
    setenv("CLATTN_NATIVE_HALF", r->native_half ? "1" : "0", 1); /* read by each plan */
    if (clattn_enqueue_scores_ex(r->h, NULL, r->n, r->d, 0.125f, r->x, 0, r->q, 0, r->scores, 0,
                                 &r->dtypes, 0, NULL, NULL))
        return 1;
    if (r->pipeline && (clattn_enqueue_normalize(r->h, NULL, CLATTN_NORM_SOFTMAX, r->n, r->scores,
                                                 0, r->weights, 0, 0, NULL, NULL) ||
                        clattn_enqueue_context_ex(r->h, NULL, r->n, r->d, r->weights, 0, r->x, 0,
                                                  r->context, 0, &r->dtypes, 0, NULL, NULL)))
        return 1;
    return clFinish(clattn_handle_queue(r->h)) != CL_SUCCESS;
}

static int bench_seed(clattn_variant variant, size_t n, size_t d, int rounds) {
    clattn_handle *h = open_handle(variant);
    if (!h) return 1;
    const char *shape = variant == CLATTN_VARIANT_GPU ? "GPU shape" : "CPU shape";
    seed_run runs[SEED_RUNS];
    memset(runs, 0, sizeof runs);
    int rc = 0;
    for (int s = 0; s < SEED_RUNS && !rc; s++) {
        uint64_t seed = 0x9e3779b97f4a7c15ull;
        const clattn_dtype t = seed_storages[s];
        runs[s] = (seed_run){.h = h, .n = n, .d = d, .native_half = s == 3, .dtypes = {t, t, t}};
        void *x = make(t, n * d, &seed), *q = make(t, d, &seed);
        if (x && q) {
            runs[s].x = upload(h, x, n * d * clattn_dtype_size(t));
            runs[s].q = upload(h, q, d * clattn_dtype_size(t));
            cl_int err;
            const cl_context ctx = clattn_handle_context(h);
            runs[s].scores = clCreateBuffer(ctx, CL_MEM_READ_WRITE, n * sizeof(float), NULL, &err);
            runs[s].weights = clCreateBuffer(ctx, CL_MEM_READ_WRITE, n * sizeof(float), NULL, &err);
            runs[s].context = clCreateBuffer(ctx, CL_MEM_READ_WRITE, d * sizeof(float), NULL, &err);
        }
        free(x), free(q);
        if (!runs[s].x || !runs[s].q || !runs[s].scores || !runs[s].weights || !runs[s].context)
            rc = 1;
    }
    const void *problems[SEED_RUNS] = {&runs[0], &runs[1], &runs[2], &runs[3]};
    double *ms = calloc((size_t)SEED_RUNS * (size_t)rounds, sizeof *ms);
    for (int pipeline = 0; pipeline < 2 && !rc; pipeline++) {
        for (int s = 0; s < SEED_RUNS; s++)
            runs[s].pipeline = pipeline;
        if (!ms || bench_alternate_ms(seed_step, problems, SEED_RUNS, rounds, ms)) {
            fprintf(stderr, "seed %s: %s\n", shape, clattn_last_error_message());
            rc = 1;
        }
        const double *f32 = ms; /* sorted: median at rounds / 2, range at 0 and rounds - 1 */
        for (int s = 0; s < SEED_RUNS && !rc; s++) {
            const double *t = ms + s * rounds, med = t[rounds / 2];
            const double bytes =
                (pipeline ? 2.0 : 1.0) * n * d * clattn_dtype_size(seed_storages[s]);
            printf("%-8s %-9s  %-4s  %8.2f ms (%.2f..%.2f)  %6.1f MB of x  %6.2f GB/s  x%.2f vs "
                   "f32 (%.2f..%.2f)\n",
                   pipeline ? "pipeline" : "scores", shape, seed_names[s], med, t[0], t[rounds - 1],
                   bytes / 1e6, bytes / med / 1e6, f32[rounds / 2] / med, f32[0] / t[rounds - 1],
                   f32[rounds - 1] / t[0]);
        }
    }
    for (int s = 0; s < SEED_RUNS; s++) {
        cl_mem m[5] = {runs[s].x, runs[s].q, runs[s].scores, runs[s].weights, runs[s].context};
        for (int i = 0; i < 5; i++)
            if (m[i]) clReleaseMemObject(m[i]);
    }
    free(ms);
    clattn_handle_destroy(h);
    return rc;
}

int main(int argc, char **argv) {
    const size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 32768;
    const size_t d = argc > 2 ? strtoul(argv[2], NULL, 10) : 128;
    const int rounds = argc > 3 ? atoi(argv[3]) : 15;
    const size_t seed_n = argc > 4 ? strtoul(argv[4], NULL, 10) : 1048576;
    const size_t seed_d = argc > 5 ? strtoul(argv[5], NULL, 10) : 64;
    if ((n && (!d || d > 256)) || (seed_n && !seed_d) || rounds < 1) {
        fprintf(stderr, "usage: bench_dtype [N] [D <= 256] [ROUNDS >= 1] [SEED_N] [SEED_D]\n");
        return 1;
    }
    int rc = 0;
    if (n) {
        printf("decode B=1 Hq=%d Hkv=%d M=1 N=%zu D=%zu, bottom-right; %d alternating rounds\n", HQ,
               HKV, n, d, rounds);
        rc |= bench_variant(CLATTN_VARIANT_CPU, n, d, rounds);
        rc |= bench_variant(CLATTN_VARIANT_GPU, n, d, rounds);
    }
    if (seed_n) {
        printf("seed op n=%zu d=%zu: scores alone, then the pipeline (scores, softmax, context, "
               "v = x); %d alternating rounds\n",
               seed_n, seed_d, rounds);
        rc |= bench_seed(CLATTN_VARIANT_CPU, seed_n, seed_d, rounds);
        rc |= bench_seed(CLATTN_VARIANT_GPU, seed_n, seed_d, rounds);
    }
    return rc;
}
