/* Special values: the documented IEEE behaviour of SUM normalisation when the sum is zero or
 * negative, softmax of -inf and huge scores, and NaN propagation. Both kernel shapes, both
 * the one-work-group path (small n) and the multi-group reduction (large n). */
#include "test_common.h"

#include <math.h>
#include <stdlib.h>

static const size_t sizes[] = {4, 9000}; /* one work-group; several (normalize.c) */

static float *make(size_t n) {
    float *a = malloc(n * sizeof *a);
    CU_ASSERT_FATAL(a != NULL);
    return a;
}

/* Scores summing to exactly +0 (pairs +a, -a): weights are s / +0, i.e. +inf for positive
 * scores, -inf for negative ones and NaN for zero ones, as IEEE division gives (and as
 * NumPy/PyTorch print for scores / scores.sum()). */
static void sum_zero(void) {
    for (int vi = 0; vi < 2; vi++) {
        for (int si = 0; si < 2; si++) {
            size_t n = sizes[si];
            float *s = make(n), *w = make(n);
            for (size_t j = 0; j < n; j++)
                s[j] = (j % 2 ? -1.0f : 1.0f) * (float)(j / 2 % 7);
            if (n % 2) s[n - 1] = 0.0f;
            CU_ASSERT_EQUAL(
                clattn_normalize(test_handle(test_variants[vi]), CLATTN_NORM_SUM, n, s, w),
                CLATTN_SUCCESS);
            for (size_t j = 0; j < n; j++) {
                if (s[j] > 0) CU_ASSERT(isinf(w[j]) && w[j] > 0);
                if (s[j] < 0) CU_ASSERT(isinf(w[j]) && w[j] < 0);
                if (s[j] == 0) CU_ASSERT(isnan(w[j]));
            }
            free(s), free(w);
        }
    }
}

/* A negative sum flips signs: weights still sum to 1. */
static void sum_negative(void) {
    for (int vi = 0; vi < 2; vi++) {
        for (int si = 0; si < 2; si++) {
            size_t n = sizes[si];
            float *s = make(n), *w = make(n), *ref = make(n);
            uint64_t seed = 3;
            test_fill(s, n, &seed, -2.0f, 0.5f);
            CU_ASSERT_EQUAL(
                clattn_normalize(test_handle(test_variants[vi]), CLATTN_NORM_SUM, n, s, w),
                CLATTN_SUCCESS);
            clattn_ref_normalize(CLATTN_NORM_SUM, n, s, ref);
            double total = 0;
            for (size_t j = 0; j < n; j++)
                total += w[j];
            CU_ASSERT(fabs(total - 1.0) < 1e-3);
            /* The sum is about -0.75 n from values in [-2, 0.5]: well conditioned. */
            CU_ASSERT(test_close(w, ref, n, 1e-12, 1e-4, "negative sum"));
            CU_ASSERT(w[0] * s[0] <= 0); /* sign flipped */
            free(s), free(w), free(ref);
        }
    }
}

/* Softmax: every score -inf gives zeros (a fully masked row); some -inf give exact zeros
 * there; huge scores do not overflow because the maximum is subtracted. */
static void softmax_infinities(void) {
    for (int vi = 0; vi < 2; vi++) {
        clattn_handle *h = test_handle(test_variants[vi]);
        for (int si = 0; si < 2; si++) {
            size_t n = sizes[si];
            float *s = make(n), *w = make(n), *ref = make(n);
            for (size_t j = 0; j < n; j++)
                s[j] = -INFINITY;
            CU_ASSERT_EQUAL(clattn_normalize(h, CLATTN_NORM_SOFTMAX, n, s, w), CLATTN_SUCCESS);
            for (size_t j = 0; j < n; j++)
                CU_ASSERT_EQUAL(w[j], 0.0f);

            for (size_t j = 0; j < n; j++)
                s[j] = j % 3 ? -INFINITY : 1.0e4f + (float)(j % 5);
            CU_ASSERT_EQUAL(clattn_normalize(h, CLATTN_NORM_SOFTMAX, n, s, w), CLATTN_SUCCESS);
            clattn_ref_normalize(CLATTN_NORM_SOFTMAX, n, s, ref);
            CU_ASSERT(test_close(w, ref, n, 1e-37, 1e-5, "huge and -inf"));
            for (size_t j = 0; j < n; j++)
                if (j % 3) CU_ASSERT_EQUAL(w[j], 0.0f);
            free(s), free(w), free(ref);
        }
    }
}

/* NaN in a score makes every weight NaN (the shared sum is NaN), in both normalisations; a
 * NaN in the inputs reaches the scores, weights and context it touches. */
static void nan_propagates(void) {
    for (int vi = 0; vi < 2; vi++) {
        clattn_handle *h = test_handle(test_variants[vi]);
        for (int si = 0; si < 2; si++) {
            size_t n = sizes[si];
            float *s = make(n), *w = make(n);
            for (int norm = CLATTN_NORM_SUM; norm <= CLATTN_NORM_SOFTMAX; norm++) {
                for (size_t j = 0; j < n; j++)
                    s[j] = 1.0f;
                s[n / 2] = NAN;
                CU_ASSERT_EQUAL(clattn_normalize(h, (clattn_norm)norm, n, s, w), CLATTN_SUCCESS);
                size_t nans = 0;
                for (size_t j = 0; j < n; j++)
                    nans += isnan(w[j]) != 0;
                CU_ASSERT_EQUAL(nans, n);
            }
            free(s), free(w);
        }

        /* One NaN in row 2 of x: score 2 is NaN, the others finite; every softmax weight
         * and context element is NaN. */
        const size_t n = 7, d = 5;
        float x[35], q[5], scores[7], weights[7], context[5];
        uint64_t seed = 8;
        test_fill(x, n * d, &seed, 0, 1);
        test_fill(q, d, &seed, 0, 1);
        x[2 * d + 1] = NAN;
        CU_ASSERT_EQUAL(clattn_query_attention(h, n, d, x, q, NULL, 1.0f, CLATTN_NORM_SOFTMAX,
                                               scores, weights, context),
                        CLATTN_SUCCESS);
        for (size_t j = 0; j < n; j++)
            CU_ASSERT(j == 2 ? isnan(scores[j]) : !isnan(scores[j]));
        for (size_t j = 0; j < n; j++)
            CU_ASSERT(isnan(weights[j]));
        for (size_t c = 0; c < d; c++)
            CU_ASSERT(isnan(context[c]));
    }
}

static void add_suites(void) {
    static const test_case cases[] = {{"sum normalisation, zero sum", sum_zero},
                                      {"sum normalisation, negative sum", sum_negative},
                                      {"softmax of -inf and huge scores", softmax_infinities},
                                      {"NaN propagates", nan_propagates},
                                      {NULL, NULL}};
    test_add_suite("special values", cases);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
