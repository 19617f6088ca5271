/* OpenBLAS peer: the seed op's scores as SGEMV, attention as SGEMM + softmax + SGEMM per
 * head (the M x N matrix stored). Built only when OpenBLAS is found (CLATTN_HAVE_OPENBLAS). */
#include "bench.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifdef CLATTN_HAVE_OPENBLAS
#include <cblas.h>

bool bench_have_openblas(void) {
    return true;
}

/* Row softmax of the stored scores, causal mask applied, rows split over the host threads
 * (the same threads the fast CPU path uses, so the composition gets the cores too). */
typedef struct softmax_job {
    float *s;
    size_t m, n, first, step;
    int causal;
} softmax_job;

static void *softmax_rows(void *arg) {
    const softmax_job *job = arg;
    for (size_t i = job->first; i < job->m; i += job->step) {
        float *r = job->s + i * job->n;
        const size_t lim = job->causal ? (i + 1 < job->n ? i + 1 : job->n) : job->n;
        float mx = -INFINITY, sum = 0.0f;
        for (size_t j = 0; j < lim; j++)
            mx = r[j] > mx ? r[j] : mx;
        for (size_t j = 0; j < lim; j++)
            sum += (r[j] = expf(r[j] - mx));
        const float inv = 1.0f / sum;
        for (size_t j = 0; j < lim; j++)
            r[j] *= inv;
        for (size_t j = lim; j < job->n; j++)
            r[j] = 0.0f;
    }
    return NULL;
}

static void softmax(float *s, size_t m, size_t n, int causal) {
    enum { MAX_THREADS = 64 };
    unsigned threads = clattn_cpu_threads();
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (threads > m) threads = (unsigned)m;
    softmax_job jobs[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    unsigned started = 0;
    for (unsigned t = 0; t < threads; t++)
        jobs[t] = (softmax_job){s, m, n, t, threads, causal};
    for (unsigned t = 1; t < threads; t++, started++)
        if (pthread_create(&ids[t - 1], NULL, softmax_rows, &jobs[t])) break;
    softmax_rows(&jobs[0]);
    for (unsigned t = 0; t < started; t++)
        pthread_join(ids[t], NULL);
    for (unsigned t = started + 1; t < threads; t++)
        softmax_rows(&jobs[t]); /* not started */
}

static void run_once(const bench_shape *sh, const float *const *in, float *out, float *s) {
    if (sh->op == BENCH_SCORES) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)sh->n, (int)sh->d, 1.0f, in[0], (int)sh->d,
                    in[1], 1, 0.0f, out, 1);
        return;
    }
    const size_t m = sh->m, n = sh->n, d = sh->d;
    const float scale = 1.0f / sqrtf((float)d);
    for (size_t h = 0; h < sh->batch * sh->heads; h++) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)d, scale,
                    in[0] + h * m * d, (int)d, in[1] + h * n * d, (int)d, 0.0f, s, (int)n);
        softmax(s, m, n, sh->causal);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)d, (int)n, 1.0f, s,
                    (int)n, in[2] + h * n * d, (int)d, 0.0f, out + h * m * d, (int)d);
    }
}

const char *bench_openblas_run(const bench_config *cfg, const bench_shape *sh,
                               const float *const *in, float *out, bench_result *r) {
    float *s = NULL;
    if (sh->op != BENCH_SCORES) {
        if ((double)sh->m * (double)sh->n > (double)(1u << 26)) return "skipped: M x N too large";
        if (!(s = malloc(sh->m * sh->n * sizeof *s))) return "out of memory";
    }
    int reps = cfg->reps > 64 ? 64 : cfg->reps;
    double t[64], ct[64];
    run_once(sh, in, out, s); /* warm-up */
    for (int i = 0; i < reps; i++) {
        double t0 = bench_now(), c0 = bench_cpu_now();
        run_once(sh, in, out, s);
        t[i] = (bench_now() - t0) * 1e3;
        ct[i] = (bench_cpu_now() - c0) * 1e3;
    }
    free(s);
    r->reps = reps;
    r->min_ms = bench_min(t, reps);
    r->median_ms = bench_median(t, reps);
    r->cpu_ms = bench_median(ct, reps);
    r->note = sh->op == BENCH_SCORES ? "sgemv (scores only, no normalisation)"
                                     : "sgemm + softmax + sgemm";
    return NULL;
}

#else

bool bench_have_openblas(void) {
    return false;
}

const char *bench_openblas_run(const bench_config *cfg, const bench_shape *s,
                               const float *const *inputs, float *output, bench_result *r) {
    (void)cfg, (void)s, (void)inputs, (void)output, (void)r;
    return "not built with OpenBLAS";
}

#endif
