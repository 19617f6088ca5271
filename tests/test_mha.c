/* Multi-head attention with projections (linear -> attention over strided heads -> linear)
 * against the double reference: with and without biases, causal and not, B > 1, heads
 * 1/2/4/12, head dims up to 256, both kernel shapes, the enqueue form on an out-of-order
 * queue, and invalid arguments; masks (key padding, per batch, per head; boolean and additive)
 * on both kernel shapes and through the enqueue form; the model variants (mha_variants.c) on
 * both kernel shapes, sinks through the enqueue form. */
#include "mha_masked.h"
#include "mha_variants.h"
#include "mha_model.h"
#include "test_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static void run_case(clattn_variant variant, const mcase *c) {
    clattn_handle *h = test_handle(variant);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    model m;
    make_model(c, &m, 0xabcdef12345ull + c->t * 31 + c->d_out);
    const size_t on = c->b * c->t * c->d_out;
    float *got = malloc(on * sizeof *got), *want = malloc(on * sizeof *want);
    clattn_mha_desc desc = mha_desc_of(c);
    CU_ASSERT_EQUAL_FATAL(clattn_ref_mha_forward(&desc, &m.w, m.x, want), 0);
    clattn_status status = clattn_mha_forward(h, &desc, &m.w, m.x, got);
    if (status) fprintf(stderr, "\n    %s\n", clattn_last_error_message());
    CU_ASSERT_EQUAL(status, 0);
    if (!status) {
        bool ok = test_close(got, want, on, mha_tolerance(c), 0, "mha");
        if (!ok)
            fprintf(stderr, "    case %s b%zu t%zu d_in%zu d_out%zu heads%zu causal%d bias%d\n",
                    test_variant_name(variant), c->b, c->t, c->d_in, c->d_out, c->heads, c->causal,
                    c->bias);
        CU_ASSERT(ok);
    }
    free(got), free(want);
    free_model(&m);
}

static void run_cases(const mcase *cases, size_t count) {
    for (int v = 0; v < 2; v++)
        for (size_t i = 0; i < count; i++)
            run_case(test_variants[v], &cases[i]);
}

static void test_small(void) {
    const mcase cases[] = {
        {1, 1, 1, 1, 1, 0, 0},   {1, 1, 1, 1, 1, 1, 1},    {1, 7, 5, 6, 2, 1, 1},
        {2, 9, 16, 12, 4, 0, 1}, {3, 33, 20, 24, 4, 1, 0}, {2, 17, 48, 64, 1, 1, 1},
        {2, 13, 7, 8, 2, 0, 0},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_layer_sizes(void) {
    const mcase cases[] = {
        {1, 16, 768, 768, 12, 0, 1}, /* a GPT-2 layer's shape */
        {2, 16, 768, 768, 12, 1, 1},
        {2, 40, 64, 512, 2, 1, 1}, /* head dim 256, the largest */
        {1, 70, 100, 96, 4, 0, 0},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

/* The enqueue form on an out-of-order queue (when the device has one), gated by a user
 * event: nothing may run before it. */
static void test_enqueue(void) {
    const mcase c = {2, 11, 24, 32, 4, 1, 1};
    model m;
    make_model(&c, &m, 4242);
    const size_t on = c.b * c.t * c.d_out, xn = c.b * c.t * c.d_in, wn = c.d_out * c.d_in;
    float *got = malloc(on * sizeof *got), *want = malloc(on * sizeof *want);
    clattn_mha_desc desc = mha_desc_of(&c);
    CU_ASSERT_EQUAL_FATAL(clattn_ref_mha_forward(&desc, &m.w, m.x, want), 0);
    for (int v = 0; v < 2; v++) {
        clattn_handle *h = test_handle(test_variants[v]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        cl_context ctx = clattn_handle_context(h);
        cl_int err;
        cl_command_queue queue = clCreateCommandQueue(ctx, clattn_handle_device(h),
                                                      CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
        if (err) queue = clCreateCommandQueue(ctx, clattn_handle_device(h), 0, &err);
        CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
        const cl_mem_flags in = CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
        cl_mem x = clCreateBuffer(ctx, in, xn * 4, m.x, &err);
        cl_mem wq = clCreateBuffer(ctx, in, wn * 4, m.wq, &err);
        cl_mem wk = clCreateBuffer(ctx, in, wn * 4, m.wk, &err);
        cl_mem wv = clCreateBuffer(ctx, in, wn * 4, m.wv, &err);
        cl_mem wo = clCreateBuffer(ctx, in, c.d_out * c.d_out * 4, m.wo, &err);
        cl_mem bq = clCreateBuffer(ctx, in, c.d_out * 4, m.bq, &err);
        cl_mem bo = clCreateBuffer(ctx, in, c.d_out * 4, m.bo, &err);
        cl_mem out = clCreateBuffer(ctx, CL_MEM_READ_WRITE, on * 4, NULL, &err);
        /* bk and bv absent here: the reference below gets the same. */
        clattn_mha_buffers bufs = {wq, wk, wv, wo, bq, NULL, NULL, bo, NULL};
        clattn_mha_weights hw = m.w;
        hw.bk = hw.bv = NULL;
        CU_ASSERT_EQUAL(clattn_ref_mha_forward(&desc, &hw, m.x, want), 0);
        cl_event gate = clCreateUserEvent(ctx, &err), done = NULL;
        CU_ASSERT_EQUAL(clattn_enqueue_mha_forward(h, queue, &desc, &bufs, x, out, 1, &gate, &done),
                        0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(done);
        cl_int state = 0;
        clGetEventInfo(done, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof state, &state, NULL);
        CU_ASSERT(state != CL_COMPLETE);
        clSetUserEventStatus(gate, CL_COMPLETE);
        CU_ASSERT_EQUAL(clEnqueueReadBuffer(queue, out, CL_TRUE, 0, on * 4, got, 1, &done, NULL),
                        CL_SUCCESS);
        CU_ASSERT(test_close(got, want, on, mha_tolerance(&c), 0, "mha enqueue"));
        /* Invalid buffers of the enqueue form. */
        CU_ASSERT_EQUAL(clattn_enqueue_mha_forward(h, queue, &desc, &bufs, x, x, 0, NULL, NULL),
                        CLATTN_ERROR_BUFFER_TOO_SMALL); /* x is smaller than out must be */
        clattn_mha_buffers same = bufs;
        same.bq = out; /* out may not double as an input */
        CU_ASSERT_EQUAL(clattn_enqueue_mha_forward(h, queue, &desc, &same, x, out, 0, NULL, NULL),
                        CLATTN_ERROR_INVALID_VALUE);
        same = bufs, same.wv = NULL;
        CU_ASSERT_EQUAL(clattn_enqueue_mha_forward(h, queue, &desc, &same, x, out, 0, NULL, NULL),
                        CLATTN_ERROR_NULL_POINTER);
        CU_ASSERT_EQUAL(clattn_enqueue_mha_forward(h, queue, &desc, NULL, x, out, 0, NULL, NULL),
                        CLATTN_ERROR_NULL_POINTER);
        clFinish(queue);
        clReleaseEvent(done), clReleaseEvent(gate);
        cl_mem all[] = {x, wq, wk, wv, wo, bq, bo, out};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            clReleaseMemObject(all[i]);
        clReleaseCommandQueue(queue);
    }
    free(got), free(want);
    free_model(&m);
}

static void test_invalid(void) {
    clattn_handle *h = test_handle(CLATTN_VARIANT_CPU);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    float a[64] = {0}, out[64];
    clattn_mha_weights w = {a, a, a, a, NULL, NULL, NULL, NULL, NULL};
    clattn_mha_desc ok = {.batch = 1, .tokens = 2, .d_in = 4, .d_out = 4, .heads = 2}, bad;
    CU_ASSERT_EQUAL(clattn_mha_forward(h, &ok, &w, a, out), 0);
    CU_ASSERT_EQUAL(clattn_mha_forward(NULL, &ok, &w, a, out), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_mha_forward(h, NULL, &w, a, out), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_mha_forward(h, &ok, NULL, a, out), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_mha_forward(h, &ok, &w, NULL, out), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_mha_forward(h, &ok, &w, a, NULL), CLATTN_ERROR_NULL_POINTER);
    clattn_mha_weights missing = w;
    missing.wo = NULL;
    CU_ASSERT_EQUAL(clattn_mha_forward(h, &ok, &missing, a, out), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_ref_mha_forward(&ok, &missing, a, out), CLATTN_ERROR_NULL_POINTER);
    bad = ok, bad.tokens = 0;
    CU_ASSERT_EQUAL(clattn_mha_forward(h, &bad, &w, a, out), CLATTN_ERROR_INVALID_SIZE);
    CU_ASSERT_EQUAL(clattn_ref_mha_forward(&bad, &w, a, out), CLATTN_ERROR_INVALID_SIZE);
    bad = ok, bad.heads = 0;
    CU_ASSERT_EQUAL(clattn_mha_forward(h, &bad, &w, a, out), CLATTN_ERROR_INVALID_SIZE);
    bad = ok, bad.d_in = 0;
    CU_ASSERT_EQUAL(clattn_mha_forward(h, &bad, &w, a, out), CLATTN_ERROR_INVALID_SIZE);
    bad = ok, bad.heads = 3; /* 4 % 3 */
    CU_ASSERT_EQUAL(clattn_mha_forward(h, &bad, &w, a, out), CLATTN_ERROR_INVALID_SHAPE);
    CU_ASSERT_EQUAL(clattn_ref_mha_forward(&bad, &w, a, out), CLATTN_ERROR_INVALID_SHAPE);
    bad = ok, bad.d_out = 257, bad.heads = 1; /* head dim above 256 */
    CU_ASSERT_EQUAL(clattn_mha_forward(h, &bad, &w, a, out), CLATTN_ERROR_INVALID_SIZE);
    bad = ok, bad.tokens = SIZE_MAX / 2;
    CU_ASSERT_EQUAL(clattn_mha_forward(h, &bad, &w, a, out), CLATTN_ERROR_SIZE_OVERFLOW);
    CU_ASSERT_EQUAL(clattn_ref_mha_forward(&bad, &w, a, out), CLATTN_ERROR_SIZE_OVERFLOW);
    bad = ok, bad.d_out = (size_t)1 << 40, bad.heads = (size_t)1 << 33;
    CU_ASSERT_EQUAL(clattn_mha_forward(h, &bad, &w, a, out), CLATTN_ERROR_SIZE_OVERFLOW);
    CU_ASSERT_STRING_NOT_EQUAL(clattn_last_error_message(), "");
}

/* ---- masks ------------------------------------------------------------------------- */

static clattn_status device_masked(void *h, const clattn_mha_desc *desc,
                                   const clattn_mha_weights *w, const float *x, const void *mask,
                                   float *out) {
    return clattn_mha_forward_masked(h, desc, w, x, mask, out);
}

static clattn_status device_plain(void *h, const clattn_mha_desc *desc, const clattn_mha_weights *w,
                                  const float *x, float *out) {
    return clattn_mha_forward(h, desc, w, x, out);
}

static void test_padded_batch(void) {
    for (int v = 0; v < 2; v++) {
        clattn_handle *h = test_handle(test_variants[v]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        check_mha_padded_batch(device_masked, h, test_variant_name(test_variants[v]));
    }
}

static void test_mask_shapes(void) {
    for (int v = 0; v < 2; v++) {
        clattn_handle *h = test_handle(test_variants[v]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        check_mha_mask_shapes(device_masked, h, test_variant_name(test_variants[v]));
    }
}

static void test_mask_invalid(void) {
    clattn_handle *h = test_handle(CLATTN_VARIANT_CPU);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    check_mha_mask_invalid(device_masked, h, device_plain);
}

/* The masked enqueue form with a [B, 1, T, T] boolean mask buffer, and its buffer checks. */
static void test_enqueue_masked(void) {
    const mcase c = {2, 11, 24, 32, 4, 1, 1};
    model m;
    make_model(&c, &m, 4243);
    clattn_mha_desc desc = mha_desc_of(&c);
    desc.mask_kind = CLATTN_MASK_BOOLEAN;
    desc.mask_shape = CLATTN_MHA_MASK_PER_BATCH;
    const size_t on = c.b * c.t * c.d_out, xn = c.b * c.t * c.d_in, wn = c.d_out * c.d_in;
    const size_t mn = c.b * c.t * c.t;
    float *got = malloc(on * sizeof *got), *want = malloc(on * sizeof *want);
    float *u = malloc(mn * sizeof *u);
    unsigned char *bytes = malloc(mn);
    CU_ASSERT_FATAL(got && want && u && bytes);
    uint64_t seed = 99;
    test_fill(u, mn, &seed, 0, 1);
    for (size_t i = 0; i < mn; i++)
        bytes[i] = u[i] < 0.7f;
    CU_ASSERT_EQUAL_FATAL(clattn_ref_mha_forward_masked(&desc, &m.w, m.x, bytes, want), 0);
    for (int v = 0; v < 2; v++) {
        clattn_handle *h = test_handle(test_variants[v]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        cl_context ctx = clattn_handle_context(h);
        cl_int err;
        cl_command_queue queue = clCreateCommandQueue(ctx, clattn_handle_device(h), 0, &err);
        CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
        const cl_mem_flags in = CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
        cl_mem x = clCreateBuffer(ctx, in, xn * 4, m.x, &err);
        cl_mem wq = clCreateBuffer(ctx, in, wn * 4, m.wq, &err);
        cl_mem wk = clCreateBuffer(ctx, in, wn * 4, m.wk, &err);
        cl_mem wv = clCreateBuffer(ctx, in, wn * 4, m.wv, &err);
        cl_mem wo = clCreateBuffer(ctx, in, c.d_out * c.d_out * 4, m.wo, &err);
        cl_mem bs[4];
        const float *hb[4] = {m.bq, m.bk, m.bv, m.bo};
        for (int i = 0; i < 4; i++)
            bs[i] = clCreateBuffer(ctx, in, c.d_out * 4, (void *)hb[i], &err);
        cl_mem mask = clCreateBuffer(ctx, in, mn, bytes, &err);
        cl_mem short_mask = clCreateBuffer(ctx, in, mn - 1, bytes, &err);
        cl_mem out = clCreateBuffer(ctx, CL_MEM_READ_WRITE, on * 4, NULL, &err);
        const clattn_mha_buffers bufs = {wq, wk, wv, wo, bs[0], bs[1], bs[2], bs[3], NULL};
        cl_event done = NULL;
        CU_ASSERT_EQUAL(
            clattn_enqueue_mha_forward_masked(h, queue, &desc, &bufs, x, mask, out, 0, NULL, &done),
            0);
        CU_ASSERT_EQUAL(clEnqueueReadBuffer(queue, out, CL_TRUE, 0, on * 4, got, 1, &done, NULL),
                        CL_SUCCESS);
        CU_ASSERT(test_close(got, want, on, mha_tolerance(&c), 0, "mha enqueue masked"));
        CU_ASSERT_EQUAL(clattn_enqueue_mha_forward_masked(h, queue, &desc, &bufs, x, short_mask,
                                                          out, 0, NULL, NULL),
                        CLATTN_ERROR_BUFFER_TOO_SMALL);
        CU_ASSERT_EQUAL(
            clattn_enqueue_mha_forward_masked(h, queue, &desc, &bufs, x, out, out, 0, NULL, NULL),
            CLATTN_ERROR_INVALID_VALUE);
        CU_ASSERT_EQUAL(
            clattn_enqueue_mha_forward_masked(h, queue, &desc, &bufs, x, NULL, out, 0, NULL, NULL),
            CLATTN_ERROR_NULL_POINTER);
        CU_ASSERT_EQUAL(clattn_enqueue_mha_forward(h, queue, &desc, &bufs, x, out, 0, NULL, NULL),
                        CLATTN_ERROR_NULL_POINTER);
        clFinish(queue);
        clReleaseEvent(done);
        cl_mem all[] = {x, wq, wk, wv, wo, bs[0], bs[1], bs[2], bs[3], mask, short_mask, out};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            clReleaseMemObject(all[i]);
        clReleaseCommandQueue(queue);
    }
    free(got), free(want), free(u), free(bytes);
    free_model(&m);
}

/* A key-padding mask (row stride 0 in the attention: the new access pattern) at a tiny
 * size, against the reference on both kernel shapes. */
static void tiny_masked(void) {
    const mcase c = {2, 5, 8, 8, 2, 1, 1};
    model m;
    make_model(&c, &m, 515);
    const size_t on = c.b * c.t * c.d_out;
    float got[80], want[80];
    const unsigned char padding[2 * 5] = {1, 1, 1, 1, 1, 0, 0, 1, 1, 0};
    clattn_mha_desc desc = mha_desc_of(&c);
    desc.mask_kind = CLATTN_MASK_BOOLEAN;
    desc.mask_shape = CLATTN_MHA_MASK_KEY_PADDING;
    CU_ASSERT_EQUAL_FATAL(clattn_ref_mha_forward_masked(&desc, &m.w, m.x, padding, want), 0);
    for (int v = 0; v < 2; v++) {
        clattn_handle *h = test_handle(test_variants[v]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        CU_ASSERT_EQUAL(clattn_mha_forward_masked(h, &desc, &m.w, m.x, padding, got), 0);
        CU_ASSERT(test_close(got, want, on, mha_tolerance(&c), 0, "tiny masked mha"));
    }
    free_model(&m);
}

/* ---- model variants ---------------------------------------------------------------- */

static void test_model_variants(void) {
    for (int v = 0; v < 2; v++) {
        clattn_handle *h = test_handle(test_variants[v]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        check_mha_variants(device_masked, h, test_variant_name(test_variants[v]), true);
    }
}

static void test_dropout(void) {
    for (int v = 0; v < 2; v++) {
        clattn_handle *h = test_handle(test_variants[v]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        check_mha_dropout(device_masked, h, test_variant_name(test_variants[v]));
    }
}

static void test_variants_invalid(void) {
    clattn_handle *h = test_handle(CLATTN_VARIANT_CPU);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    check_mha_variants_invalid(device_masked, h);
}

/* The enqueue form with a sinks buffer (and a key-padding mask buffer, the variants of
 * mha_variants.c's program): the result of the reference, and its checks (a short buffer,
 * out aliasing it). */
static void test_enqueue_sinks(void) {
    const mcase c = {2, 37, 20, 48, 3, 1, 0};
    model m;
    make_model(&c, &m, 4244);
    clattn_mha_desc desc = mha_desc_of(&c);
    desc.softcap = 0.5f, desc.alibi = 1, desc.window = 1, desc.window_left = 4;
    desc.window_right = -1, desc.sink_keys = 2, desc.dropout = 0.3f, desc.dropout_seed = 9;
    desc.mask_kind = CLATTN_MASK_BOOLEAN, desc.mask_shape = CLATTN_MHA_MASK_KEY_PADDING;
    const size_t on = c.b * c.t * c.d_out, xn = c.b * c.t * c.d_in, wn = c.d_out * c.d_in;
    float sinks[3] = {0.5f, -1.0f, 2.0f};
    unsigned char padding[2 * 37];
    for (size_t i = 0; i < sizeof padding; i++)
        padding[i] = i % 37 < 30;
    float *got = malloc(on * sizeof *got), *want = malloc(on * sizeof *want);
    CU_ASSERT_FATAL(got && want);
    clattn_mha_weights hw = m.w;
    hw.sinks = sinks;
    CU_ASSERT_EQUAL_FATAL(clattn_ref_mha_forward_masked(&desc, &hw, m.x, padding, want), 0);
    clattn_handle *h = test_handle(CLATTN_VARIANT_CPU);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    cl_context ctx = clattn_handle_context(h);
    cl_int err;
    cl_command_queue queue = clCreateCommandQueue(ctx, clattn_handle_device(h), 0, &err);
    CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
    const cl_mem_flags in = CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
    cl_mem x = clCreateBuffer(ctx, in, xn * 4, m.x, &err);
    cl_mem wq = clCreateBuffer(ctx, in, wn * 4, m.wq, &err);
    cl_mem wk = clCreateBuffer(ctx, in, wn * 4, m.wk, &err);
    cl_mem wv = clCreateBuffer(ctx, in, wn * 4, m.wv, &err);
    cl_mem wo = clCreateBuffer(ctx, in, c.d_out * c.d_out * 4, m.wo, &err);
    cl_mem s = clCreateBuffer(ctx, in, sizeof sinks, sinks, &err);
    cl_mem short_s = clCreateBuffer(ctx, in, 2 * sizeof(float), sinks, &err);
    cl_mem mask = clCreateBuffer(ctx, in, sizeof padding, padding, &err);
    cl_mem out = clCreateBuffer(ctx, CL_MEM_READ_WRITE, on * 4, NULL, &err);
    clattn_mha_buffers bufs = {wq, wk, wv, wo, NULL, NULL, NULL, NULL, s};
    cl_event done = NULL;
    CU_ASSERT_EQUAL(
        clattn_enqueue_mha_forward_masked(h, queue, &desc, &bufs, x, mask, out, 0, NULL, &done), 0);
    CU_ASSERT_EQUAL(clEnqueueReadBuffer(queue, out, CL_TRUE, 0, on * 4, got, 1, &done, NULL),
                    CL_SUCCESS);
    CU_ASSERT(test_close(got, want, on, mha_tolerance(&c), 0, "mha enqueue sinks"));
    bufs.sinks = short_s;
    CU_ASSERT_EQUAL(
        clattn_enqueue_mha_forward_masked(h, queue, &desc, &bufs, x, mask, out, 0, NULL, NULL),
        CLATTN_ERROR_BUFFER_TOO_SMALL);
    bufs.sinks = out;
    CU_ASSERT_EQUAL(
        clattn_enqueue_mha_forward_masked(h, queue, &desc, &bufs, x, mask, out, 0, NULL, NULL),
        CLATTN_ERROR_INVALID_VALUE);
    clFinish(queue);
    clReleaseEvent(done);
    cl_mem all[] = {x, wq, wk, wv, wo, s, short_s, mask, out};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        clReleaseMemObject(all[i]);
    clReleaseCommandQueue(queue);
    free(got), free(want);
    free_model(&m);
}

/* Small cases for running under Oclgrind (--data-races). */
static void test_tiny(void) {
    const mcase cases[] = {{2, 5, 8, 8, 2, 1, 1}, {1, 3, 5, 6, 3, 0, 0}};
    run_cases(cases, sizeof cases / sizeof cases[0]);
    tiny_masked();
}

static void add_suites(void) {
    static const test_case small[] = {{"tiny", test_tiny}, {NULL, NULL}};
    test_add_suite("mha_small", small);
    static const test_case cases[] = {{"small", test_small},
                                      {"layer_sizes", test_layer_sizes},
                                      {"enqueue", test_enqueue},
                                      {"invalid", test_invalid},
                                      {NULL, NULL}};
    test_add_suite("mha", cases);
    static const test_case masked[] = {{"padded_batch", test_padded_batch},
                                       {"shapes", test_mask_shapes},
                                       {"enqueue", test_enqueue_masked},
                                       {"invalid", test_mask_invalid},
                                       {NULL, NULL}};
    test_add_suite("mha_mask", masked);
    static const test_case variants[] = {{"variants", test_model_variants},
                                         {"dropout", test_dropout},
                                         {"invalid", test_variants_invalid},
                                         {"enqueue_sinks", test_enqueue_sinks},
                                         {NULL, NULL}};
    test_add_suite("mha_variants", variants);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
