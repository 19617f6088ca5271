/* The materialising attention-weights path against the double-precision reference: head
 * dims, M != N, causal alignments, both mask kinds, fully masked rows, GQA, offsets and
 * strides, NaN, both kernel shapes, the event contract and invalid arguments. */
#include "test_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct wcase {
    size_t b, hq, hkv, m, n, d;
    clattn_causal causal;
    clattn_mask_kind mask;
    clattn_norm norm;
    bool strided;       /* offsets and padded strides for q, k and the mask */
    bool masked_row;    /* the mask hides every key from query row 0 */
    bool mask_per_head; /* the mask has its own [B, Hq] copies instead of broadcasting */
} wcase;

static size_t extent(const clattn_layout *l, size_t b, size_t h, size_t r, size_t c) {
    return l->offset + (b - 1) * l->stride[0] + (h - 1) * l->stride[1] + (r - 1) * l->stride[2] + c;
}

/* A layout with an offset and gaps between rows, heads and batches. */
static clattn_layout padded(size_t heads, size_t rows, size_t cols) {
    size_t row = cols + 3, head = rows * row + 2;
    return (clattn_layout){5, {heads * head + 1, head, row}};
}

/* Tolerance, relative per weight. A score's float32 dot product differs from the exact one
 * by at most d*u*scale*sum|q_c k_c| <= d^1.5 u for |q|, |k| <= 1 and scale 1/sqrt(d); a
 * softmax weight inherits twice that relatively (its own score and the max/sum), plus the
 * rounding of an N-term sum (N u) and exp's few ulp. SUM weights (positive data, so the
 * scores' sums are well conditioned) get d u per score instead of d^1.5 u. NONE returns the
 * scores: an absolute bound of d^1.5 u. */
static bool compare(const wcase *c, const float *got, const float *want, size_t count) {
    const double d = (double)c->d, n = (double)c->n;
    if (c->norm == CLATTN_NORM_NONE)
        return test_close(got, want, count, 2 * pow(d, 1.5) * TEST_U + 4 * TEST_U, 4 * TEST_U,
                          "scores");
    double per_score = c->norm == CLATTN_NORM_SUM ? d : pow(d, 1.5);
    double rtol = (4 * per_score + 2 * n + 16) * TEST_U;
    return test_close(got, want, count, 1e-9, rtol, "weights");
}

static void run_case_on(clattn_handle *h, const wcase *c) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, c->b, c->hq, c->hkv, c->m, c->n, c->d, c->d);
    desc.causal = c->causal;
    desc.mask_kind = c->mask;
    desc.norm = c->norm;
    if (c->strided) {
        desc.q = padded(c->hq, c->m, c->d);
        desc.k = padded(c->hkv, c->n, c->d);
    }
    if (c->mask_per_head) desc.mask = (clattn_layout){0, {c->hq * c->m * c->n, c->m * c->n, c->n}};
    if (c->strided) desc.mask = (clattn_layout){3, {0, 0, c->n + 1}};

    size_t qn = extent(&desc.q, c->b, c->hq, c->m, c->d);
    size_t kn = extent(&desc.k, c->b, c->hkv, c->n, c->d);
    size_t mn = c->mask ? extent(&desc.mask, c->b, c->hq, c->m, c->n) : 0;
    size_t wn = c->b * c->hq * c->m * c->n;
    float *q = malloc(qn * sizeof *q), *k = malloc(kn * sizeof *k);
    float *got = malloc(wn * sizeof *got), *want = malloc(wn * sizeof *want);
    float *fmask = malloc((mn + 1) * sizeof *fmask);
    unsigned char *bmask = malloc(mn + 1);
    CU_ASSERT_FATAL(q && k && got && want && fmask && bmask);

    uint64_t seed = 0x9e3779b97f4a7c15ull ^ (c->m * 131 + c->n * 7 + c->d);
    const bool positive = c->norm == CLATTN_NORM_SUM;
    test_fill(q, qn, &seed, positive ? 0.0f : -1.0f, 1.0f);
    test_fill(k, kn, &seed, positive ? 0.0f : -1.0f, 1.0f);
    test_fill(fmask, mn, &seed, positive ? 0.0f : -2.0f, positive ? 1.0f : 0.0f);
    for (size_t i = 0; i < mn; i++) {
        bmask[i] = (fmask[i] * 1000.0f - floorf(fmask[i] * 1000.0f)) < 0.7f; /* ~70% attend */
        if (!bmask[i]) fmask[i] = -INFINITY;
    }
    if (c->masked_row) { /* query row 0 of every head sees nothing */
        for (size_t b = 0; b < c->b; b++)
            for (size_t hh = 0; hh < c->hq; hh++)
                for (size_t j = 0; j < c->n; j++) {
                    size_t at =
                        desc.mask.offset + b * desc.mask.stride[0] + hh * desc.mask.stride[1] + j;
                    fmask[at] = -INFINITY;
                    bmask[at] = 0;
                }
    }
    const void *mask = c->mask == CLATTN_MASK_BOOLEAN ? (const void *)bmask : (const void *)fmask;
    if (c->mask == CLATTN_MASK_NONE) mask = NULL;

    CU_ASSERT_EQUAL_FATAL(clattn_ref_attention_weights(&desc, q, k, mask, want), CLATTN_SUCCESS);
    memset(got, 0x7f, wn * sizeof *got);
    clattn_status status = clattn_attention_weights(h, &desc, q, k, mask, got);
    if (status)
        fprintf(stderr, "\n    %s: %s\n", clattn_status_string(status),
                clattn_last_error_message());
    CU_ASSERT_EQUAL(status, CLATTN_SUCCESS);
    if (!status) {
        bool ok = compare(c, got, want, wn);
        if (!ok)
            fprintf(stderr,
                    "    case %s b%zu hq%zu hkv%zu m%zu n%zu d%zu causal%d mask%d norm%d "
                    "strided%d\n",
                    test_variant_name(clattn_handle_variant(h)), c->b, c->hq, c->hkv, c->m, c->n,
                    c->d, c->causal, c->mask, c->norm, c->strided);
        CU_ASSERT(ok);
    }
    if (c->masked_row && !status && c->norm != CLATTN_NORM_NONE) {
        bool zeros = true;
        for (size_t j = 0; j < c->n; j++)
            zeros = zeros && got[j] == 0.0f;
        CU_ASSERT(zeros);
    }
    free(q), free(k), free(got), free(want), free(fmask), free(bmask);
}

static void run_case(clattn_variant variant, const wcase *c) {
    run_case_on(test_handle(variant), c);
}

static void run_cases(const wcase *cases, size_t count) {
    for (int v = 0; v < 2; v++)
        for (size_t i = 0; i < count; i++)
            run_case(test_variants[v], &cases[i]);
}

#define SOFT   CLATTN_NORM_SOFTMAX
#define NOC    CLATTN_CAUSAL_NONE
#define NOMASK CLATTN_MASK_NONE

static void test_sizes(void) {
    static const size_t dims[] = {1, 3, 64, 128};
    static const size_t mn[][2] = {{1, 1}, {7, 113}, {113, 7}, {1, 1000}, {113, 1000}};
    for (size_t di = 0; di < 4; di++)
        for (size_t s = 0; s < 5; s++) {
            wcase c = {1, 1, 1, mn[s][0], mn[s][1], dims[di], NOC, NOMASK, SOFT, 0, 0, 0};
            run_cases(&c, 1);
        }
    wcase big = {1, 1, 1, 1000, 1000, 64, NOC, NOMASK, SOFT, 0, 0, 0};
    run_cases(&big, 1);
}

static void test_causal(void) {
    const wcase cases[] = {
        {1, 2, 2, 113, 113, 64, CLATTN_CAUSAL_TOP_LEFT, NOMASK, SOFT, 0, 0, 0},
        {1, 2, 2, 7, 113, 3, CLATTN_CAUSAL_TOP_LEFT, NOMASK, SOFT, 0, 0, 0},
        {1, 2, 2, 113, 7, 3, CLATTN_CAUSAL_TOP_LEFT, NOMASK, SOFT, 0, 0, 0},
        {1, 2, 2, 7, 113, 64, CLATTN_CAUSAL_BOTTOM_RIGHT, NOMASK, SOFT, 0, 0, 0},
        /* M > N bottom-right: the first M - N rows see no key and must be zeros. */
        {1, 2, 2, 113, 7, 64, CLATTN_CAUSAL_BOTTOM_RIGHT, NOMASK, SOFT, 0, 0, 0},
        {1, 1, 1, 1, 1000, 128, CLATTN_CAUSAL_BOTTOM_RIGHT, NOMASK, SOFT, 0, 0, 0},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_masks(void) {
    const wcase cases[] = {
        {1, 1, 1, 113, 113, 64, NOC, CLATTN_MASK_ADDITIVE, SOFT, 0, 1, 0},
        {1, 1, 1, 113, 113, 64, NOC, CLATTN_MASK_BOOLEAN, SOFT, 0, 1, 0},
        {2, 2, 1, 7, 1000, 3, NOC, CLATTN_MASK_BOOLEAN, SOFT, 0, 1, 1},
        {2, 2, 2, 113, 7, 1, CLATTN_CAUSAL_TOP_LEFT, CLATTN_MASK_ADDITIVE, SOFT, 0, 1, 1},
        {1, 2, 2, 113, 113, 64, CLATTN_CAUSAL_BOTTOM_RIGHT, CLATTN_MASK_BOOLEAN, SOFT, 1, 1, 0},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_gqa_strides(void) {
    const wcase cases[] = {
        {2, 8, 2, 7, 113, 64, NOC, NOMASK, SOFT, 0, 0, 0},
        {2, 4, 1, 113, 7, 3, CLATTN_CAUSAL_TOP_LEFT, NOMASK, SOFT, 1, 0, 0},
        {3, 4, 4, 7, 113, 128, NOC, CLATTN_MASK_ADDITIVE, SOFT, 1, 0, 0},
        {2, 4, 2, 113, 113, 1, NOC, CLATTN_MASK_BOOLEAN, SOFT, 1, 1, 0},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_norms(void) {
    const wcase cases[] = {
        {1, 2, 1, 113, 113, 64, NOC, NOMASK, CLATTN_NORM_SUM, 0, 0, 0},
        {1, 1, 1, 7, 1000, 3, CLATTN_CAUSAL_TOP_LEFT, CLATTN_MASK_BOOLEAN, CLATTN_NORM_SUM, 0, 1,
         0},
        {1, 1, 1, 113, 7, 128, NOC, CLATTN_MASK_ADDITIVE, CLATTN_NORM_SUM, 1, 1, 0},
        {1, 2, 2, 113, 113, 64, CLATTN_CAUSAL_TOP_LEFT, CLATTN_MASK_ADDITIVE, CLATTN_NORM_NONE, 0,
         0, 0},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

/* A NaN in q row 2 fills that row with NaN and leaves the others; a NaN in a key that the
 * causal mask hides from row 0 does not reach row 0. */
static void test_nan(void) {
    for (int v = 0; v < 2; v++) {
        clattn_handle *h = test_handle(test_variants[v]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        enum { M = 5, N = 9, D = 17 };
        clattn_attention_desc desc;
        clattn_attention_desc_init(&desc, 1, 1, 1, M, N, D, D);
        desc.causal = CLATTN_CAUSAL_TOP_LEFT;
        float q[M * D], k[N * D], got[M * N], want[M * N];
        uint64_t seed = 77;
        test_fill(q, M * D, &seed, -1, 1);
        test_fill(k, N * D, &seed, -1, 1);
        q[2 * D + 4] = NAN;
        k[3 * D + 1] = NAN; /* key 3: seen by rows 3 and 4 only */
        CU_ASSERT_EQUAL_FATAL(clattn_ref_attention_weights(&desc, q, k, NULL, want), 0);
        CU_ASSERT_EQUAL_FATAL(clattn_attention_weights(h, &desc, q, k, NULL, got), 0);
        for (int i = 0; i < M; i++) {
            bool nan_row = i >= 2;
            for (int j = 0; j < N; j++)
                CU_ASSERT(isnan(got[i * N + j]) == nan_row);
        }
        CU_ASSERT(test_close(got, want, M * N, 1e-9, 64 * TEST_U, "nan case"));
    }
}

/* The wait list gates the kernels and the returned event covers them, on an out-of-order
 * queue when the device has one. */
static void test_events(void) {
    for (int v = 0; v < 2; v++) {
        clattn_handle *h = test_handle(test_variants[v]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        cl_context ctx = clattn_handle_context(h);
        cl_device_id dev = clattn_handle_device(h);
        cl_int err;
        cl_command_queue queue =
            clCreateCommandQueue(ctx, dev, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
        if (err) queue = clCreateCommandQueue(ctx, dev, 0, &err);
        CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
        enum { M = 33, N = 47, D = 20 };
        clattn_attention_desc desc;
        clattn_attention_desc_init(&desc, 1, 1, 1, M, N, D, D);
        float q[M * D], k[N * D], got[M * N], want[M * N];
        uint64_t seed = 99;
        test_fill(q, M * D, &seed, -1, 1);
        test_fill(k, N * D, &seed, -1, 1);
        cl_mem qm = clCreateBuffer(ctx, CL_MEM_READ_ONLY, sizeof q, NULL, &err);
        cl_mem km = clCreateBuffer(ctx, CL_MEM_READ_ONLY, sizeof k, NULL, &err);
        cl_mem wm = clCreateBuffer(ctx, CL_MEM_READ_WRITE, sizeof got, NULL, &err);
        cl_event gate = clCreateUserEvent(ctx, &err), writes[2], done = NULL;
        clEnqueueWriteBuffer(queue, qm, CL_FALSE, 0, sizeof q, q, 1, &gate, &writes[0]);
        clEnqueueWriteBuffer(queue, km, CL_FALSE, 0, sizeof k, k, 1, &gate, &writes[1]);
        CU_ASSERT_EQUAL(
            clattn_enqueue_attention_weights(h, queue, &desc, qm, km, NULL, wm, 2, writes, &done),
            CLATTN_SUCCESS);
        CU_ASSERT_PTR_NOT_NULL_FATAL(done);
        cl_int state = 0;
        clGetEventInfo(done, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof state, &state, NULL);
        CU_ASSERT(state != CL_COMPLETE); /* still gated by the user event */
        clSetUserEventStatus(gate, CL_COMPLETE);
        CU_ASSERT_EQUAL(clEnqueueReadBuffer(queue, wm, CL_TRUE, 0, sizeof got, got, 1, &done, NULL),
                        CL_SUCCESS);
        CU_ASSERT_EQUAL(clattn_ref_attention_weights(&desc, q, k, NULL, want), 0);
        CU_ASSERT(test_close(got, want, M * N, 1e-9, 1e-5, "events"));
        /* NULL done is allowed. */
        CU_ASSERT_EQUAL(
            clattn_enqueue_attention_weights(h, queue, &desc, qm, km, NULL, wm, 0, NULL, NULL), 0);
        clFinish(queue);
        clReleaseEvent(done), clReleaseEvent(gate), clReleaseEvent(writes[0]);
        clReleaseEvent(writes[1]);
        clReleaseMemObject(qm), clReleaseMemObject(km), clReleaseMemObject(wm);
        clReleaseCommandQueue(queue);
    }
}

static void test_invalid(void) {
    clattn_handle *h = test_handle(CLATTN_VARIANT_CPU);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    float q[64] = {0}, k[64] = {0}, w[64];
    clattn_attention_desc desc, bad;
    clattn_attention_desc_init(&desc, 1, 2, 2, 2, 2, 4, 4);
    CU_ASSERT_EQUAL(clattn_attention_weights(NULL, &desc, q, k, NULL, w),
                    CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_attention_weights(h, NULL, q, k, NULL, w), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_attention_weights(h, &desc, NULL, k, NULL, w),
                    CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_ref_attention_weights(&desc, q, k, NULL, NULL),
                    CLATTN_ERROR_NULL_POINTER);
    bad = desc, bad.mask_kind = CLATTN_MASK_BOOLEAN; /* mask kind set, mask NULL */
    CU_ASSERT_EQUAL(clattn_attention_weights(h, &bad, q, k, NULL, w), CLATTN_ERROR_NULL_POINTER);
    bad = desc, bad.m = 0;
    CU_ASSERT_EQUAL(clattn_attention_weights(h, &bad, q, k, NULL, w), CLATTN_ERROR_INVALID_SIZE);
    CU_ASSERT_EQUAL(clattn_ref_attention_weights(&bad, q, k, NULL, w), CLATTN_ERROR_INVALID_SIZE);
    bad = desc, bad.d = 0;
    CU_ASSERT_EQUAL(clattn_attention_weights(h, &bad, q, k, NULL, w), CLATTN_ERROR_INVALID_SIZE);
    bad = desc, bad.kv_heads = 0;
    CU_ASSERT_EQUAL(clattn_attention_weights(h, &bad, q, k, NULL, w), CLATTN_ERROR_INVALID_SIZE);
    clattn_attention_desc_init(&bad, 1, 3, 2, 2, 2, 4, 4); /* Hq not a multiple of Hkv */
    CU_ASSERT_EQUAL(clattn_attention_weights(h, &bad, q, k, NULL, w), CLATTN_ERROR_INVALID_SHAPE);
    bad = desc, bad.norm = (clattn_norm)7;
    CU_ASSERT_EQUAL(clattn_attention_weights(h, &bad, q, k, NULL, w), CLATTN_ERROR_INVALID_VALUE);
    bad = desc, bad.causal = (clattn_causal)3;
    CU_ASSERT_EQUAL(clattn_attention_weights(h, &bad, q, k, NULL, w), CLATTN_ERROR_INVALID_VALUE);
    bad = desc, bad.mask_kind = (clattn_mask_kind)9;
    CU_ASSERT_EQUAL(clattn_attention_weights(h, &bad, q, k, NULL, w), CLATTN_ERROR_INVALID_VALUE);
    bad = desc, bad.scale = INFINITY;
    CU_ASSERT_EQUAL(clattn_attention_weights(h, &bad, q, k, NULL, w), CLATTN_ERROR_INVALID_VALUE);
    bad = desc, bad.q.stride[2] = 3; /* rows of q overlap */
    CU_ASSERT_EQUAL(clattn_attention_weights(h, &bad, q, k, NULL, w), CLATTN_ERROR_INVALID_SHAPE);
    bad = desc, bad.mask_kind = CLATTN_MASK_ADDITIVE, bad.mask.stride[2] = 1;
    CU_ASSERT_EQUAL(clattn_attention_weights(h, &bad, q, k, q, w), CLATTN_ERROR_INVALID_SHAPE);
    clattn_attention_desc_init(&bad, 1, 1, 1, SIZE_MAX / 2, SIZE_MAX / 2, 4, 4);
    CU_ASSERT_EQUAL(clattn_attention_weights(h, &bad, q, k, NULL, w), CLATTN_ERROR_SIZE_OVERFLOW);
    bad = desc, bad.k.offset = SIZE_MAX - 2;
    CU_ASSERT_EQUAL(clattn_attention_weights(h, &bad, q, k, NULL, w), CLATTN_ERROR_SIZE_OVERFLOW);
    CU_ASSERT_STRING_NOT_EQUAL(clattn_last_error_message(), "");

    /* Enqueue form: buffers too small, NULL buffers, wait list disagreeing. */
    cl_int err;
    cl_context ctx = clattn_handle_context(h);
    cl_mem small = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 8, NULL, &err);
    cl_mem big = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4096, NULL, &err);
    CU_ASSERT_EQUAL(
        clattn_enqueue_attention_weights(h, NULL, &desc, small, big, NULL, big, 0, NULL, NULL),
        CLATTN_ERROR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(
        clattn_enqueue_attention_weights(h, NULL, &desc, big, big, NULL, small, 0, NULL, NULL),
        CLATTN_ERROR_BUFFER_TOO_SMALL);
    bad = desc, bad.mask_kind = CLATTN_MASK_BOOLEAN, bad.mask.stride[2] = 8; /* needs 10 bytes */
    CU_ASSERT_EQUAL(
        clattn_enqueue_attention_weights(h, NULL, &bad, big, big, small, big, 0, NULL, NULL),
        CLATTN_ERROR_BUFFER_TOO_SMALL);
    bad.mask.stride[2] = 6; /* needs 8 bytes: fits */
    CU_ASSERT_EQUAL(
        clattn_enqueue_attention_weights(h, NULL, &bad, big, big, small, big, 0, NULL, NULL), 0);
    CU_ASSERT_EQUAL(
        clattn_enqueue_attention_weights(h, NULL, &desc, NULL, big, NULL, big, 0, NULL, NULL),
        CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(
        clattn_enqueue_attention_weights(h, NULL, &desc, big, big, NULL, big, 1, NULL, NULL),
        CLATTN_ERROR_NULL_POINTER);
    clFinish(clattn_handle_queue(h));
    clReleaseMemObject(small);
    clReleaseMemObject(big);
}

/* Small cases of every feature for running under Oclgrind (--data-races). */
static void test_small(void) {
    const wcase cases[] = {
        {2, 4, 2, 7, 9, 5, CLATTN_CAUSAL_TOP_LEFT, CLATTN_MASK_BOOLEAN, SOFT, 1, 1, 0},
        {1, 2, 2, 17, 19, 33, CLATTN_CAUSAL_BOTTOM_RIGHT, CLATTN_MASK_ADDITIVE, SOFT, 0, 0, 1},
        {1, 1, 1, 3, 40, 16, NOC, NOMASK, CLATTN_NORM_SUM, 0, 0, 0},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

/* The GPU shape on devices with small work-groups: the tile shrinks to fit (8 x 8 for a
 * limit of 64, down to 1 x 1). */
static void test_small_groups(void) {
    static const size_t limits[] = {64, 8, 1};
    const wcase cases[] = {
        {2, 4, 2, 33, 17, 40, CLATTN_CAUSAL_TOP_LEFT, CLATTN_MASK_BOOLEAN, SOFT, 1, 1, 0},
        {1, 1, 1, 9, 70, 3, NOC, CLATTN_MASK_ADDITIVE, SOFT, 0, 0, 0},
    };
    for (size_t l = 0; l < 3; l++) {
        clattn_options options;
        clattn_options_init(&options);
        options.variant = CLATTN_VARIANT_GPU;
        options.max_work_group_size = limits[l];
        clattn_handle *h = NULL;
        CU_ASSERT_EQUAL_FATAL(clattn_handle_create(&options, &h), CLATTN_SUCCESS);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            run_case_on(h, &cases[i]);
        clattn_handle_destroy(h);
    }
}

static void add_suites(void) {
    static const test_case small[] = {{"small", test_small}, {NULL, NULL}};
    test_add_suite("weights_small", small);
    static const test_case cases[] = {{"sizes", test_sizes},
                                      {"causal", test_causal},
                                      {"masks", test_masks},
                                      {"gqa_strides", test_gqa_strides},
                                      {"norms", test_norms},
                                      {"nan", test_nan},
                                      {"events", test_events},
                                      {"invalid", test_invalid},
                                      {"small_groups", test_small_groups},
                                      {NULL, NULL}};
    test_add_suite("weights", cases);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
