/* Soak test: several threads and handles run every operation with random valid shapes for a
 * bounded time; every result is checked against the double-precision reference, and the
 * resident memory and the OpenCL references the process holds (counted by the fault shim,
 * preloaded without faults) must be flat from the end of the first part to the end of the last.
 *
 *   soak [SECONDS [THREADS]]     defaults 60 and 3 (threads 0, 2, 4.. share handle A, the
 *                                others handle B, each handle with its own context)
 *
 * Programs are built per (context, options) and kept, so a warm-up first runs every shape
 * class the random draws can produce (attention: head dims {3/5, 64}, rows {1, 40}, 1 or 2
 * query heads, both norms; MHA: 5 or 24 tokens): after it, no new program may appear either. */
#define _GNU_SOURCE /* pthread barriers, clock_gettime, RTLD_DEFAULT */
#include "clattn.h"

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PARTS     4
#define MAX_ITEMS (1u << 17) /* floats per array: keeps each call well under a millisecond */
#define KINDS     6
static const char *const kind_names[KINDS] = {"contexts", "queues",  "buffers",
                                              "programs", "kernels", "events"};

typedef struct rng {
    uint64_t s;
} rng;
static uint64_t next_u64(rng *r) { /* splitmix64 */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static size_t pick(rng *r, size_t lo, size_t hi) { /* in [lo, hi] */
    return lo + (size_t)(next_u64(r) % (hi - lo + 1));
}
static void fill(rng *r, float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (float)((next_u64(r) >> 40) * 0x1.0p-24);
}

/* |got - want| <= atol + rtol |want| everywhere; infinities and NaN only where the reference
 * has them. */
static bool close_to(const float *got, const float *want, size_t n, double atol, double rtol) {
    for (size_t i = 0; i < n; i++) {
        if (got[i] == want[i] || (isnan(want[i]) && isnan(got[i]))) continue; /* -inf LSE too */
        if (!(fabs((double)got[i] - want[i]) <= atol + rtol * fabs((double)want[i]))) return false;
    }
    return true;
}

typedef struct worker {
    int id;
    clattn_handle *handle;
    rng r;
    float *a, *b, *c, *d, *e, *f, *g, *w[8]; /* MAX_ITEMS floats each */
    unsigned char *mask;
    long calls, failures;
    char first_failure[512];
} worker;

static void fail(worker *t, const char *op, clattn_status st) {
    t->failures++;
    if (!t->first_failure[0])
        snprintf(t->first_failure, sizeof t->first_failure, "%s: %s (%s)", op,
                 st ? clattn_status_string(st) : "wrong result",
                 st ? clattn_last_error_message() : "");
}

/* Records a failure and leaves the calling check. */
#define FAIL(t, op, st)                                                                            \
    do {                                                                                           \
        fail(t, op, st);                                                                           \
        return;                                                                                    \
    } while (0)

static void run_query_ops(worker *t) {
    const size_t n = pick(&t->r, 1, 3000), d = pick(&t->r, 1, 40);
    const clattn_norm norm = (clattn_norm)pick(&t->r, 0, 2);
    const float scale = 1.0f / sqrtf((float)d);
    fill(&t->r, t->a, n * d, 0.0f, 1.0f); /* positive: the SUM norm's sum stays away from 0 */
    fill(&t->r, t->b, d, 0.0f, 1.0f);
    clattn_status st;
    clattn_ref_scores(n, d, scale, t->a, t->b, t->e);
    if ((st = clattn_scores(t->handle, n, d, scale, t->a, t->b, t->c))) FAIL(t, "scores", st);
    if (!close_to(t->c, t->e, n, 1e-5, 1e-5)) FAIL(t, "scores", 0);
    clattn_ref_normalize(norm, n, t->e, t->f);
    if ((st = clattn_normalize(t->handle, norm, n, t->e, t->d))) FAIL(t, "normalize", st);
    if (!close_to(t->d, t->f, n, 1e-7, 1e-4)) FAIL(t, "normalize", 0);
    clattn_ref_context(n, d, t->f, t->a, t->g);
    if ((st = clattn_context(t->handle, n, d, t->f, t->a, t->c))) FAIL(t, "context", st);
    if (!close_to(t->c, t->g, d, 1e-5, 1e-4)) FAIL(t, "context", 0);
    if ((st = clattn_query_attention(t->handle, n, d, t->a, t->b, NULL, scale, norm, t->c, t->d,
                                     t->f)))
        FAIL(t, "query_attention", st);
    if (!close_to(t->c, t->e, n, 1e-5, 1e-5) || !close_to(t->f, t->g, d, 1e-5, 1e-3))
        FAIL(t, "query_attention", 0);
    t->calls += 4;
}

/* A random attention problem of the shape class (wide: d/dv 64, else 3/5; rows 1 or 40;
 * kv_heads q_heads or 1: a GQA group of one-row heads shares a work-group, its own program). */
static void attention_desc(worker *t, clattn_attention_desc *desc, bool wide, bool many_rows,
                           size_t q_heads, size_t kv_heads, clattn_norm norm) {
    const size_t n = pick(&t->r, 1, 300), m = many_rows ? 40 : 1;
    clattn_attention_desc_init(desc, 1, q_heads, kv_heads, m, n, wide ? 64 : 3, wide ? 64 : 5);
    desc->norm = norm;
    desc->causal = (clattn_causal)pick(&t->r, 0, 2);
    desc->mask_kind = (clattn_mask_kind)pick(&t->r, 0, 2);
    desc->kv_splits = pick(&t->r, 0, 3);
}

static void run_attention(worker *t, bool wide, bool many_rows, size_t q_heads, size_t kv_heads,
                          clattn_norm norm) {
    clattn_attention_desc desc;
    attention_desc(t, &desc, wide, many_rows, q_heads, kv_heads, norm);
    const size_t q_n = desc.q_heads * desc.m * desc.d, kv_n = desc.kv_heads * desc.n * desc.d;
    const size_t v_n = desc.kv_heads * desc.n * desc.dv, o_n = desc.q_heads * desc.m * desc.dv;
    const size_t mask_n = desc.q_heads * desc.m * desc.n;
    /* SUM divides by the sum of the weights: positive scores keep it well conditioned. */
    const float lo = norm == CLATTN_NORM_SUM ? 0.0f : -1.0f;
    fill(&t->r, t->a, q_n, lo, 1.0f);
    fill(&t->r, t->b, kv_n, lo, 1.0f);
    fill(&t->r, t->c, v_n, -1.0f, 1.0f);
    const void *mask = NULL;
    if (desc.mask_kind == CLATTN_MASK_BOOLEAN) {
        for (size_t i = 0; i < mask_n; i++)
            t->mask[i] = pick(&t->r, 0, 3) != 0;
        mask = t->mask;
    } else if (desc.mask_kind == CLATTN_MASK_ADDITIVE) {
        for (size_t i = 0; i < mask_n; i++)
            t->g[i] = pick(&t->r, 0, 3) ? 0.0f : -INFINITY;
        mask = t->g;
    }
    const bool lse = pick(&t->r, 0, 1);
    clattn_status st;
    if ((st = clattn_ref_attention(&desc, t->a, t->b, t->c, mask, t->e, lse ? t->w[1] : NULL)))
        FAIL(t, "reference attention", st);
    if ((st = clattn_attention(t->handle, &desc, t->a, t->b, t->c, mask, t->d,
                               lse ? t->w[0] : NULL)))
        FAIL(t, "attention", st);
    if (!close_to(t->d, t->e, o_n, 2e-5, 1e-3) ||
        (lse && !close_to(t->w[0], t->w[1], desc.q_heads * desc.m, 1e-4, 1e-4))) {
        size_t worst = 0;
        for (size_t i = 0; i < o_n; i++)
            if (fabsf(t->d[i] - t->e[i]) > fabsf(t->d[worst] - t->e[worst])) worst = i;
        char what[200];
        snprintf(what, sizeof what,
                 "attention (hq %zu hk %zu m %zu n %zu d %zu dv %zu norm %d causal %d mask %d "
                 "splits %zu lse %d: o[%zu] %g, want %g)",
                 desc.q_heads, desc.kv_heads, desc.m, desc.n, desc.d, desc.dv, (int)desc.norm,
                 (int)desc.causal, (int)desc.mask_kind, desc.kv_splits, (int)lse, worst,
                 (double)t->d[worst], (double)t->e[worst]);
        FAIL(t, what, 0);
    }
    if ((st = clattn_ref_attention_weights(&desc, t->a, t->b, mask, t->e)))
        FAIL(t, "reference weights", st);
    if ((st = clattn_attention_weights(t->handle, &desc, t->a, t->b, mask, t->d)))
        FAIL(t, "attention_weights", st);
    if (!close_to(t->d, t->e, mask_n, 1e-6, 1e-3)) FAIL(t, "attention_weights", 0);
    t->calls += 2;
}

/* Linear's K and column counts come from short lists: its packing kernel leaves the local size
 * to the driver, and PoCL compiles (and keeps) a kernel per new global size, ~40 ms and some
 * memory each, which a fully random K would turn into steady growth that is not clattn's. */
static const size_t linear_k[] = {1, 33, 90}, linear_cols[] = {1, 40, 70};

static void run_linear_shape(worker *t, size_t cols, size_t k) {
    const size_t rows = pick(&t->r, 1, 70);
    fill(&t->r, t->a, rows * k, -1.0f, 1.0f);
    fill(&t->r, t->b, cols * k, -1.0f, 1.0f);
    fill(&t->r, t->c, cols, -1.0f, 1.0f);
    const float *bias = pick(&t->r, 0, 1) ? t->c : NULL;
    clattn_status st;
    clattn_ref_linear(rows, cols, k, t->a, t->b, bias, t->e);
    if ((st = clattn_linear(t->handle, rows, cols, k, t->a, t->b, bias, t->d)))
        FAIL(t, "linear", st);
    if (!close_to(t->d, t->e, rows * cols, 1e-4, 1e-4)) FAIL(t, "linear", 0);
    t->calls++;
}

static void run_linear(worker *t) {
    run_linear_shape(t, linear_cols[pick(&t->r, 0, 2)], linear_k[pick(&t->r, 0, 2)]);
}

static void run_mha(worker *t, bool long_sequence) {
    clattn_mha_desc desc = {.batch = 1,
                            .tokens = long_sequence ? 24 : 5,
                            .d_in = linear_k[pick(&t->r, 0, 2)],
                            .d_out = 32,
                            .heads = 2,
                            .causal = (int)pick(&t->r, 0, 1)};
    const size_t proj = desc.d_out * desc.d_in;
    for (int i = 0; i < 8; i++)
        fill(&t->r, t->w[i],
             i == 3  ? desc.d_out * desc.d_out
             : i < 4 ? proj
                     : desc.d_out,
             -0.3f, 0.3f);
    clattn_mha_weights weights = {t->w[0], t->w[1], t->w[2], t->w[3],
                                  t->w[4], NULL,    t->w[6], pick(&t->r, 0, 1) ? t->w[7] : NULL,
                                  NULL};
    const size_t out_n = desc.batch * desc.tokens * desc.d_out;
    fill(&t->r, t->a, desc.batch * desc.tokens * desc.d_in, -1.0f, 1.0f);
    clattn_status st;
    if ((st = clattn_ref_mha_forward(&desc, &weights, t->a, t->e))) FAIL(t, "reference mha", st);
    if ((st = clattn_mha_forward(t->handle, &desc, &weights, t->a, t->d)))
        FAIL(t, "mha_forward", st);
    if (!close_to(t->d, t->e, out_n, 1e-4, 1e-3)) FAIL(t, "mha_forward", 0);
    t->calls++;
}

/* Every shape class once, so that every program the random draws need is built. */
static void warm_up(worker *t) {
    for (int wide = 0; wide < 2; wide++)
        for (int rows = 0; rows < 2; rows++)
            for (size_t heads = 1; heads <= 2; heads++)
                for (size_t kv_heads = 1; kv_heads <= heads; kv_heads++)
                    for (int norm = CLATTN_NORM_SUM; norm <= CLATTN_NORM_SOFTMAX; norm++)
                        run_attention(t, wide, rows, heads, kv_heads, (clattn_norm)norm);
    run_mha(t, false);
    run_mha(t, true);
    run_query_ops(t);
    for (int c = 0; c < 3; c++)
        for (int k = 0; k < 3; k++)
            run_linear_shape(t, linear_cols[c], linear_k[k]);
    for (int k = 0; k < 3; k++) /* MHA's projections: K = d_in from linear_k */
        run_linear_shape(t, 32, linear_k[k]);
}

static void run_one(worker *t) {
    switch (pick(&t->r, 0, 3)) {
    case 0:
        run_query_ops(t);
        break;
    case 1: {
        const size_t q_heads = pick(&t->r, 1, 2);
        run_attention(t, pick(&t->r, 0, 1), pick(&t->r, 0, 1), q_heads,
                      pick(&t->r, 0, 1) ? q_heads : 1,
                      (clattn_norm)pick(&t->r, CLATTN_NORM_SUM, CLATTN_NORM_SOFTMAX));
        break;
    }
    case 2:
        run_linear(t);
        break;
    default:
        run_mha(t, pick(&t->r, 0, 1));
        break;
    }
}

static pthread_barrier_t barrier;
static double deadline[PARTS];
static worker *workers;
static int threads;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *thread_main(void *arg) {
    worker *t = arg;
    pthread_barrier_wait(&barrier); /* warm-up done */
    for (int part = 0; part < PARTS; part++) {
        while (now() < deadline[part])
            run_one(t);
        pthread_barrier_wait(&barrier); /* main measures */
        pthread_barrier_wait(&barrier); /* main measured */
    }
    return NULL;
}

static long resident_kib(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

int main(int argc, char **argv) {
    const double seconds = argc > 1 ? atof(argv[1]) : 60.0;
    threads = argc > 2 ? atoi(argv[2]) : 3;
    if (seconds <= 0 || threads < 1 || threads > 16) {
        fprintf(stderr, "usage: soak [SECONDS [THREADS (1-16)]]\n");
        return 2;
    }
    int (*live_objects)(long *, int) =
        (int (*)(long *, int))dlsym(RTLD_DEFAULT, "clattn_fault_live_objects");
    if (!live_objects) {
        fprintf(stderr, "soak: run with LD_PRELOAD=libclattn_fault_shim.so (it counts the "
                        "OpenCL objects)\n");
        return 2;
    }
    clattn_handle *handles[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++)
        if (clattn_handle_create(NULL, &handles[i])) {
            fprintf(stderr, "soak: no handle: %s\n", clattn_last_error_message());
            return 1;
        }
    printf("soak: %d threads on 2 handles (%s), %.0f s in %d parts\n", threads,
           clattn_handle_device_name(handles[0]), seconds, PARTS);
    workers = calloc((size_t)threads, sizeof *workers);
    for (int i = 0; i < threads; i++) {
        worker *t = &workers[i];
        t->id = i;
        t->handle = handles[i % 2];
        t->r.s = 1000u + (uint64_t)i; /* fixed seeds */
        float **arrays[] = {&t->a, &t->b, &t->c, &t->d, &t->e, &t->f, &t->g};
        for (size_t j = 0; j < sizeof arrays / sizeof arrays[0]; j++)
            *arrays[j] = malloc(MAX_ITEMS * sizeof(float));
        for (int j = 0; j < 8; j++)
            t->w[j] = malloc(MAX_ITEMS * sizeof(float));
        t->mask = malloc(MAX_ITEMS);
    }
    /* Warm-up: one thread per handle builds every program it will need. */
    const double start = now();
    warm_up(&workers[0]);
    if (threads > 1) warm_up(&workers[1]);
    printf("soak: warm-up %.1f s\n", now() - start);

    pthread_barrier_init(&barrier, NULL, (unsigned)threads + 1);
    pthread_t *ids = calloc((size_t)threads, sizeof *ids);
    for (int i = 0; i < threads; i++)
        pthread_create(&ids[i], NULL, thread_main, &workers[i]);
    const double t0 = now();
    for (int part = 0; part < PARTS; part++)
        deadline[part] = t0 + seconds * (part + 1) / PARTS;
    pthread_barrier_wait(&barrier);
    long first_rss = 0, first_live[KINDS] = {0}, rss = 0, live[KINDS] = {0};
    int bad = 0;
    for (int part = 0; part < PARTS; part++) {
        pthread_barrier_wait(&barrier); /* every thread between calls */
        rss = resident_kib();
        live_objects(live, KINDS);
        long calls = 0, failures = 0;
        for (int i = 0; i < threads; i++)
            calls += workers[i].calls, failures += workers[i].failures;
        printf("soak: part %d at %5.1f s: %ld calls, %ld failures, RSS %ld KiB, live", part + 1,
               now() - t0, calls, failures, rss);
        for (int k = 0; k < KINDS; k++)
            printf(" %s %ld", kind_names[k], live[k]);
        printf("\n");
        if (part == 0) {
            first_rss = rss;
            memcpy(first_live, live, sizeof live);
        }
        pthread_barrier_wait(&barrier);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(ids[i], NULL);
    /* The last part against the first: no OpenCL reference more, memory within 5% or 8 MiB
     * (allocator and driver caches breathe). */
    for (int k = 0; k < KINDS; k++)
        if (live[k] != first_live[k]) {
            printf("soak: FAIL: live %s %ld after the first part, %ld at the end\n", kind_names[k],
                   first_live[k], live[k]);
            bad = 1;
        }
    const long allowed = first_rss / 20 > 8192 ? first_rss / 20 : 8192;
    if (rss - first_rss > allowed) {
        printf("soak: FAIL: RSS grew from %ld to %ld KiB (allowed %ld)\n", first_rss, rss, allowed);
        bad = 1;
    }
    long calls = 0, failures = 0;
    for (int i = 0; i < threads; i++) {
        calls += workers[i].calls, failures += workers[i].failures;
        if (workers[i].failures)
            printf("soak: FAIL: thread %d: %ld wrong or failed calls, first: %s\n", i,
                   workers[i].failures, workers[i].first_failure);
    }
    if (failures) bad = 1;
    printf("soak: %ld calls checked in %.0f s, %ld failures; RSS %ld -> %ld KiB: %s\n", calls,
           seconds, failures, first_rss, rss, bad ? "FAILED" : "passed");
    for (int i = 0; i < 2; i++)
        clattn_handle_destroy(handles[i]);
    for (int i = 0; i < threads; i++) {
        worker *t = &workers[i];
        free(t->a), free(t->b), free(t->c), free(t->d), free(t->e), free(t->f), free(t->g);
        for (int j = 0; j < 8; j++)
            free(t->w[j]);
        free(t->mask);
    }
    free(workers);
    free(ids);
    pthread_barrier_destroy(&barrier);
    return bad;
}
