/* The seed operations on the device against the CPU reference, over awkward sizes, both
 * kernel shapes, all normalisations, scales and buffer offsets.
 *
 * Tolerances. The reference accumulates in double, so its error is negligible; the device
 * accumulates in float32 with unit roundoff u = 2^-24. The worst-case bound for a sum of L
 * terms, gamma_L * sum|terms| with gamma_L ~ L u, is far too loose to catch a wrong kernel
 * when L is a million; rounding errors of independent terms behave like a random walk and
 * grow as sqrt(L) (Higham, Accuracy and Stability of Numerical Algorithms, section 2.8). We
 * allow 8 sqrt(L) u sum|terms| (a safety factor of 8 over the typical size) plus a few ulps
 * of the result for the final rounding and, for softmax, the error of exp (<= 3 ulp in
 * OpenCL C) and of the rescaling when partial sums merge. */
#include "test_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double sum_bound(size_t terms, double abs_sum) {
    return 8.0 * sqrt((double)terms) * TEST_U * abs_sum;
}

/* Scores: each is a d-term dot product. */
static bool check_scores(const float *got, const float *x, const float *q, size_t n, size_t d,
                         float scale, const char *what) {
    float *want = malloc(n * sizeof *want);
    CU_ASSERT_FATAL(want != NULL);
    clattn_ref_scores(n, d, scale, x, q, want);
    size_t bad = 0;
    for (size_t j = 0; j < n && bad < 5; j++) {
        double abs_sum = 0.0;
        for (size_t k = 0; k < d; k++)
            abs_sum += fabs((double)x[j * d + k] * q[k]);
        double tol = fabs(scale) * sum_bound(d, abs_sum) + 4 * TEST_U * fabs(want[j]) + 1e-30;
        if (!(fabs((double)got[j] - want[j]) <= tol) && !(isnan(got[j]) && isnan(want[j]))) {
            fprintf(stderr, "\n    %s[%zu]: got %.9g want %.9g tol %.3g", what, j, got[j], want[j],
                    tol);
            bad++;
        }
    }
    free(want);
    return bad == 0;
}

/* Normalisation of given scores (the device's own, so that stages are checked separately). */
static bool check_weights(const float *got, const float *scores, size_t n, clattn_norm norm,
                          const char *what) {
    float *want = malloc(n * sizeof *want);
    CU_ASSERT_FATAL(want != NULL);
    clattn_ref_normalize(norm, n, scores, want);
    bool ok;
    if (norm == CLATTN_NORM_NONE) {
        ok = test_close(got, want, n, 0.0, 0.0, what);
    } else if (norm == CLATTN_NORM_SUM) {
        /* w = s / S: the error of S relative to |S| is bounded by sum_bound(n, sum|s|) / |S|. */
        double abs_sum = 0.0, sum = 0.0;
        for (size_t j = 0; j < n; j++)
            abs_sum += fabs(scores[j]), sum += scores[j];
        ok = test_close(got, want, n, 1e-37, sum_bound(n, abs_sum) / fabs(sum) + 4 * TEST_U, what);
    } else {
        /* All terms of the softmax sum are positive; exp and rescaling add a few ulps. */
        ok = test_close(got, want, n, 1e-37, 8.0 * sqrt((double)n) * TEST_U + 32 * TEST_U, what);
    }
    free(want);
    return ok;
}

/* Context: each element is an n-term sum of w_j v_jc. */
static bool check_context(const float *got, const float *w, const float *v, size_t n, size_t d,
                          const char *what) {
    float *want = malloc(d * sizeof *want);
    CU_ASSERT_FATAL(want != NULL);
    clattn_ref_context(n, d, w, v, want);
    size_t bad = 0;
    for (size_t c = 0; c < d && bad < 5; c++) {
        double abs_sum = 0.0;
        for (size_t j = 0; j < n; j++)
            abs_sum += fabs((double)w[j] * v[j * d + c]);
        double tol = sum_bound(n, abs_sum) + 4 * TEST_U * fabs(want[c]) + 1e-30;
        if (!(fabs((double)got[c] - want[c]) <= tol) && !(isnan(got[c]) && isnan(want[c]))) {
            fprintf(stderr, "\n    %s[%zu]: got %.9g want %.9g tol %.3g", what, c, got[c], want[c],
                    tol);
            bad++;
        }
    }
    free(want);
    return bad == 0;
}

typedef struct shape {
    size_t n, d;
} shape;

/* Not every pair: the suite must stay within a few minutes on 2 cores. */
static const shape shapes[] = {{1, 1},      {1, 768},     {2, 3},      {3, 64},   {7, 3},
                               {113, 64},   {113, 768},   {4097, 1},   {4097, 3}, {4097, 64},
                               {4097, 768}, {1000003, 1}, {1000003, 3}};

/* The whole pipeline through the blocking API; every stage checked against the reference
 * applied to the device's previous stage. */
static void run_pipeline(clattn_variant variant, shape s, clattn_norm norm, float scale,
                         bool separate_v, uint64_t seed) {
    clattn_handle *h = test_handle(variant);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    size_t n = s.n, d = s.d;
    float *x = malloc(n * d * sizeof *x), *v = separate_v ? malloc(n * d * sizeof *v) : NULL;
    float *q = malloc(d * sizeof *q), *scores = malloc(n * sizeof *scores);
    float *weights = malloc(n * sizeof *weights), *context = malloc(d * sizeof *context);
    CU_ASSERT_FATAL(x && q && scores && weights && context && (!separate_v || v));
    /* SUM needs sums far from zero: positive data as in the seed; softmax gets signed data. */
    float lo = norm == CLATTN_NORM_SUM ? 0.1f : -1.0f;
    test_fill(x, n * d, &seed, lo, 1.0f);
    test_fill(q, d, &seed, lo, 1.0f);
    if (v) test_fill(v, n * d, &seed, -1.0f, 1.0f);

    char what[128];
    snprintf(what, sizeof what, "%s n=%zu d=%zu norm=%d", test_variant_name(variant), n, d,
             (int)norm);
    clattn_status status =
        clattn_query_attention(h, n, d, x, q, v, scale, norm, scores, weights, context);
    CU_ASSERT_EQUAL(status, CLATTN_SUCCESS);
    if (status == CLATTN_SUCCESS) {
        CU_ASSERT(check_scores(scores, x, q, n, d, scale, what));
        CU_ASSERT(check_weights(weights, scores, n, norm, what));
        CU_ASSERT(check_context(context, weights, v ? v : x, n, d, what));
    } else {
        fprintf(stderr, "\n    %s: %s %s", what, clattn_status_string(status),
                clattn_last_error_message());
    }
    free(x);
    free(v);
    free(q);
    free(scores);
    free(weights);
    free(context);
}

static void sizes_sum(void) {
    for (int v = 0; v < 2; v++)
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
            run_pipeline(test_variants[v], shapes[i], CLATTN_NORM_SUM, 1.0f, false, 11 + i);
}

static void sizes_softmax_scaled(void) {
    for (int v = 0; v < 2; v++)
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
            run_pipeline(test_variants[v], shapes[i], CLATTN_NORM_SOFTMAX,
                         1.0f / sqrtf((float)shapes[i].d), true, 101 + i);
}

static void sizes_none_negative_scale(void) {
    for (int v = 0; v < 2; v++)
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
            if (shapes[i].n * shapes[i].d < 1000000)
                run_pipeline(test_variants[v], shapes[i], CLATTN_NORM_NONE, -0.5f, false, 7 + i);
}

/* The enqueue API with non-zero element offsets into bigger buffers: the results land at
 * the offsets and the guard values around them stay untouched. */
static void offsets_and_guards(void) {
    const size_t n = 1029, d = 67, xo = 5, qo = 3, so = 7, wo = 11, vo = 13, co = 17, guard = 32;
    const float sentinel = -12345.0f;
    for (int vi = 0; vi < 2; vi++) {
        clattn_handle *h = test_handle(test_variants[vi]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        cl_context ctx = clattn_handle_context(h);
        cl_command_queue queue = clattn_handle_queue(h);
        uint64_t seed = 99;
        float *x = calloc(xo + n * d, sizeof *x), *q = calloc(qo + d, sizeof *q);
        float *v = calloc(vo + n * d, sizeof *v);
        float *s_host = malloc((so + n + guard) * sizeof *s_host);
        float *w_host = malloc((wo + n + guard) * sizeof *w_host);
        float *c_host = malloc((co + d + guard) * sizeof *c_host);
        CU_ASSERT_FATAL(x && q && v && s_host && w_host && c_host);
        test_fill(x + xo, n * d, &seed, -1, 1);
        test_fill(q + qo, d, &seed, -1, 1);
        test_fill(v + vo, n * d, &seed, -1, 1);
        for (size_t i = 0; i < so + n + guard; i++)
            s_host[i] = sentinel;
        for (size_t i = 0; i < wo + n + guard; i++)
            w_host[i] = sentinel;
        for (size_t i = 0; i < co + d + guard; i++)
            c_host[i] = sentinel;
        cl_int err[6];
        const cl_mem_flags copy = CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR;
        cl_mem xb = clCreateBuffer(ctx, copy, (xo + n * d) * 4, x, &err[0]);
        cl_mem qb = clCreateBuffer(ctx, copy, (qo + d) * 4, q, &err[1]);
        cl_mem vb = clCreateBuffer(ctx, copy, (vo + n * d) * 4, v, &err[2]);
        cl_mem sb = clCreateBuffer(ctx, copy, (so + n + guard) * 4, s_host, &err[3]);
        cl_mem wb = clCreateBuffer(ctx, copy, (wo + n + guard) * 4, w_host, &err[4]);
        cl_mem cb = clCreateBuffer(ctx, copy, (co + d + guard) * 4, c_host, &err[5]);
        for (int i = 0; i < 6; i++)
            CU_ASSERT_EQUAL_FATAL(err[i], CL_SUCCESS);

        cl_event e1 = NULL, e2 = NULL, e3 = NULL;
        CU_ASSERT_EQUAL(
            clattn_enqueue_scores(h, NULL, n, d, 0.25f, xb, xo, qb, qo, sb, so, 0, NULL, &e1),
            CLATTN_SUCCESS);
        CU_ASSERT_EQUAL(
            clattn_enqueue_normalize(h, queue, CLATTN_NORM_SOFTMAX, n, sb, so, wb, wo, 1, &e1, &e2),
            CLATTN_SUCCESS);
        CU_ASSERT_EQUAL(clattn_enqueue_context(h, queue, n, d, wb, wo, vb, vo, cb, co, 1, &e2, &e3),
                        CLATTN_SUCCESS);
        CU_ASSERT_PTR_NOT_NULL(e3);
        CU_ASSERT_EQUAL(clWaitForEvents(1, &e3), CL_SUCCESS);
        clEnqueueReadBuffer(queue, sb, CL_TRUE, 0, (so + n + guard) * 4, s_host, 0, NULL, NULL);
        clEnqueueReadBuffer(queue, wb, CL_TRUE, 0, (wo + n + guard) * 4, w_host, 0, NULL, NULL);
        clEnqueueReadBuffer(queue, cb, CL_TRUE, 0, (co + d + guard) * 4, c_host, 0, NULL, NULL);

        CU_ASSERT(check_scores(s_host + so, x + xo, q + qo, n, d, 0.25f, "offset scores"));
        CU_ASSERT(check_weights(w_host + wo, s_host + so, n, CLATTN_NORM_SOFTMAX, "offset w"));
        CU_ASSERT(check_context(c_host + co, w_host + wo, v + vo, n, d, "offset context"));
        bool guards = true;
        for (size_t i = 0; i < so; i++)
            guards &= s_host[i] == sentinel;
        for (size_t i = so + n; i < so + n + guard; i++)
            guards &= s_host[i] == sentinel;
        for (size_t i = 0; i < wo; i++)
            guards &= w_host[i] == sentinel;
        for (size_t i = wo + n; i < wo + n + guard; i++)
            guards &= w_host[i] == sentinel;
        for (size_t i = 0; i < co; i++)
            guards &= c_host[i] == sentinel;
        for (size_t i = co + d; i < co + d + guard; i++)
            guards &= c_host[i] == sentinel;
        CU_ASSERT(guards);

        clReleaseEvent(e1);
        clReleaseEvent(e2);
        clReleaseEvent(e3);
        cl_mem all[] = {xb, qb, vb, sb, wb, cb};
        for (int i = 0; i < 6; i++)
            clReleaseMemObject(all[i]);
        free(x), free(q), free(v), free(s_host), free(w_host), free(c_host);
    }
}

/* In-place normalisation (weights == scores) and the NONE copy between buffers. */
static void normalize_in_place(void) {
    const size_t n = 5000;
    float *s = malloc(n * sizeof *s), *w = malloc(n * sizeof *w), *ref = malloc(n * sizeof *ref);
    CU_ASSERT_FATAL(s && w && ref);
    uint64_t seed = 5;
    test_fill(s, n, &seed, -3, 3);
    for (int vi = 0; vi < 2; vi++) {
        clattn_handle *h = test_handle(test_variants[vi]);
        CU_ASSERT_EQUAL(clattn_normalize(h, CLATTN_NORM_SOFTMAX, n, s, w), CLATTN_SUCCESS);
        CU_ASSERT(check_weights(w, s, n, CLATTN_NORM_SOFTMAX, "in place softmax"));
        CU_ASSERT_EQUAL(clattn_normalize(h, CLATTN_NORM_NONE, n, s, w), CLATTN_SUCCESS);
        CU_ASSERT(test_close(w, s, n, 0, 0, "none in place"));
    }
    free(s), free(w), free(ref);
}

static void add_suites(void) {
    static const test_case cases[] = {
        {"sizes, sum normalisation", sizes_sum},
        {"sizes, softmax, 1/sqrt(d), separate V", sizes_softmax_scaled},
        {"sizes, no normalisation, negative scale", sizes_none_negative_scale},
        {"enqueue with offsets and guard values", offsets_and_guards},
        {"normalisation in place", normalize_in_place},
        {NULL, NULL}};
    test_add_suite("ops", cases);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
