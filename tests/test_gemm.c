/* The linear layer y = x W^T + b (our tiled GEMM) against the double reference: sizes of 1,
 * odd sizes and sizes off the tiles, with and without bias, offsets and row strides, both
 * kernel shapes, and invalid arguments. */
#include "test_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Float32 dot products of length k, in any summation order, differ from the exact value by
 * at most k u sum_i |x_i w_i| (plus u |y| for the final rounding and the bias). The test
 * checks each element against twice that bound, computed from the data. */
static bool close_to_bound(const float *got, const float *want, const float *x, size_t ldx,
                           const float *w, size_t ldw, size_t rows, size_t cols, size_t k,
                           size_t ldy) {
    size_t bad = 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            double abs_sum = 0.0;
            for (size_t i = 0; i < k; i++)
                abs_sum += fabs((double)x[r * ldx + i] * w[c * ldw + i]);
            double g = got[r * ldy + c], e = want[r * cols + c];
            double tol = 2.0 * ((double)k * TEST_U * abs_sum + 2 * TEST_U * fabs(e)) + 1e-30;
            if (!(fabs(g - e) <= tol)) {
                if (bad++ < 5)
                    fprintf(stderr, "\n    y[%zu][%zu]: got %.9g want %.9g (tol %.3g)", r, c, g, e,
                            tol);
            }
        }
    if (bad)
        fprintf(stderr, "\n    %zu values out of tolerance (%zux%zu, k %zu)\n", bad, rows, cols, k);
    return bad == 0;
}

/* One case through the enqueue form, with x, W and y at offsets and with padded rows when
 * `strided`, and a bias when `with_bias`. */
static void run_case_on(clattn_handle *h, size_t rows, size_t cols, size_t k, bool with_bias,
                        bool strided) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const size_t ldx = strided ? k + 5 : k, ldw = strided ? k + 3 : k;
    const size_t ldy = strided ? cols + 7 : cols;
    const size_t xo = strided ? 11 : 0, wo = strided ? 2 : 0, bo = strided ? 9 : 0;
    const size_t yo = strided ? 13 : 0;
    const size_t xn = xo + rows * ldx, wn = wo + cols * ldw, bn = bo + cols, yn = yo + rows * ldy;
    float *x = malloc(xn * sizeof *x), *w = malloc(wn * sizeof *w), *b = malloc(bn * sizeof *b);
    float *y = malloc(yn * sizeof *y), *want = malloc(rows * cols * sizeof *want);
    float *xp = malloc(rows * k * sizeof *xp), *wp = malloc(cols * k * sizeof *wp);
    CU_ASSERT_FATAL(x && w && b && y && want && xp && wp);
    uint64_t seed = 0x1234567ull + rows * 1000003 + cols * 7919 + k;
    test_fill(x, xn, &seed, -1, 1);
    test_fill(w, wn, &seed, -1, 1);
    test_fill(b, bn, &seed, -1, 1);
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < k; i++)
            xp[r * k + i] = x[xo + r * ldx + i];
    for (size_t c = 0; c < cols; c++)
        for (size_t i = 0; i < k; i++)
            wp[c * k + i] = w[wo + c * ldw + i];
    CU_ASSERT_EQUAL_FATAL(clattn_ref_linear(rows, cols, k, xp, wp, with_bias ? b + bo : NULL, want),
                          0);

    cl_context ctx = clattn_handle_context(h);
    cl_int err;
    cl_mem xm = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, xn * 4, x, &err);
    cl_mem wm = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, wn * 4, w, &err);
    cl_mem bm = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bn * 4, b, &err);
    cl_mem ym = clCreateBuffer(ctx, CL_MEM_READ_WRITE, yn * 4, NULL, &err);
    cl_event done = NULL;
    clattn_status status =
        clattn_enqueue_linear(h, NULL, rows, cols, k, xm, xo, ldx, wm, wo, ldw,
                              with_bias ? bm : NULL, bo, ym, yo, ldy, 0, NULL, &done);
    if (status) fprintf(stderr, "\n    %s\n", clattn_last_error_message());
    CU_ASSERT_EQUAL(status, CLATTN_SUCCESS);
    if (!status) {
        CU_ASSERT_EQUAL(
            clEnqueueReadBuffer(clattn_handle_queue(h), ym, CL_TRUE, 0, yn * 4, y, 1, &done, NULL),
            CL_SUCCESS);
        bool ok = close_to_bound(y + yo, want, xp, k, wp, k, rows, cols, k, ldy);
        if (!ok)
            fprintf(stderr, "    case %s rows %zu cols %zu k %zu bias %d strided %d\n",
                    test_variant_name(clattn_handle_variant(h)), rows, cols, k, with_bias, strided);
        CU_ASSERT(ok);
        clReleaseEvent(done);
    }
    clReleaseMemObject(xm), clReleaseMemObject(wm), clReleaseMemObject(bm);
    clReleaseMemObject(ym);
    free(x), free(w), free(b), free(y), free(want), free(xp), free(wp);
}

static void run_case(clattn_variant variant, size_t rows, size_t cols, size_t k, bool with_bias,
                     bool strided) {
    run_case_on(test_handle(variant), rows, cols, k, with_bias, strided);
}

static void test_sizes(void) {
    static const size_t sizes[][3] = {{1, 1, 1},      {1, 7, 3},      {7, 1, 3},      {3, 5, 17},
                                      {2, 3, 16},     {33, 65, 16},   {64, 64, 64},   {65, 63, 31},
                                      {113, 97, 100}, {16, 768, 768}, {130, 257, 129}};
    for (int v = 0; v < 2; v++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            for (int bias = 0; bias < 2; bias++)
                run_case(test_variants[v], sizes[i][0], sizes[i][1], sizes[i][2], bias, false);
}

static void test_strided(void) {
    static const size_t sizes[][3] = {{1, 1, 1}, {5, 9, 33}, {70, 66, 48}, {17, 200, 300}};
    for (int v = 0; v < 2; v++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            run_case(test_variants[v], sizes[i][0], sizes[i][1], sizes[i][2], i % 2 == 0, true);
}

/* The blocking form on packed arrays. */
static void test_blocking(void) {
    enum { R = 9, C = 21, K = 37 };
    float x[R * K], w[C * K], b[C], y[R * C], want[R * C];
    uint64_t seed = 5;
    test_fill(x, R * K, &seed, -1, 1);
    test_fill(w, C * K, &seed, -1, 1);
    test_fill(b, C, &seed, -1, 1);
    CU_ASSERT_EQUAL_FATAL(clattn_ref_linear(R, C, K, x, w, b, want), 0);
    for (int v = 0; v < 2; v++) {
        clattn_handle *h = test_handle(test_variants[v]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        CU_ASSERT_EQUAL(clattn_linear(h, R, C, K, x, w, b, y), 0);
        CU_ASSERT(close_to_bound(y, want, x, K, w, K, R, C, K, C));
    }
}

static void test_invalid(void) {
    clattn_handle *h = test_handle(CLATTN_VARIANT_GPU);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    float x[16] = {0}, y[16];
    CU_ASSERT_EQUAL(clattn_linear(NULL, 1, 1, 1, x, x, NULL, y), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_linear(h, 1, 1, 1, NULL, x, NULL, y), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_linear(h, 0, 1, 1, x, x, NULL, y), CLATTN_ERROR_INVALID_SIZE);
    CU_ASSERT_EQUAL(clattn_linear(h, 1, 1, 0, x, x, NULL, y), CLATTN_ERROR_INVALID_SIZE);
    CU_ASSERT_EQUAL(clattn_linear(h, SIZE_MAX / 2, 4, 4, x, x, NULL, y),
                    CLATTN_ERROR_SIZE_OVERFLOW);
    CU_ASSERT_EQUAL(clattn_ref_linear(1, 0, 1, x, x, NULL, y), CLATTN_ERROR_INVALID_SIZE);
    cl_int err;
    cl_context ctx = clattn_handle_context(h);
    cl_mem m = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 64 * sizeof(float), NULL, &err);
    cl_mem out = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 64 * sizeof(float), NULL, &err);
    /* ldx < k */
    CU_ASSERT_EQUAL(clattn_enqueue_linear(h, NULL, 2, 2, 4, m, 0, 3, m, 0, 4, NULL, 0, out, 0, 2, 0,
                                          NULL, NULL),
                    CLATTN_ERROR_INVALID_SHAPE);
    /* ldy < cols */
    CU_ASSERT_EQUAL(clattn_enqueue_linear(h, NULL, 2, 2, 4, m, 0, 4, m, 0, 4, NULL, 0, out, 0, 1, 0,
                                          NULL, NULL),
                    CLATTN_ERROR_INVALID_SHAPE);
    /* x needs 8 * 8 + offset floats */
    CU_ASSERT_EQUAL(clattn_enqueue_linear(h, NULL, 8, 2, 8, m, 1, 8, m, 0, 8, NULL, 0, out, 0, 2, 0,
                                          NULL, NULL),
                    CLATTN_ERROR_BUFFER_TOO_SMALL);
    /* bias needs 70 floats */
    CU_ASSERT_EQUAL(clattn_enqueue_linear(h, NULL, 1, 70, 1, m, 0, 1, out, 0, 1, m, 0, out, 0, 70,
                                          0, NULL, NULL),
                    CLATTN_ERROR_BUFFER_TOO_SMALL);
    /* y overlapping x */
    CU_ASSERT_EQUAL(clattn_enqueue_linear(h, NULL, 2, 2, 4, m, 0, 4, out, 0, 4, NULL, 0, m, 4, 2, 0,
                                          NULL, NULL),
                    CLATTN_ERROR_INVALID_VALUE);
    /* y after x in the same buffer is fine */
    CU_ASSERT_EQUAL(clattn_enqueue_linear(h, NULL, 2, 2, 4, m, 0, 4, out, 0, 4, NULL, 0, m, 8, 2, 0,
                                          NULL, NULL),
                    CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(clattn_enqueue_linear(h, NULL, 2, 2, 4, NULL, 0, 4, out, 0, 4, NULL, 0, m, 8, 2,
                                          0, NULL, NULL),
                    CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_enqueue_linear(h, NULL, 2, 2, 4, m, SIZE_MAX - 3, 4, out, 0, 4, NULL, 0,
                                          m, 8, 2, 0, NULL, NULL),
                    CLATTN_ERROR_SIZE_OVERFLOW);
    clFinish(clattn_handle_queue(h));
    clReleaseMemObject(m);
    clReleaseMemObject(out);
}

/* Small cases for running under Oclgrind (--data-races). */
static void test_small(void) {
    for (int v = 0; v < 2; v++) {
        run_case(test_variants[v], 5, 9, 33, true, true);
        run_case(test_variants[v], 17, 20, 3, false, false);
        run_case(test_variants[v], 66, 1, 17, true, false);
    }
}

/* The GPU shape on devices with small work-groups: the tile edge shrinks to fit. */
static void test_small_groups(void) {
    static const size_t limits[] = {64, 8, 1};
    for (size_t l = 0; l < 3; l++) {
        clattn_options options;
        clattn_options_init(&options);
        options.variant = CLATTN_VARIANT_GPU;
        options.max_work_group_size = limits[l];
        clattn_handle *h = NULL;
        CU_ASSERT_EQUAL_FATAL(clattn_handle_create(&options, &h), CLATTN_SUCCESS);
        run_case_on(h, 37, 45, 50, true, true);
        run_case_on(h, 1, 3, 1, false, false);
        clattn_handle_destroy(h);
    }
}

static void add_suites(void) {
    static const test_case small[] = {{"small", test_small}, {NULL, NULL}};
    test_add_suite("gemm_small", small);
    static const test_case cases[] = {
        {"sizes", test_sizes},     {"strided", test_strided},           {"blocking", test_blocking},
        {"invalid", test_invalid}, {"small_groups", test_small_groups}, {NULL, NULL}};
    test_add_suite("gemm", cases);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
