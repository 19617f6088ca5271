/* The fast CPU linear layer and multi-head attention (clattn_cpu_linear,
 * clattn_cpu_mha_forward) against the double-accumulating references: odd sizes, with and
 * without biases, causal and not, B > 1, heads 1/2/12, 1 and 2 threads (same bits), NaN
 * propagation, and invalid arguments; masks of every kind and shape, a padded batch of
 * sentences, bad masks; the model variants (mha_variants.c). No OpenCL. */
#include "mha_masked.h"
#include "mha_variants.h"
#include "mha_model.h"
#include "test_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *filled(size_t n, uint64_t *seed, float lo, float hi) {
    float *a = malloc((n ? n : 1) * sizeof *a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    test_fill(a, n, seed, lo, hi);
    return a;
}

static float *abs_copy(const float *a, size_t n) {
    float *b = malloc(n * sizeof *b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    for (size_t i = 0; i < n; i++)
        b[i] = fabsf(a[i]);
    return b;
}

/* ---- linear -------------------------------------------------------------------------- */

/* Checks one product against the reference. Bound: the tile path sums the bias and k
 * products in order (FMA or multiply-add), so |error| <= (k + 1) u * (|b| + sum |x_i w_i|)
 * (the recursive-summation bound gamma_(k+1)); the few-rows path sums ceil(k / 16) products
 * per lane, then 4 pairwise levels and the bias: (k / 16 + 6) u times the same. Both are
 * below (k + 5) u; the reference's double result is rounded to float (u |y|, at most u
 * times the magnitude), so the tolerance is (k + 6) u times the magnitude, which the
 * reference computes from |x|, |W|, |b| (its own float rounding covered by the 1.001). */
static void check_linear(size_t rows, size_t cols, size_t k, bool bias, uint64_t seed) {
    float *x = filled(rows * k, &seed, -1, 1), *w = filled(cols * k, &seed, -1, 1);
    float *b = bias ? filled(cols, &seed, -1, 1) : NULL;
    float *want = malloc(rows * cols * sizeof *want), *got = malloc(rows * cols * sizeof *got);
    float *mag = malloc(rows * cols * sizeof *mag);
    CU_ASSERT_FATAL(want && got && mag);
    float *ax = abs_copy(x, rows * k), *aw = abs_copy(w, cols * k);
    float *ab = b ? abs_copy(b, cols) : NULL;
    CU_ASSERT_EQUAL_FATAL(clattn_ref_linear(rows, cols, k, x, w, b, want), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL_FATAL(clattn_ref_linear(rows, cols, k, ax, aw, ab, mag), CLATTN_SUCCESS);
    memset(got, 0xff, rows * cols * sizeof *got); /* NaN: every element must be written */
    CU_ASSERT_EQUAL(clattn_cpu_linear(rows, cols, k, x, w, b, got), CLATTN_SUCCESS);
    size_t bad = 0;
    for (size_t i = 0; i < rows * cols; i++) {
        const double tol = (double)(k + 6) * TEST_U * mag[i] * 1.001 + 1e-30;
        if (!(fabs((double)got[i] - want[i]) <= tol) && bad++ < 3)
            fprintf(stderr, "\n    linear %zux%zux%zu bias %d: y[%zu] = %.9g, want %.9g\n", rows,
                    cols, k, bias, i, got[i], want[i]);
    }
    CU_ASSERT_EQUAL(bad, 0);
    free(x), free(w), free(b), free(want), free(got), free(mag), free(ax), free(aw), free(ab);
}

static void test_linear_sizes(void) {
    /* 37 and 100: partial 8-row groups, 32-column panels and 64-row tasks; 257 and 768: one
     * or more whole 256-long reduction chunks plus a partial one or none. */
    const size_t sizes[] = {1, 3, 37, 100, 257, 768};
    const size_t count = sizeof sizes / sizeof *sizes;
    uint64_t seed = 1;
    for (size_t a = 0; a < count; a++)
        for (size_t b = 0; b < count; b++)
            for (size_t c = 0; c < count; c++) {
                const size_t rows = sizes[a], cols = sizes[b], k = sizes[c];
                if ((double)rows * cols * k > 3e7) continue; /* keep the reference quick */
                check_linear(rows, cols, k, (a + b + c) % 2 == 0, seed++);
            }
    check_linear(100, 768, 768, true, 77);
    check_linear(768, 100, 768, false, 78);
    for (size_t rows = 20; rows <= 28; rows++) /* both sides of the few-rows path's limit */
        check_linear(rows, 70, 33, rows % 2, 200 + rows);
}

/* The task split does not depend on the thread count: 1 and 2 threads give the same bits. */
static void same_bits_1_and_2_threads(size_t rows, size_t cols, size_t k) {
    uint64_t seed = 99 + rows;
    float *x = filled(rows * k, &seed, -1, 1), *w = filled(cols * k, &seed, -1, 1);
    float *b = filled(cols, &seed, -1, 1);
    float *one = malloc(rows * cols * sizeof *one), *two = malloc(rows * cols * sizeof *two);
    CU_ASSERT_FATAL(one && two);
    clattn_cpu_set_threads(1);
    CU_ASSERT_EQUAL(clattn_cpu_linear(rows, cols, k, x, w, b, one), CLATTN_SUCCESS);
    clattn_cpu_set_threads(2);
    CU_ASSERT_EQUAL(clattn_cpu_linear(rows, cols, k, x, w, b, two), CLATTN_SUCCESS);
    clattn_cpu_set_threads(0);
    CU_ASSERT(memcmp(one, two, rows * cols * sizeof *one) == 0);
    free(x), free(w), free(b), free(one), free(two);
}

static void test_linear_threads(void) {
    /* Large enough that 2 threads are used (clattn__cpu_threads_for). */
    same_bits_1_and_2_threads(203, 150, 300);
    same_bits_1_and_2_threads(3, 1000, 600); /* the few-rows path */
    for (unsigned t = 1; t <= 2; t++) {
        clattn_cpu_set_threads(t);
        check_linear(203, 150, 300, true, 100 + t);
        check_linear(3, 1000, 600, false, 110 + t);
    }
    clattn_cpu_set_threads(0);
}

/* A NaN in x reaches exactly its row of y; an inf in W its column (inf or NaN there). */
static void test_linear_nan(void) {
    const size_t rows = 11, cols = 40, k = 9;
    uint64_t seed = 5;
    float *x = filled(rows * k, &seed, -1, 1), *w = filled(cols * k, &seed, 0.5f, 1);
    float *y = malloc(rows * cols * sizeof *y);
    CU_ASSERT_FATAL(y != NULL);
    x[3 * k + 4] = NAN;
    w[33 * k + 2] = INFINITY;
    CU_ASSERT_EQUAL(clattn_cpu_linear(rows, cols, k, x, w, NULL, y), CLATTN_SUCCESS);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            const float v = y[r * cols + c];
            const bool expected = r == 3 ? isnan(v) : c == 33 ? !isfinite(v) : isfinite(v);
            CU_ASSERT(expected);
        }
    free(x), free(w), free(y);
}

static void test_linear_invalid(void) {
    float a[16] = {0}, y[16];
    CU_ASSERT_EQUAL(clattn_cpu_linear(2, 2, 2, a, a, NULL, y), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(clattn_cpu_linear(2, 2, 2, NULL, a, a, y), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_cpu_linear(2, 2, 2, a, NULL, a, y), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_cpu_linear(2, 2, 2, a, a, a, NULL), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT(strlen(clattn_last_error_message()) > 0);
    CU_ASSERT_EQUAL(clattn_cpu_linear(0, 2, 2, a, a, a, y), CLATTN_ERROR_INVALID_SIZE);
    CU_ASSERT_EQUAL(clattn_cpu_linear(2, 0, 2, a, a, a, y), CLATTN_ERROR_INVALID_SIZE);
    CU_ASSERT_EQUAL(clattn_cpu_linear(2, 2, 0, a, a, a, y), CLATTN_ERROR_INVALID_SIZE);
    CU_ASSERT_EQUAL(clattn_cpu_linear(SIZE_MAX / 2, 2, 4, a, a, a, y), CLATTN_ERROR_SIZE_OVERFLOW);
    CU_ASSERT_EQUAL(clattn_cpu_linear(2, SIZE_MAX / 4, 2, a, a, a, y), CLATTN_ERROR_SIZE_OVERFLOW);
}

/* ---- multi-head attention --------------------------------------------------------------- */

static void run_case(const mcase *c) {
    model m;
    make_model(c, &m, 0xabcdef12345ull + c->t * 31 + c->d_out);
    const size_t on = c->b * c->t * c->d_out;
    float *got = malloc(on * sizeof *got), *want = malloc(on * sizeof *want);
    CU_ASSERT_FATAL(got && want);
    clattn_mha_desc desc = mha_desc_of(c);
    CU_ASSERT_EQUAL_FATAL(clattn_ref_mha_forward(&desc, &m.w, m.x, want), CLATTN_SUCCESS);
    memset(got, 0xff, on * sizeof *got);
    clattn_status status = clattn_cpu_mha_forward(&desc, &m.w, m.x, got);
    if (status) fprintf(stderr, "\n    %s\n", clattn_last_error_message());
    CU_ASSERT_EQUAL(status, CLATTN_SUCCESS);
    if (!status) {
        bool ok = test_close(got, want, on, mha_tolerance(c), 0, "cpu mha");
        if (!ok)
            fprintf(stderr, "    case b%zu t%zu d_in%zu d_out%zu heads%zu causal%d bias%d\n", c->b,
                    c->t, c->d_in, c->d_out, c->heads, c->causal, c->bias);
        CU_ASSERT(ok);
    }
    free(got), free(want);
    free_model(&m);
}

static void test_mha_small(void) {
    const mcase cases[] = {
        {1, 1, 1, 1, 1, 0, 0},    {1, 1, 1, 1, 1, 1, 1},     {1, 3, 3, 2, 2, 1, 1},
        {1, 7, 5, 6, 2, 1, 1},    {2, 9, 16, 12, 4, 0, 1},   {3, 33, 20, 24, 4, 1, 0},
        {2, 17, 48, 64, 1, 1, 1}, {2, 37, 37, 24, 12, 0, 0}, {1, 100, 3, 36, 12, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}

static void test_mha_layer_sizes(void) {
    const mcase cases[] = {
        {1, 16, 768, 768, 12, 0, 1}, /* a GPT-2 layer's shape */
        {2, 37, 768, 768, 12, 1, 1},
        {1, 130, 100, 96, 2, 1, 0}, /* more than one 128-row attention block */
        {2, 40, 64, 512, 2, 1, 1},  /* head dim 256, the largest */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}

/* 1 and 2 threads: both within tolerance and the same bits (fixed task splits). */
static void test_mha_threads(void) {
    const mcase c = {2, 70, 96, 96, 2, 1, 1};
    model m;
    make_model(&c, &m, 31337);
    const size_t on = c.b * c.t * c.d_out;
    float *one = malloc(on * sizeof *one), *two = malloc(on * sizeof *two);
    CU_ASSERT_FATAL(one && two);
    clattn_mha_desc desc = mha_desc_of(&c);
    clattn_cpu_set_threads(1);
    CU_ASSERT_EQUAL(clattn_cpu_mha_forward(&desc, &m.w, m.x, one), CLATTN_SUCCESS);
    run_case(&c);
    clattn_cpu_set_threads(2);
    CU_ASSERT_EQUAL(clattn_cpu_mha_forward(&desc, &m.w, m.x, two), CLATTN_SUCCESS);
    run_case(&c);
    clattn_cpu_set_threads(0);
    CU_ASSERT(memcmp(one, two, on * sizeof *one) == 0);
    free(one), free(two);
    free_model(&m);
}

static void test_mha_invalid(void) {
    float a[64] = {0}, out[64];
    clattn_mha_weights w = {a, a, a, a, NULL, NULL, NULL, NULL, NULL};
    clattn_mha_desc ok = {.batch = 1, .tokens = 2, .d_in = 4, .d_out = 4, .heads = 2}, bad;
    CU_ASSERT_EQUAL(clattn_cpu_mha_forward(&ok, &w, a, out), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(clattn_cpu_mha_forward(NULL, &w, a, out), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_cpu_mha_forward(&ok, NULL, a, out), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_cpu_mha_forward(&ok, &w, NULL, out), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_cpu_mha_forward(&ok, &w, a, NULL), CLATTN_ERROR_NULL_POINTER);
    for (int i = 0; i < 4; i++) {
        clattn_mha_weights missing = w;
        const float **required[4] = {&missing.wq, &missing.wk, &missing.wv, &missing.wo};
        *required[i] = NULL;
        CU_ASSERT_EQUAL(clattn_cpu_mha_forward(&ok, &missing, a, out), CLATTN_ERROR_NULL_POINTER);
    }
    size_t *sizes[5] = {&bad.batch, &bad.tokens, &bad.d_in, &bad.d_out, &bad.heads};
    for (int i = 0; i < 5; i++) {
        bad = ok, *sizes[i] = 0;
        CU_ASSERT_EQUAL(clattn_cpu_mha_forward(&bad, &w, a, out), CLATTN_ERROR_INVALID_SIZE);
    }
    bad = ok, bad.heads = 3; /* 4 % 3 */
    CU_ASSERT_EQUAL(clattn_cpu_mha_forward(&bad, &w, a, out), CLATTN_ERROR_INVALID_SHAPE);
    bad = ok, bad.d_out = 257, bad.heads = 1; /* head dim above 256 */
    CU_ASSERT_EQUAL(clattn_cpu_mha_forward(&bad, &w, a, out), CLATTN_ERROR_INVALID_SIZE);
    bad = ok, bad.tokens = SIZE_MAX / 2;
    CU_ASSERT_EQUAL(clattn_cpu_mha_forward(&bad, &w, a, out), CLATTN_ERROR_SIZE_OVERFLOW);
    CU_ASSERT(strlen(clattn_last_error_message()) > 0);
}

static clattn_status cpu_masked(void *unused, const clattn_mha_desc *desc,
                                const clattn_mha_weights *w, const float *x, const void *mask,
                                float *out) {
    (void)unused;
    return clattn_cpu_mha_forward_masked(desc, w, x, mask, out);
}

static clattn_status cpu_plain(void *unused, const clattn_mha_desc *desc,
                               const clattn_mha_weights *w, const float *x, float *out) {
    (void)unused;
    return clattn_cpu_mha_forward(desc, w, x, out);
}

static void test_mha_padded_batch(void) {
    check_mha_padded_batch(cpu_masked, NULL, "cpu");
}

static void test_mha_mask_shapes(void) {
    check_mha_mask_shapes(cpu_masked, NULL, "cpu");
}

static void test_mha_mask_invalid(void) {
    check_mha_mask_invalid(cpu_masked, NULL, cpu_plain);
}

static void test_mha_variants(void) {
    check_mha_variants(cpu_masked, NULL, "cpu", false);
}

static void test_mha_dropout(void) {
    check_mha_dropout(cpu_masked, NULL, "cpu");
}

static void test_mha_variants_invalid(void) {
    check_mha_variants_invalid(cpu_masked, NULL);
}

static void add_suites(void) {
    static const test_case linear_cases[] = {{"sizes", test_linear_sizes},
                                             {"threads", test_linear_threads},
                                             {"nan", test_linear_nan},
                                             {"invalid", test_linear_invalid},
                                             {NULL, NULL}};
    static const test_case mha_cases[] = {{"small", test_mha_small},
                                          {"layer_sizes", test_mha_layer_sizes},
                                          {"threads", test_mha_threads},
                                          {"invalid", test_mha_invalid},
                                          {"padded_batch", test_mha_padded_batch},
                                          {"mask_shapes", test_mha_mask_shapes},
                                          {"mask_invalid", test_mha_mask_invalid},
                                          {"variants", test_mha_variants},
                                          {"dropout", test_mha_dropout},
                                          {"variants_invalid", test_mha_variants_invalid},
                                          {NULL, NULL}};
    test_add_suite("cpu_linear", linear_cases);
    test_add_suite("cpu_mha", mha_cases);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
