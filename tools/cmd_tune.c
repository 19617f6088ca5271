/* clattn tune: searches the attention kernel's tile on the current device, checks every
 * candidate against the CPU reference, times it, and writes the fastest per head dim to the
 * device's tuned table in the cache folder (host/opencl/tune_table.c), which every later
 * handle on that device and driver uses (precedence: host/plan/tuning.h). */
#include "cli.h"
#include "bench.h"
#include "planners.h"
#include "tune_table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEAD_DIMS         8
#define MAX_CANDIDATES        128
#define TOLERANCE             1e-4 /* outputs are averages of values in [-1, 1]; float32 error ~1e-6 */
#define SECONDS_PER_CANDIDATE 0.5
#define FINALISTS             3 /* timed again beside the default */

typedef struct tune_problem {
    clattn_attention_desc desc;
    float *q, *k, *v, *o, *expected;
    size_t q_len, kv_len;
    cl_mem bq, bk, bv, bo;
} tune_problem;

typedef struct tune_args {
    const char *device;
    clattn_variant variant;
    size_t dims[MAX_HEAD_DIMS], ndims, m, n, heads;
    bool quick, show;
} tune_args;

static int usage(FILE *out) {
    fprintf(out,
            "usage: clattn tune [--op attention] [--device SEL] [--variant cpu|gpu] [--d D]...\n"
            "                   [--m M] [--n N] [--heads H] [--quick] [--show]\n\n"
            "Searches the fused attention's tile on the device (CPU shape: rows, key vectors,\n"
            "output chunks and row tiles; GPU shape: work-group, rows, keys and rows per\n"
            "work-item), keeping candidates that fit the device's limits and match the CPU\n"
            "reference, prints each one's time, the winner and its gain over the default, and\n"
            "writes the winners per head dim D (default 64 and 128) to the device's tuned\n"
            "table in the cache folder (CLATTN_CACHE_DIR, else ~/.cache/clattn), which later\n"
            "handles on this device and driver use. Problem: B = 1, H heads (default 2),\n"
            "M = N = 2048 unless --m/--n. --quick: a few candidates at M = N = 256, D = 64,\n"
            "in seconds. --show: the table in use and the tile planned at each D; no search.\n"
            "CLATTN_ATTENTION_CPU_TILE and CLATTN_ATTENTION_GPU_TILE win over the table, so\n"
            "tune ignores them.\n");
    return out == stdout ? 0 : 2;
}

static int parse_count(const char *name, const char *value, size_t *out) {
    if (!cli_parse_size(value, out) || *out < 1 || *out > 65536)
        return cli_error("%s %s: 1 to 65536", name, value);
    return 0;
}

/* 0: run; -1: --help printed; else the exit status of an error. */
static int parse_args(int argc, char **argv, tune_args *a) {
    memset(a, 0, sizeof *a);
    a->variant = CLATTN_VARIANT_AUTO;
    for (int i = 1; i < argc; i++) {
        const char *value;
        size_t n;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return usage(stdout) - 1;
        if (strcmp(argv[i], "--quick") == 0) {
            a->quick = true;
        } else if (strcmp(argv[i], "--show") == 0) {
            a->show = true;
        } else if (cli_option(argc, argv, &i, "--device", &value)) {
            a->device = value;
        } else if (cli_option(argc, argv, &i, "--op", &value)) {
            if (strcmp(value, "attention") != 0)
                return cli_error("--op %s: only attention is tuned (the other operations keep "
                                 "host/plan/tuning.c's values)",
                                 value);
        } else if (cli_option(argc, argv, &i, "--variant", &value)) {
            if (strcmp(value, "cpu") == 0)
                a->variant = CLATTN_VARIANT_CPU;
            else if (strcmp(value, "gpu") == 0)
                a->variant = CLATTN_VARIANT_GPU;
            else
                return cli_error("--variant %s: cpu or gpu", value);
        } else if (cli_option(argc, argv, &i, "--d", &value)) {
            if (!cli_parse_size(value, &n) || n < 1 || n > CLATTN_TUNED_MAX_HEAD_DIM)
                return cli_error("--d %s: 1 to %u", value, CLATTN_TUNED_MAX_HEAD_DIM);
            if (a->ndims == MAX_HEAD_DIMS) return cli_error("at most %d --d", MAX_HEAD_DIMS);
            a->dims[a->ndims++] = n;
        } else if (cli_option(argc, argv, &i, "--m", &value)) {
            if (parse_count("--m", value, &a->m)) return 1;
        } else if (cli_option(argc, argv, &i, "--n", &value)) {
            if (parse_count("--n", value, &a->n)) return 1;
        } else if (cli_option(argc, argv, &i, "--heads", &value)) {
            if (parse_count("--heads", value, &a->heads)) return 1;
        } else {
            return usage(stderr);
        }
    }
    if (a->ndims == 0) {
        a->dims[a->ndims++] = 64;
        if (!a->quick) a->dims[a->ndims++] = 128;
    }
    if (!a->m) a->m = a->quick ? 256 : 2048;
    if (!a->n) a->n = a->quick ? 256 : 2048;
    if (!a->heads) a->heads = a->quick ? 1 : 2;
    return 0;
}

static void problem_free(tune_problem *p) {
    cl_mem *mems[] = {&p->bq, &p->bk, &p->bv, &p->bo};
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
        if (*mems[i]) clReleaseMemObject(*mems[i]), *mems[i] = NULL;
    free(p->q), free(p->k), free(p->v), free(p->o), free(p->expected);
    memset(p, 0, sizeof *p);
}

/* Random Q, K, V in [-1, 1] (fixed seed), the reference's O, and device buffers. */
static int problem_init(clattn_handle *h, const tune_args *a, size_t d, tune_problem *p) {
    memset(p, 0, sizeof *p);
    clattn_attention_desc_init(&p->desc, 1, a->heads, a->heads, a->m, a->n, d, d);
    p->desc.scale = 1.0f / sqrtf((float)d);
    p->desc.norm = CLATTN_NORM_SOFTMAX;
    p->q_len = a->heads * a->m * d;
    p->kv_len = a->heads * a->n * d;
    p->q = malloc(p->q_len * sizeof(float));
    p->k = malloc(p->kv_len * sizeof(float));
    p->v = malloc(p->kv_len * sizeof(float));
    p->o = malloc(p->q_len * sizeof(float));
    p->expected = malloc(p->q_len * sizeof(float));
    if (!p->q || !p->k || !p->v || !p->o || !p->expected) return cli_error("out of memory");
    unsigned seed = 12345u + (unsigned)d;
    float *arrays[] = {p->q, p->k, p->v};
    const size_t lengths[] = {p->q_len, p->kv_len, p->kv_len};
    for (int t = 0; t < 3; t++)
        for (size_t i = 0; i < lengths[t]; i++) {
            seed = seed * 1664525u + 1013904223u;
            arrays[t][i] = (float)(seed >> 8) / (float)(1u << 23) - 1.0f;
        }
    clattn_status status =
        clattn_ref_attention(&p->desc, p->q, p->k, p->v, NULL, p->expected, NULL);
    if (status) return cli_status_error("the reference", status, NULL);
    cl_int err = CL_SUCCESS;
    cl_context context = clattn_handle_context(h);
    const cl_mem_flags in = CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
    p->bq = clCreateBuffer(context, in, p->q_len * sizeof(float), p->q, &err);
    if (!err) p->bk = clCreateBuffer(context, in, p->kv_len * sizeof(float), p->k, &err);
    if (!err) p->bv = clCreateBuffer(context, in, p->kv_len * sizeof(float), p->v, &err);
    if (!err)
        p->bo = clCreateBuffer(context, CL_MEM_WRITE_ONLY, p->q_len * sizeof(float), NULL, &err);
    if (err) return cli_error("creating the buffers failed (OpenCL error %d)", err);
    return 0;
}

/* One run on the device, finished. */
static clattn_status run_once(clattn_handle *h, tune_problem *p) {
    cl_command_queue queue = clattn_handle_queue(h);
    clattn_status status = clattn_enqueue_attention(h, queue, &p->desc, p->bq, p->bk, p->bv, NULL,
                                                    p->bo, NULL, 0, NULL, NULL);
    if (!status) status = clFinish(queue);
    return status;
}

/* Times the handle's current tuning: the result checked, then the median of runs within
 * the time budget. *ms is NAN when the candidate failed or is wrong. */
static void time_candidate(clattn_handle *h, tune_problem *p, bool quick, double *ms, double *err) {
    *ms = NAN, *err = NAN;
    clattn_status status = run_once(h, p); /* builds the program */
    if (!status)
        status = clEnqueueReadBuffer(clattn_handle_queue(h), p->bo, CL_TRUE, 0,
                                     p->q_len * sizeof(float), p->o, 0, NULL, NULL);
    if (status) return;
    *err = bench_max_abs_diff(p->o, p->expected, p->q_len);
    if (!(*err <= TOLERANCE)) return;
    double times[16];
    int reps = 0;
    const double budget = quick ? 0.05 : SECONDS_PER_CANDIDATE, start = bench_now();
    while (reps < (quick ? 3 : 16) && (reps < 3 || bench_now() - start < budget)) {
        const double t0 = bench_now();
        if (run_once(h, p)) return;
        times[reps++] = (bench_now() - t0) * 1e3;
    }
    *ms = bench_median(times, reps);
}

/* The candidates of the handle's shape (first the default, op 0), those that fit. */
static size_t candidates(const clattn_device_profile *profile, bool cpu, size_t d, bool quick,
                         clattn_tuned_entry *out) {
    /* --quick: one candidate beside the default, each a cold compile (1-15 s on PoCL). */
    static const unsigned cpu_quick[][4] = {{4, 2, 1, 2}};
    static const unsigned gpu_quick[][4] = {{128, 16, 32, 1}};
    size_t count = 0;
    out[count++] = (clattn_tuned_entry){.op = 0}; /* the default */
    const clattn_tuned_op op = cpu ? CLATTN_TUNED_ATTENTION_CPU : CLATTN_TUNED_ATTENTION_GPU;
    clattn_tuned_entry e = {.op = op, .head_d = (unsigned)d};
    if (quick) {
        for (size_t i = 0; i < 1; i++) {
            memcpy(e.value, cpu ? cpu_quick[i] : gpu_quick[i], sizeof e.value);
            if (clattn__attention_tuned_fits(profile, &e)) out[count++] = e;
        }
        return count;
    }
    if (cpu) {
        static const unsigned rows[] = {4, 6, 8}, kv[] = {2, 4}, vc[] = {1, 2}, tiles[] = {2, 4, 8};
        for (size_t r = 0; r < 3; r++)
            for (size_t k = 0; k < 2; k++)
                for (size_t v = 0; v < 2; v++)
                    for (size_t t = 0; t < 3 && count < MAX_CANDIDATES; t++) {
                        e.value[0] = rows[r], e.value[1] = kv[k], e.value[2] = vc[v];
                        e.value[3] = tiles[t];
                        if (clattn__attention_tuned_fits(profile, &e)) out[count++] = e;
                    }
    } else {
        static const unsigned wg[] = {64, 128, 256, 512}, bm[] = {16, 32, 64}, bn[] = {16, 32, 64},
                              rpt[] = {1, 2};
        for (size_t w = 0; w < 4; w++)
            for (size_t m = 0; m < 3; m++)
                for (size_t n = 0; n < 3; n++)
                    for (size_t r = 0; r < 2 && count < MAX_CANDIDATES; r++) {
                        e.value[0] = wg[w], e.value[1] = bm[m], e.value[2] = bn[n];
                        e.value[3] = rpt[r];
                        if (clattn__attention_tuned_fits(profile, &e)) out[count++] = e;
                    }
    }
    return count;
}

/* The tile the planner chooses for the problem under the handle's current tuning, as the
 * four values of an entry. */
static clattn_status planned_tile(const clattn_device_profile *profile,
                                  const clattn_attention_desc *desc, clattn_tuned_entry *e) {
    clattn_attention_plan plan;
    clattn_status status = clattn__plan_attention(profile, desc, &plan);
    if (status) return status;
    e->op = plan.cpu ? CLATTN_TUNED_ATTENTION_CPU : CLATTN_TUNED_ATTENTION_GPU;
    e->head_d = (unsigned)desc->d;
    const size_t v[4] = {plan.cpu ? plan.rows : plan.wg, plan.cpu ? plan.kv : plan.bm,
                         plan.cpu ? plan.vc : plan.bn, plan.cpu ? plan.tiles : plan.rpt};
    for (int i = 0; i < 4; i++)
        e->value[i] = (unsigned)v[i];
    return CLATTN_SUCCESS;
}

static const char *value_names(bool cpu) {
    return cpu ? "rows,kv,vc,tiles" : "wg,bm,bn,rpt";
}

/* --show: the tuned entries in use and the tile planned at each head dim. */
static int show(clattn_handle *h, const tune_args *a) {
    const clattn_device_profile *profile = clattn__handle_profile(h);
    char path[4096];
    printf("device: %s\ntable: %s\n", clattn_handle_device_name(h),
           clattn__tune_table_path(h, path, sizeof path) ? path : "(no cache folder)");
    for (unsigned i = 0; i < profile->tuned.count; i++) {
        const clattn_tuned_entry *e = &profile->tuned.entry[i];
        printf("entry: %s f32 d=%u %u,%u,%u,%u\n", clattn__tuned_op_name(e->op), e->head_d,
               e->value[0], e->value[1], e->value[2], e->value[3]);
    }
    for (size_t i = 0; i < a->ndims; i++) {
        clattn_attention_desc desc;
        clattn_attention_desc_init(&desc, 1, a->heads, a->heads, a->m, a->n, a->dims[i],
                                   a->dims[i]);
        clattn_tuned_entry e;
        clattn_status status = planned_tile(profile, &desc, &e);
        if (status) return cli_status_error("planning", status, h);
        const bool cpu = e.op == CLATTN_TUNED_ATTENTION_CPU;
        const char *env = getenv(cpu ? "CLATTN_ATTENTION_CPU_TILE" : "CLATTN_ATTENTION_GPU_TILE");
        unsigned v[4];
        const char *source = env && sscanf(env, "%u,%u,%u,%u", &v[0], &v[1], &v[2], &v[3]) == 4 &&
                                     memcmp(v, e.value, sizeof v) == 0
                                 ? "environment"
                             : clattn__tuned_find(&profile->tuned, e.op, e.head_d) ? "tuned"
                                                                                   : "default";
        printf("plan: %s d=%zu m=%zu n=%zu %s=%u,%u,%u,%u (%s)\n", clattn__tuned_op_name(e.op),
               a->dims[i], a->m, a->n, value_names(cpu), e.value[0], e.value[1], e.value[2],
               e.value[3], source);
    }
    return 0;
}

/* Searches one head dim; the winner into *table. */
static int tune_dim(clattn_handle *h, const tune_args *a, size_t d, clattn_tuned_table *table) {
    tune_problem p;
    int rc = problem_init(h, a, d, &p);
    if (rc) {
        problem_free(&p);
        return rc;
    }
    clattn__tune_table_use(h, NULL);
    const clattn_device_profile *profile = clattn__handle_profile(h);
    const bool cpu = profile->variant == CLATTN_VARIANT_CPU;
    static clattn_tuned_entry list[MAX_CANDIDATES];
    const size_t count = candidates(profile, cpu, d, a->quick, list);
    clattn_tuned_entry best;
    clattn_status status = planned_tile(profile, &p.desc, &best);
    if (status) {
        problem_free(&p);
        return cli_status_error("planning", status, h);
    }
    const double flops = 4.0 * a->heads * (double)a->m * (double)a->n * (double)d;
    printf("tune %s d=%zu: B=1 H=%zu M=%zu N=%zu, %zu candidates (%s)\n",
           clattn__tuned_op_name(best.op), d, a->heads, a->m, a->n, count, value_names(cpu));
    static double swept[MAX_CANDIDATES];
    static clattn_tuned_entry tiles[MAX_CANDIDATES];
    for (size_t i = 0; i < count; i++) {
        swept[i] = NAN;
        clattn_tuned_table one = {.count = list[i].op ? 1 : 0, .entry = {list[i]}};
        clattn__tune_table_use(h, &one);
        if (planned_tile(profile, &p.desc, &tiles[i])) continue;
        double err;
        time_candidate(h, &p, a->quick, &swept[i], &err);
        printf("  %-8s %3u,%3u,%3u,%3u  ", i == 0 ? "default" : "", tiles[i].value[0],
               tiles[i].value[1], tiles[i].value[2], tiles[i].value[3]);
        if (isnan(swept[i]))
            printf(isnan(err) ? "failed\n" : "wrong (max error %.2g)\n", err);
        else
            printf("%9.3f ms  %7.1f GFLOP/s  max error %.2g\n", swept[i], flops / swept[i] * 1e-6,
                   err);
    }
    /* A shared or throttling machine makes single timings noisy: the default and the fastest
     * few are timed again in turns, and the median of those rounds decides. */
    size_t finalists[FINALISTS + 1], nfinal = 0;
    if (!isnan(swept[0])) finalists[nfinal++] = 0;
    for (size_t f = 0; f < FINALISTS; f++) {
        size_t pick = 0;
        for (size_t i = 1; i < count; i++) {
            bool taken = false;
            for (size_t k = 0; k < nfinal; k++)
                taken = taken || finalists[k] == i;
            if (!taken && !isnan(swept[i]) && (pick == 0 || swept[i] < swept[pick])) pick = i;
        }
        if (pick) finalists[nfinal++] = pick;
    }
    const int rounds = a->quick ? 1 : 3;
    double rounds_ms[FINALISTS + 1][3], final_ms[FINALISTS + 1];
    for (int r = 0; r < rounds; r++)
        for (size_t k = 0; k < nfinal; k++) {
            const size_t i = finalists[(k + (size_t)r) % nfinal]; /* a different order each round */
            size_t slot = 0;
            while (finalists[slot] != i)
                slot++;
            clattn_tuned_table one = {.count = list[i].op ? 1 : 0, .entry = {list[i]}};
            clattn__tune_table_use(h, &one);
            double err;
            time_candidate(h, &p, a->quick, &rounds_ms[slot][r], &err);
        }
    problem_free(&p);
    clattn__tune_table_use(h, NULL);
    double default_ms = NAN, best_ms = INFINITY;
    for (size_t k = 0; k < nfinal; k++) {
        bool failed = false;
        for (int r = 0; r < rounds; r++)
            failed = failed || isnan(rounds_ms[k][r]);
        final_ms[k] = failed ? NAN : bench_median(rounds_ms[k], rounds);
        if (failed) continue;
        const clattn_tuned_entry *t = &tiles[finalists[k]];
        printf("  %-8s %3u,%3u,%3u,%3u  %9.3f ms (median of %d rounds in turns)\n",
               finalists[k] == 0 ? "again" : "", t->value[0], t->value[1], t->value[2], t->value[3],
               final_ms[k], rounds);
        if (finalists[k] == 0) default_ms = final_ms[k];
        if (final_ms[k] < best_ms) best_ms = final_ms[k], best = *t;
    }
    if (!isfinite(best_ms)) return cli_error("d=%zu: no candidate ran correctly", d);
    printf("  winner   %3u,%3u,%3u,%3u  %9.3f ms, %.2fx the default (%.3f ms)\n", best.value[0],
           best.value[1], best.value[2], best.value[3], best_ms, default_ms / best_ms, default_ms);
    if (!clattn__tuned_put(table, &best)) return cli_error("the tuned table is full");
    return 0;
}

int cmd_tune(int argc, char **argv) {
    tune_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    setvbuf(stdout, NULL, _IOLBF, 0); /* each candidate's line as it is measured */
    if (!a.show)                      /* they would win over every candidate */
        for (int i = 0; i < 2; i++) {
            const char *name = i ? "CLATTN_ATTENTION_GPU_TILE" : "CLATTN_ATTENTION_CPU_TILE";
            if (getenv(name)) fprintf(stderr, "clattn tune: ignoring %s\n", name), unsetenv(name);
        }
    clattn_options options;
    clattn_options_init(&options);
    options.device = a.device;
    options.variant = a.variant;
    clattn_handle *h = NULL;
    clattn_status status = clattn_handle_create(&options, &h);
    if (status) return cli_status_error("opening the OpenCL device", status, NULL);
    if (a.show) {
        rc = show(h, &a);
        clattn_handle_destroy(h);
        return rc;
    }
    /* The entries already there for other head dims or the other shape stay. */
    clattn_tuned_table table = clattn__handle_profile(h)->tuned;
    printf("device: %s\n", clattn_handle_device_name(h));
    for (size_t i = 0; i < a.ndims && !rc; i++)
        rc = tune_dim(h, &a, a.dims[i], &table);
    char path[4096];
    if (!rc && (status = clattn__tune_table_store(h, &table, path, sizeof path)))
        rc = cli_status_error("writing the tuned table", status, h);
    if (!rc) printf("wrote %s (%u entries)\n", path, table.count);
    clattn_handle_destroy(h);
    return rc;
}
