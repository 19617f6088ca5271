/* clattn_query_attention's one-launch path for small problems (host/opencl/ops/query_small.c) against
 * the reference, on both kernel shapes, at the edges of its size limit and with edge values. */
#include "test_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t seed = 0x2545f4914f6cdd1dull;

typedef struct small_case {
    size_t n, d;
    clattn_norm norm;
    bool separate_v;
} small_case;

/* 1024 x 64 is the last size of the small path (n * d = 65536); 1025 x 64 takes the general
 * path, so both are checked against the same reference. */
static const small_case cases[] = {
    {1, 1, CLATTN_NORM_SUM, false},        {6, 3, CLATTN_NORM_SUM, false},
    {7, 5, CLATTN_NORM_SOFTMAX, true},     {113, 80, CLATTN_NORM_NONE, false},
    {1024, 64, CLATTN_NORM_SOFTMAX, true}, {1025, 64, CLATTN_NORM_SOFTMAX, true},
    {16384, 4, CLATTN_NORM_SUM, false},    {3, 4097, CLATTN_NORM_SOFTMAX, false},
};

static void run_case(clattn_handle *h, const small_case *c) {
    const size_t n = c->n, d = c->d;
    float *x = malloc(n * d * sizeof *x), *v = malloc(n * d * sizeof *v),
          *q = malloc(d * sizeof *q);
    float *s = malloc(n * sizeof *s), *w = malloc(n * sizeof *w), *z = malloc(d * sizeof *z);
    float *rs = malloc(n * sizeof *rs), *rw = malloc(n * sizeof *rw), *rz = malloc(d * sizeof *rz);
    CU_ASSERT_FATAL(x && v && q && s && w && z && rs && rw && rz);
    /* Positive data keeps the SUM normalisation well-conditioned. */
    test_fill(x, n * d, &seed, 0, 1);
    test_fill(v, n * d, &seed, -1, 1);
    test_fill(q, d, &seed, 0, 1);
    const float scale = 1.0f / sqrtf((float)d);
    const float *values = c->separate_v ? v : x;
    CU_ASSERT_EQUAL_FATAL(
        clattn_query_attention(h, n, d, x, q, c->separate_v ? v : NULL, scale, c->norm, s, w, z),
        CLATTN_SUCCESS);
    clattn_ref_scores(n, d, scale, x, q, rs);
    clattn_ref_normalize(c->norm, n, rs, rw);
    clattn_ref_context(n, d, rw, values, rz);
    /* Scores: a sequential float sum of d products in [0, 1) times the scale: error
     * <= d u sum|x q| scale <= d u d / sqrt(d). Weights: relative error of a score (<= d u
     * sqrt(d) relative to the largest) plus the n-term sum (n u). Context: the weights'
     * relative error plus an n-term float sum of terms bounded by w_j |v|. */
    const double dd = (double)d, nn = (double)n;
    const double s_err = dd * sqrt(dd) * TEST_U;
    CU_ASSERT(test_close(s, rs, n, 2 * s_err, 0, "small path scores"));
    const double w_rel = 4 * s_err + (nn + 8) * TEST_U;
    const bool none = c->norm == CLATTN_NORM_NONE; /* weights = scores */
    CU_ASSERT(
        test_close(w, rw, n, none ? 2 * s_err : 1e-30, none ? 0 : w_rel, "small path weights"));
    double wmax = 0;
    for (size_t j = 0; j < n; j++)
        wmax += fabs(rw[j]);
    CU_ASSERT(test_close(z, rz, d, (w_rel + (nn + 8) * TEST_U) * wmax, 1e-6, "small path context"));
    free(x), free(v), free(q), free(s), free(w), free(z), free(rs), free(rw), free(rz);
}

static void test_sizes(void) {
    for (int vi = 0; vi < 2; vi++) {
        clattn_handle *h = test_handle(test_variants[vi]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
            run_case(h, &cases[i]);
    }
}

static void test_edges(void) {
    clattn_handle *h = test_handle(CLATTN_VARIANT_GPU);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    /* Softmax over scores that are all -inf gives zero weights and a zero context; a NaN
     * input makes every weight NaN. */
    const float inf = INFINITY;
    float x[4] = {-inf, -inf, 1.0f, 2.0f}, q[1] = {1.0f}, w[4], z[1];
    CU_ASSERT_EQUAL(
        clattn_query_attention(h, 2, 1, x, q, NULL, 1.0f, CLATTN_NORM_SOFTMAX, NULL, w, NULL),
        CLATTN_SUCCESS);
    CU_ASSERT(w[0] == 0.0f && w[1] == 0.0f);
    x[2] = NAN;
    CU_ASSERT_EQUAL(
        clattn_query_attention(h, 2, 1, x + 2, q, NULL, 1.0f, CLATTN_NORM_SOFTMAX, NULL, w, z),
        CLATTN_SUCCESS);
    CU_ASSERT(isnan(w[0]) && isnan(w[1]) && isnan(z[0]));
}

static void add_suites(void) {
    static const test_case list[] = {{"sizes", test_sizes}, {"edges", test_edges}, {NULL, NULL}};
    test_add_suite("seed_small", list);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
