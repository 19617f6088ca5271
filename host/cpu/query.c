/* Fast CPU path of the query operations: scores, normalisation, context. Threads split the
 * rows; float accumulation in lanes of 16 (independent accumulators the compiler turns into
 * vector registers without reassociating a reduction). */
#include "status.h"
#include "size.h"
#include "query_args.h"
#include "dtype.h"
#include "cpu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LANES 16
/* 2-byte inputs are widened this many elements at a time into a float buffer on the stack
 * (a multiple of 2 * LANES, so a row's lane loops run as they do on float32 rows). */
#define WIDEN_CHUNK 512
#define LOG2E       1.4426950408889634f

static clattn_status check_sizes(size_t n, size_t d, size_t *nd) {
    if (n == 0 || d == 0)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE, "n (%zu) and d (%zu) must be > 0", n, d);
    if (!clattn__mul_size(n, d, nd))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "n * d overflows size_t");
    return CLATTN_SUCCESS;
}

/* ---- scores ---------------------------------------------------------------------------- */

typedef struct scores_job {
    size_t n, d, rows_per_task;
    float scale;
    const float *x, *q; /* x stored as x_dtype; q float32 */
    float *out;
    clattn_dtype x_dtype;
} scores_job;

/* Adds the products of len elements of xr and q to the lane accumulators a, b and the tail t. */
static inline void dot_lanes(const float *xr, const float *q, size_t len, float *a, float *b,
                             float *t) {
    size_t k = 0;
    for (; k + 2 * LANES <= len; k += 2 * LANES)
        for (int l = 0; l < LANES; l++) {
            a[l] += xr[k + l] * q[k + l];
            b[l] += xr[k + LANES + l] * q[k + LANES + l];
        }
    for (; k + LANES <= len; k += LANES)
        for (int l = 0; l < LANES; l++)
            a[l] += xr[k + l] * q[k + l];
    for (; k < len; k++)
        *t += xr[k] * q[k];
}

/* Rows one after another, so the loads are one sequential stream (the hardware prefetcher's
 * best case; four rows side by side were 4 interleaved short streams and slower), with 2 x 16
 * lane accumulators per row. The lane loops are vectorised (-fopt-info-vec). */
CLATTN_CPU_HOT static void scores_task(void *ctx, size_t task) {
    const scores_job *job = ctx;
    const size_t d = job->d, begin = task * job->rows_per_task;
    const size_t end = begin + job->rows_per_task < job->n ? begin + job->rows_per_task : job->n;
    const float *q = job->q;
    float wide[WIDEN_CHUNK];
    for (size_t j = begin; j < end; j++) {
        float a[LANES] = {0}, b[LANES] = {0}, t = 0.0f;
        if (job->x_dtype == CLATTN_F32) {
            dot_lanes(job->x + j * d, q, d, a, b, &t);
        } else {
            const uint16_t *xr = (const uint16_t *)job->x + j * d;
            for (size_t k = 0; k < d; k += WIDEN_CHUNK) {
                const size_t len = d - k < WIDEN_CHUNK ? d - k : WIDEN_CHUNK;
                clattn__dtype_widen(job->x_dtype, xr + k, wide, len);
                dot_lanes(wide, q + k, len, a, b, &t);
            }
        }
        for (int l = 0; l < LANES; l++)
            a[l] += b[l];
        job->out[j] = job->scale * (clattn__hsum16(a) + t);
    }
}

/* Rows per task: about 1 MiB of x per task, at least 4 rows, and a few tasks per thread. */
static size_t rows_per_task(size_t n, size_t d) {
    size_t rows = (1u << 18) / d;
    if (rows < 4) rows = 4;
    rows = (rows + 3) & ~(size_t)3;
    return rows > n ? n : rows;
}

/* x and q stored as dt->x and dt->q (a 2-byte q is widened once into a float32 copy). */
static clattn_status run_scores(size_t n, size_t d, float scale, const float *x, const float *q,
                                const clattn_seed_dtypes *dt, float *scores) {
    float *q_wide = NULL;
    if (dt->q != CLATTN_F32) {
        if (!(q_wide = malloc(d * sizeof *q_wide)))
            return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
        clattn__dtype_widen(dt->q, q, q_wide, d);
    }
    scores_job job = {n, d, rows_per_task(n, d), scale, x, q_wide ? q_wide : q, scores, dt->x};
    size_t tasks = (n + job.rows_per_task - 1) / job.rows_per_task;
    clattn__cpu_parallel(tasks, clattn__cpu_threads_for(2.0 * (double)n * (double)d), scores_task,
                         &job);
    free(q_wide);
    return CLATTN_SUCCESS;
}

clattn_status clattn_cpu_scores(size_t n, size_t d, float scale, const float *x, const float *q,
                                float *scores) {
    return clattn_cpu_scores_ex(n, d, scale, x, q, scores, NULL);
}

clattn_status clattn_cpu_scores_ex(size_t n, size_t d, float scale, const float *x, const float *q,
                                   float *scores, const clattn_seed_dtypes *dtypes) {
    if (!x || !q || !scores) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "NULL pointer");
    size_t nd;
    clattn_seed_dtypes dt;
    clattn_status status = check_sizes(n, d, &nd);
    if (!status) status = clattn__seed_dtypes_resolve(dtypes, &dt);
    if (!status) status = run_scores(n, d, scale, x, q, &dt, scores);
    if (!status) clattn__clear_error();
    return status;
}

/* ---- normalisation --------------------------------------------------------------------- */

#define NORM_CHUNK 16384

typedef struct norm_job {
    clattn_norm norm;
    size_t n;
    const float *s;
    float *w;
    float max;      /* softmax: the global maximum (pass 2) */
    float *partial; /* per chunk: sum (SUM, softmax pass 2) or max (softmax pass 1) */
    int *has_nan;   /* per chunk, softmax pass 1 */
    int pass;
} norm_job;

CLATTN_CPU_HOT static void norm_task(void *ctx, size_t task) {
    norm_job *job = ctx;
    const size_t begin = task * NORM_CHUNK;
    const size_t len = job->n - begin < NORM_CHUNK ? job->n - begin : NORM_CHUNK;
    const float *s = job->s + begin;
    float *w = job->w + begin;
    float lane[LANES];
    if (job->norm == CLATTN_NORM_SUM || job->pass == 2) {
        if (job->pass == 2) { /* w = exp(s - max), then sum w */
            float t[256];
            for (size_t i0 = 0; i0 < len; i0 += 256) {
                const size_t m = len - i0 < 256 ? len - i0 : 256;
                for (size_t i = 0; i < m; i++)
                    t[i] = (s[i0 + i] - job->max) * LOG2E;
                clattn__cpu_exp2(w + i0, t, m);
            }
            s = w;
        }
        for (int l = 0; l < LANES; l++)
            lane[l] = 0.0f;
        size_t i = 0;
        for (; i + LANES <= len; i += LANES)
            for (int l = 0; l < LANES; l++)
                lane[l] += s[i + l];
        float tail = 0.0f;
        for (; i < len; i++)
            tail += s[i];
        job->partial[task] = clattn__hsum16(lane) + tail;
    } else { /* softmax pass 1: max and NaN */
        int nan_lane[LANES] = {0};
        for (int l = 0; l < LANES; l++)
            lane[l] = -INFINITY;
        size_t i = 0;
        for (; i + LANES <= len; i += LANES)
            for (int l = 0; l < LANES; l++) {
                const float v = s[i + l];
                lane[l] = v > lane[l] ? v : lane[l];
                nan_lane[l] |= v != v;
            }
        float max = -INFINITY;
        int nan = 0;
        for (; i < len; i++) {
            max = s[i] > max ? s[i] : max;
            nan |= s[i] != s[i];
        }
        for (int l = 0; l < LANES; l++) {
            max = lane[l] > max ? lane[l] : max;
            nan |= nan_lane[l];
        }
        job->partial[task] = max;
        job->has_nan[task] = nan;
    }
}

typedef struct scale_job {
    size_t n;
    float *w;
    float factor;
    const float *s; /* SUM: w = s / factor */
} scale_job;

CLATTN_CPU_HOT static void scale_task(void *ctx, size_t task) {
    scale_job *job = ctx;
    const size_t begin = task * NORM_CHUNK;
    const size_t len = job->n - begin < NORM_CHUNK ? job->n - begin : NORM_CHUNK;
    float *w = job->w + begin;
    if (job->s) {
        const float *s = job->s + begin;
        for (size_t i = 0; i < len; i++)
            w[i] = s[i] / job->factor;
    } else {
        for (size_t i = 0; i < len; i++)
            w[i] *= job->factor;
    }
}

static clattn_status run_normalize(clattn_norm norm, size_t n, const float *scores,
                                   float *weights) {
    if (norm == CLATTN_NORM_NONE) {
        if (weights != scores) memmove(weights, scores, n * sizeof(float));
        return CLATTN_SUCCESS;
    }
    const size_t chunks = (n + NORM_CHUNK - 1) / NORM_CHUNK;
    const unsigned threads = clattn__cpu_threads_for(8.0 * (double)n);
    float *partial = malloc(chunks * sizeof *partial);
    int *has_nan = malloc(chunks * sizeof *has_nan);
    if (!partial || !has_nan) {
        free(partial);
        free(has_nan);
        return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    norm_job job = {norm, n, scores, weights, 0.0f, partial, has_nan, 1};
    scale_job apply = {n, weights, 0.0f, NULL};
    if (norm == CLATTN_NORM_SUM) {
        clattn__cpu_parallel(chunks, threads, norm_task, &job);
        float sum = 0.0f;
        for (size_t c = 0; c < chunks; c++)
            sum += partial[c];
        apply.factor = sum;
        apply.s = scores;
        clattn__cpu_parallel(chunks, threads, scale_task, &apply);
    } else {
        clattn__cpu_parallel(chunks, threads, norm_task, &job);
        float max = -INFINITY;
        int nan = 0;
        for (size_t c = 0; c < chunks; c++) {
            max = partial[c] > max ? partial[c] : max;
            nan |= has_nan[c];
        }
        if (nan || max == -INFINITY) { /* NaN everywhere, or every score -inf: zeros */
            const float fill = nan ? NAN : 0.0f;
            for (size_t i = 0; i < n; i++)
                weights[i] = fill;
        } else {
            job.max = max;
            job.pass = 2;
            clattn__cpu_parallel(chunks, threads, norm_task, &job);
            float sum = 0.0f;
            for (size_t c = 0; c < chunks; c++)
                sum += partial[c];
            apply.factor = 1.0f / sum;
            clattn__cpu_parallel(chunks, threads, scale_task, &apply);
        }
    }
    free(partial);
    free(has_nan);
    return CLATTN_SUCCESS;
}

clattn_status clattn_cpu_normalize(clattn_norm norm, size_t n, const float *scores,
                                   float *weights) {
    if (!scores || !weights) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "NULL pointer");
    if (n == 0) return clattn__fail(CLATTN_ERROR_INVALID_SIZE, "n must be > 0");
    if (norm != CLATTN_NORM_NONE && norm != CLATTN_NORM_SUM && norm != CLATTN_NORM_SOFTMAX)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "unknown normalisation %d", (int)norm);
    if (weights != scores && weights < scores + n && scores < weights + n)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "weights partly overlap scores (same array or disjoint)");
    clattn_status status = run_normalize(norm, n, scores, weights);
    if (!status) clattn__clear_error();
    return status;
}

/* ---- context --------------------------------------------------------------------------- */

typedef struct context_job {
    size_t n, d, rows_per_task;
    const float *w, *v; /* v stored as v_dtype */
    float *partials;    /* tasks x d */
    clattn_dtype v_dtype;
} context_job;

/* acc += w_j v_j for the rows of a 2-byte v, widened WIDEN_CHUNK columns at a time. */
static void context_rows_narrow(const context_job *job, size_t begin, size_t end, float *acc) {
    const size_t d = job->d;
    float wide[WIDEN_CHUNK];
    for (size_t j = begin; j < end; j++) {
        const float wj = job->w[j];
        const uint16_t *vj = (const uint16_t *)job->v + j * d;
        for (size_t c0 = 0; c0 < d; c0 += WIDEN_CHUNK) {
            const size_t len = d - c0 < WIDEN_CHUNK ? d - c0 : WIDEN_CHUNK;
            clattn__dtype_widen(job->v_dtype, vj + c0, wide, len);
            for (size_t c = 0; c < len; c++)
                acc[c0 + c] += wj * wide[c];
        }
    }
}

/* Four rows per step: one load and store of the accumulator row for four rows of v. The
 * column loop is vectorised (-fopt-info-vec). */
CLATTN_CPU_HOT static void context_task(void *ctx, size_t task) {
    const context_job *job = ctx;
    const size_t d = job->d, begin = task * job->rows_per_task;
    const size_t end = begin + job->rows_per_task < job->n ? begin + job->rows_per_task : job->n;
    float *acc = job->partials + task * d;
    for (size_t c = 0; c < d; c++)
        acc[c] = 0.0f;
    if (job->v_dtype != CLATTN_F32) {
        context_rows_narrow(job, begin, end, acc);
        return;
    }
    size_t j = begin;
    for (; j + 4 <= end; j += 4) {
        const float w0 = job->w[j], w1 = job->w[j + 1], w2 = job->w[j + 2], w3 = job->w[j + 3];
        const float *v0 = job->v + j * d, *v1 = v0 + d, *v2 = v1 + d, *v3 = v2 + d;
        for (size_t c = 0; c < d; c++)
            acc[c] += w0 * v0[c] + w1 * v1[c] + w2 * v2[c] + w3 * v3[c];
    }
    for (; j < end; j++) {
        const float wj = job->w[j], *vj = job->v + j * d;
        for (size_t c = 0; c < d; c++)
            acc[c] += wj * vj[c];
    }
}

static clattn_status run_context(size_t n, size_t d, const float *w, const float *v,
                                 clattn_dtype v_dtype, float *context) {
    context_job job = {n, d, rows_per_task(n, d), w, v, NULL, v_dtype};
    const size_t tasks = (n + job.rows_per_task - 1) / job.rows_per_task;
    size_t count;
    if (!clattn__mul_size(tasks, d, &count) || !(job.partials = malloc(count * sizeof(float))))
        return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    clattn__cpu_parallel(tasks, clattn__cpu_threads_for(2.0 * (double)n * (double)d), context_task,
                         &job);
    for (size_t c = 0; c < d; c++)
        context[c] = job.partials[c];
    for (size_t t = 1; t < tasks; t++)
        for (size_t c = 0; c < d; c++)
            context[c] += job.partials[t * d + c];
    free(job.partials);
    return CLATTN_SUCCESS;
}

clattn_status clattn_cpu_context(size_t n, size_t d, const float *weights, const float *v,
                                 float *context) {
    return clattn_cpu_context_ex(n, d, weights, v, context, NULL);
}

clattn_status clattn_cpu_context_ex(size_t n, size_t d, const float *weights, const float *v,
                                    float *context, const clattn_seed_dtypes *dtypes) {
    if (!weights || !v || !context) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "NULL pointer");
    size_t nd;
    clattn_seed_dtypes dt;
    clattn_status status = check_sizes(n, d, &nd);
    if (!status) status = clattn__seed_dtypes_resolve(dtypes, &dt);
    if (!status) status = run_context(n, d, weights, v, dt.v, context);
    if (!status) clattn__clear_error();
    return status;
}

/* ---- the whole query pipeline ----------------------------------------------------------- */

clattn_status clattn_cpu_query_attention(size_t n, size_t d, const float *x, const float *q,
                                         const float *v, float scale, clattn_norm norm,
                                         float *scores, float *weights, float *context) {
    return clattn_cpu_query_attention_ex(n, d, x, q, v, scale, norm, scores, weights, context,
                                         NULL);
}

clattn_status clattn_cpu_query_attention_ex(size_t n, size_t d, const float *x, const float *q,
                                            const float *v, float scale, clattn_norm norm,
                                            float *scores, float *weights, float *context,
                                            const clattn_seed_dtypes *dtypes) {
    size_t nd;
    clattn_seed_dtypes dt;
    clattn_status status =
        clattn__check_query_args(n, d, x, q, norm, scores || weights || context, &nd);
    if (!status) status = clattn__seed_dtypes_resolve(dtypes, &dt);
    if (status) return status;
    /* Scores and weights need n floats each when the caller does not keep them. */
    float *own = NULL;
    if (!scores || (!weights && context)) {
        own = malloc(2 * n * sizeof *own);
        if (!own) return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    float *s = scores ? scores : own;
    float *w = weights ? weights : own + n;
    status = run_scores(n, d, scale, x, q, &dt, s);
    if (!status && (weights || context)) status = run_normalize(norm, n, s, w);
    if (!status && context) status = run_context(n, d, w, v ? v : x, v ? dt.v : dt.x, context);
    free(own);
    if (!status) clattn__clear_error();
    return status;
}
