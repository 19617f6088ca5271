/* clattn inside a user's OpenCL pipeline: borrowed objects, the event contract of every
 * enqueue function, out-of-order queues, offsets into shared buffers, scratch memory and
 * several host threads. */
#include "test_common.h"
#include "handle.h" /* the handle's scratch fields, to check reuse */

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* n above the one-work-group limit (4096) so that normalize uses its three-kernel path with
 * scratch, and context several row blocks. */
#define N           5003
#define D           40
#define GUARD       37      /* floats of guard values on each side of an output */
#define GUARD_VALUE 1234.5f /* no output of these inputs comes near it */

/* ---- the user's objects ------------------------------------------------------------- */

typedef struct user {
    cl_context context;
    cl_device_id device;
    cl_command_queue in_order, out_of_order;
} user;

static bool user_open(user *u) {
    memset(u, 0, sizeof *u);
    clattn_device_info info;
    if (clattn_select_device(NULL, &info) != CLATTN_SUCCESS) return false;
    cl_int err;
    u->device = info.device;
    u->context = clCreateContext(NULL, 1, &info.device, NULL, NULL, &err);
    if (err) return false;
    u->in_order = clCreateCommandQueue(u->context, u->device, 0, &err);
    if (err) return false;
    u->out_of_order =
        clCreateCommandQueue(u->context, u->device, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
    /* A device without out-of-order queues still runs the tests in order. */
    if (err) u->out_of_order = NULL;
    return true;
}

static void user_close(user *u) {
    if (u->in_order) clReleaseCommandQueue(u->in_order);
    if (u->out_of_order) clReleaseCommandQueue(u->out_of_order);
    if (u->context) clReleaseContext(u->context);
}

static cl_command_queue ooo_or_in_order(const user *u) {
    return u->out_of_order ? u->out_of_order : u->in_order;
}

static cl_mem make_buffer(const user *u, size_t floats, const float *data) {
    cl_int err;
    cl_mem_flags flags = CL_MEM_READ_WRITE | (data ? CL_MEM_COPY_HOST_PTR : 0);
    cl_mem m = clCreateBuffer(u->context, flags, floats * sizeof(float), (void *)data, &err);
    return err ? NULL : m;
}

static bool read_floats(cl_command_queue queue, cl_mem m, size_t offset, size_t count, float *out) {
    return clEnqueueReadBuffer(queue, m, CL_TRUE, offset * sizeof(float), count * sizeof(float),
                               out, 0, NULL, NULL) == CL_SUCCESS;
}

static cl_int event_status(cl_event e) {
    cl_int s = -1;
    clGetEventInfo(e, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof s, &s, NULL);
    return s;
}

static cl_uint ref_count_context(cl_context c) {
    cl_uint n = 0;
    clGetContextInfo(c, CL_CONTEXT_REFERENCE_COUNT, sizeof n, &n, NULL);
    return n;
}

static cl_uint ref_count_queue(cl_command_queue q) {
    cl_uint n = 0;
    clGetCommandQueueInfo(q, CL_QUEUE_REFERENCE_COUNT, sizeof n, &n, NULL);
    return n;
}

static cl_uint ref_count_mem(cl_mem m) {
    cl_uint n = 0;
    clGetMemObjectInfo(m, CL_MEM_REFERENCE_COUNT, sizeof n, &n, NULL);
    return n;
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* ---- inputs and checks ---------------------------------------------------------------- */

typedef struct problem {
    size_t n, d;
    float *x, *q;
} problem;

static problem make_problem(size_t n, size_t d, uint64_t seed) {
    problem p = {n, d, malloc(n * d * sizeof(float)), malloc(d * sizeof(float))};
    if (p.x) test_fill(p.x, n * d, &seed, -1.0f, 1.0f);
    if (p.q) test_fill(p.q, d, &seed, -1.0f, 1.0f);
    return p;
}

static void free_problem(problem *p) {
    free(p->x);
    free(p->q);
}

/* Each step against the reference applied to the device's own input of that step, so that
 * each tolerance covers one operation:
 *   scores: |x|, |q| <= 1, float32 dot products of d terms: error <= d * u * sum |x_i q_i|
 *           <= d^2 u (scale 1/sqrt(d) only shrinks it);
 *   softmax weights: relative error of the exp (a few ulp) and of the float32 sum of n
 *           positive terms (<= n u): rtol n u + 1e-5;
 *   context: a sum of n products with sum |w_j v_j| <= 1: error <= n u. */
static bool check_steps(const problem *p, const float *scores, const float *weights,
                        const float *context) {
    size_t n = p->n, d = p->d;
    float *want = malloc((n > d ? n : d) * sizeof(float));
    if (!want) return false;
    float scale = 1.0f / sqrtf((float)d);
    bool ok = clattn_ref_scores(n, d, scale, p->x, p->q, want) == CLATTN_SUCCESS &&
              test_close(scores, want, n, (double)d * d * TEST_U, 0.0, "scores");
    ok = ok && clattn_ref_normalize(CLATTN_NORM_SOFTMAX, n, scores, want) == CLATTN_SUCCESS &&
         test_close(weights, want, n, 1e-12, n * TEST_U + 1e-5, "weights");
    ok = ok && clattn_ref_context(n, d, weights, p->x, want) == CLATTN_SUCCESS &&
         test_close(context, want, d, n * TEST_U, 0.0, "context");
    free(want);
    return ok;
}

/* Device buffers for one problem: x, q, scores, weights, context. */
typedef struct device_problem {
    cl_mem x, q, s, w, c;
} device_problem;

static bool upload_problem(const user *u, const problem *p, device_problem *dp) {
    dp->x = make_buffer(u, p->n * p->d, p->x);
    dp->q = make_buffer(u, p->d, p->q);
    dp->s = make_buffer(u, p->n, NULL);
    dp->w = make_buffer(u, p->n, NULL);
    dp->c = make_buffer(u, p->d, NULL);
    return dp->x && dp->q && dp->s && dp->w && dp->c;
}

static void release_problem(device_problem *dp) {
    cl_mem all[] = {dp->x, dp->q, dp->s, dp->w, dp->c};
    for (int i = 0; i < 5; i++)
        if (all[i]) clReleaseMemObject(all[i]);
}

/* scores -> softmax -> context chained by events on queue; the first waits for wait. */
static clattn_status enqueue_pipeline(clattn_handle *h, cl_command_queue queue, const problem *p,
                                      const device_problem *dp, cl_uint num_wait,
                                      const cl_event *wait, cl_event *done) {
    cl_event e1 = NULL, e2 = NULL;
    float scale = 1.0f / sqrtf((float)p->d);
    clattn_status status = clattn_enqueue_scores(h, queue, p->n, p->d, scale, dp->x, 0, dp->q, 0,
                                                 dp->s, 0, num_wait, wait, &e1);
    if (!status)
        status = clattn_enqueue_normalize(h, queue, CLATTN_NORM_SOFTMAX, p->n, dp->s, 0, dp->w, 0,
                                          1, &e1, &e2);
    if (!status)
        status = clattn_enqueue_context(h, queue, p->n, p->d, dp->w, 0, dp->x, 0, dp->c, 0, 1, &e2,
                                        done);
    if (e1) clReleaseEvent(e1);
    if (e2) clReleaseEvent(e2);
    return status;
}

static bool read_and_check(cl_command_queue queue, const problem *p, const device_problem *dp) {
    float *s = malloc(p->n * sizeof(float)), *w = malloc(p->n * sizeof(float));
    float *c = malloc(p->d * sizeof(float));
    bool ok = s && w && c && read_floats(queue, dp->s, 0, p->n, s) &&
              read_floats(queue, dp->w, 0, p->n, w) && read_floats(queue, dp->c, 0, p->d, c) &&
              check_steps(p, s, w, c);
    free(s);
    free(w);
    free(c);
    return ok;
}

/* ---- attention ---------------------------------------------------------------------- */

/* Two query heads on one K/V head; m = 1 (decoding) makes the plan split the keys: packing,
 * attention and merge kernels, with scratch. */
typedef struct attn_problem {
    clattn_attention_desc desc;
    size_t nq, nkv;
    float *q, *k, *v;
    cl_mem dq, dk, dv, dout;
} attn_problem;

static bool attn_make(const user *u, attn_problem *a, size_t m, size_t n, size_t d, uint64_t seed) {
    memset(a, 0, sizeof *a);
    clattn_attention_desc_init(&a->desc, 1, 2, 1, m, n, d, d);
    a->nq = 2 * m * d;
    a->nkv = n * d;
    a->q = malloc(a->nq * sizeof(float));
    a->k = malloc(a->nkv * sizeof(float));
    a->v = malloc(a->nkv * sizeof(float));
    if (!a->q || !a->k || !a->v) return false;
    test_fill(a->q, a->nq, &seed, -1.0f, 1.0f);
    test_fill(a->k, a->nkv, &seed, -1.0f, 1.0f);
    test_fill(a->v, a->nkv, &seed, -1.0f, 1.0f);
    a->dq = make_buffer(u, a->nq, a->q);
    a->dk = make_buffer(u, a->nkv, a->k);
    a->dv = make_buffer(u, a->nkv, a->v);
    a->dout = make_buffer(u, a->nq, NULL);
    return a->dq && a->dk && a->dv && a->dout;
}

static void attn_free(attn_problem *a) {
    cl_mem all[] = {a->dq, a->dk, a->dv, a->dout};
    for (int i = 0; i < 4; i++)
        if (all[i]) clReleaseMemObject(all[i]);
    free(a->q);
    free(a->k);
    free(a->v);
}

static clattn_status attn_enqueue(clattn_handle *h, cl_command_queue queue, const attn_problem *a,
                                  cl_uint num_wait, const cl_event *wait, cl_event *done) {
    return clattn_enqueue_attention(h, queue, &a->desc, a->dq, a->dk, a->dv, NULL, a->dout, NULL,
                                    num_wait, wait, done);
}

/* O against the reference. Each O row is a convex combination of V rows (|v| <= 1); float32
 * scores and sums give errors of a few u sqrt(D) and u sqrt(N): the bound of
 * test_attention.c, atol 2e-5 + 64 u sqrt(N), rtol 1e-4. */
static bool attn_check(cl_command_queue queue, const attn_problem *a) {
    float *got = malloc(a->nq * sizeof(float)), *want = malloc(a->nq * sizeof(float));
    bool ok =
        got && want && read_floats(queue, a->dout, 0, a->nq, got) &&
        clattn_ref_attention(&a->desc, a->q, a->k, a->v, NULL, want, NULL) == CLATTN_SUCCESS &&
        test_close(got, want, a->nq, 2e-5 + 64.0 * TEST_U * sqrt((double)a->desc.n), 1e-4,
                   "attention O");
    free(got);
    free(want);
    return ok;
}

/* ---- the event contract ------------------------------------------------------------- */

/* One operation gated by a user event: nothing may run before the gate opens, and the
 * returned event's completion means the output is final. The checks read with a second,
 * in-order queue without a wait list (independent of the gated work). */
typedef enum which { OP_SCORES, OP_NORMALIZE_LARGE, OP_NORMALIZE_SMALL, OP_CONTEXT } which;

static void gated(which op, clattn_variant variant) {
    user u;
    CU_ASSERT_FATAL(user_open(&u));
    clattn_options options;
    clattn_options_init(&options);
    options.variant = variant;
    if (variant == CLATTN_VARIANT_GPU) options.max_work_group_size = 256;
    clattn_handle *h = NULL;
    CU_ASSERT_EQUAL_FATAL(clattn_handle_create_from(u.context, u.device, NULL, &options, &h),
                          CLATTN_SUCCESS);
    /* Build the programs first so that the gated call cannot be slow for that reason. */
    CU_ASSERT_EQUAL(clattn_handle_prepare(h), CLATTN_SUCCESS);

    size_t n = op == OP_NORMALIZE_SMALL ? 1000 : N;
    problem p = make_problem(n, D, 42 + op);
    device_problem dp;
    CU_ASSERT_FATAL(p.x && p.q && upload_problem(&u, &p, &dp));
    float *sentinel = malloc(n * sizeof(float)), *got = malloc(n * sizeof(float));
    CU_ASSERT_FATAL(sentinel && got);
    for (size_t i = 0; i < n; i++)
        sentinel[i] = GUARD_VALUE;
    /* Inputs of the later steps from the reference, outputs preset to the sentinel. */
    float *ref_s = malloc(n * sizeof(float)), *ref_w = malloc(n * sizeof(float));
    CU_ASSERT_FATAL(ref_s && ref_w);
    float scale = 1.0f / sqrtf((float)D);
    clattn_ref_scores(n, D, scale, p.x, p.q, ref_s);
    clattn_ref_normalize(CLATTN_NORM_SOFTMAX, n, ref_s, ref_w);
    cl_command_queue check = u.in_order;
    CU_ASSERT_EQUAL(clEnqueueWriteBuffer(check, dp.s, CL_TRUE, 0, n * sizeof(float),
                                         op == OP_SCORES ? sentinel : ref_s, 0, NULL, NULL),
                    CL_SUCCESS);
    CU_ASSERT_EQUAL(clEnqueueWriteBuffer(check, dp.w, CL_TRUE, 0, n * sizeof(float),
                                         op == OP_CONTEXT ? ref_w : sentinel, 0, NULL, NULL),
                    CL_SUCCESS);
    CU_ASSERT_EQUAL(
        clEnqueueWriteBuffer(check, dp.c, CL_TRUE, 0, D * sizeof(float), sentinel, 0, NULL, NULL),
        CL_SUCCESS);

    cl_int err;
    cl_event gate = clCreateUserEvent(u.context, &err), done = NULL;
    CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
    cl_command_queue queue = ooo_or_in_order(&u);
    clattn_status status = CLATTN_ERROR_INTERNAL;
    cl_mem out = NULL;
    size_t out_count = 0;
    switch (op) {
    case OP_SCORES:
        status = clattn_enqueue_scores(h, queue, n, D, scale, dp.x, 0, dp.q, 0, dp.s, 0, 1, &gate,
                                       &done);
        out = dp.s, out_count = n;
        break;
    case OP_NORMALIZE_LARGE:
    case OP_NORMALIZE_SMALL:
        status = clattn_enqueue_normalize(h, queue, CLATTN_NORM_SOFTMAX, n, dp.s, 0, dp.w, 0, 1,
                                          &gate, &done);
        out = dp.w, out_count = n;
        break;
    case OP_CONTEXT:
        status = clattn_enqueue_context(h, queue, n, D, dp.w, 0, dp.x, 0, dp.c, 0, 1, &gate, &done);
        out = dp.c, out_count = D;
        break;
    }
    CU_ASSERT_EQUAL_FATAL(status, CLATTN_SUCCESS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(done);
    clFlush(queue);
    /* Time for work that (wrongly) ignored the gate to run. */
    sleep_ms(100);
    CU_ASSERT_NOT_EQUAL(event_status(done), CL_COMPLETE);
    CU_ASSERT(read_floats(check, out, 0, out_count, got));
    CU_ASSERT(memcmp(got, sentinel, out_count * sizeof(float)) == 0);

    CU_ASSERT_EQUAL(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
    CU_ASSERT_EQUAL(clWaitForEvents(1, &done), CL_SUCCESS);
    /* Complete means final: read on the other queue with no dependency on the work. */
    CU_ASSERT(read_floats(check, out, 0, out_count, got));
    if (op == OP_SCORES) {
        CU_ASSERT(test_close(got, ref_s, n, (double)D * D * TEST_U, 0.0, "scores"));
    } else if (op == OP_CONTEXT) {
        float want[D];
        clattn_ref_context(n, D, ref_w, p.x, want);
        CU_ASSERT(test_close(got, want, D, n * TEST_U, 0.0, "context"));
    } else {
        CU_ASSERT(test_close(got, ref_w, n, 1e-12, n * TEST_U + 1e-5, "weights"));
    }
    clReleaseEvent(done);
    clReleaseEvent(gate);
    clFinish(queue);
    release_problem(&dp);
    free_problem(&p);
    free(sentinel);
    free(got);
    free(ref_s);
    free(ref_w);
    clattn_handle_destroy(h);
    user_close(&u);
}

static void gated_scores(void) {
    for (int v = 0; v < 2; v++)
        gated(OP_SCORES, test_variants[v]);
}

static void gated_normalize(void) {
    for (int v = 0; v < 2; v++) {
        gated(OP_NORMALIZE_LARGE, test_variants[v]);
        gated(OP_NORMALIZE_SMALL, test_variants[v]);
    }
}

static void gated_context(void) {
    for (int v = 0; v < 2; v++)
        gated(OP_CONTEXT, test_variants[v]);
}

/* Attention gated by a user event: several kernels (pack, attention, merge) and scratch. */
static void gated_attention(void) {
    for (int vi = 0; vi < 2; vi++) {
        user u;
        CU_ASSERT_FATAL(user_open(&u));
        clattn_options options;
        clattn_options_init(&options);
        options.variant = test_variants[vi];
        if (options.variant == CLATTN_VARIANT_GPU) options.max_work_group_size = 256;
        clattn_handle *h = NULL;
        CU_ASSERT_EQUAL_FATAL(clattn_handle_create_from(u.context, u.device, NULL, &options, &h),
                              CLATTN_SUCCESS);
        attn_problem a;
        CU_ASSERT_FATAL(attn_make(&u, &a, 1, N, D, 61));
        size_t scratch = 0;
        CU_ASSERT_EQUAL(clattn_scratch_size(h, CLATTN_OP_ATTENTION, 0, 0, &a.desc, &scratch),
                        CLATTN_SUCCESS);
        CU_ASSERT(scratch > 0); /* split keys: partial results in scratch */
        float *sentinel = malloc(a.nq * sizeof(float)), *got = malloc(a.nq * sizeof(float));
        CU_ASSERT_FATAL(sentinel && got);
        for (size_t i = 0; i < a.nq; i++)
            sentinel[i] = GUARD_VALUE;
        clEnqueueWriteBuffer(u.in_order, a.dout, CL_TRUE, 0, a.nq * sizeof(float), sentinel, 0,
                             NULL, NULL);
        cl_int err;
        cl_event gate = clCreateUserEvent(u.context, &err), done = NULL;
        CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
        cl_command_queue queue = ooo_or_in_order(&u);
        CU_ASSERT_EQUAL_FATAL(attn_enqueue(h, queue, &a, 1, &gate, &done), CLATTN_SUCCESS);
        clFlush(queue);
        sleep_ms(100);
        CU_ASSERT_NOT_EQUAL(event_status(done), CL_COMPLETE);
        CU_ASSERT(read_floats(u.in_order, a.dout, 0, a.nq, got));
        CU_ASSERT(memcmp(got, sentinel, a.nq * sizeof(float)) == 0);
        CU_ASSERT_EQUAL(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
        CU_ASSERT_EQUAL(clWaitForEvents(1, &done), CL_SUCCESS);
        CU_ASSERT(attn_check(u.in_order, &a));
        clReleaseEvent(done);
        clReleaseEvent(gate);
        clFinish(queue);
        free(sentinel);
        free(got);
        attn_free(&a);
        clattn_handle_destroy(h);
        user_close(&u);
    }
}

/* The whole pipeline on an out-of-order queue, repeated with the buffers reused, each run
 * gated by a user event and every dependency an event; also with done == NULL. */
static void out_of_order_pipeline(void) {
    user u;
    CU_ASSERT_FATAL(user_open(&u));
    CU_ASSERT_PTR_NOT_NULL(u.out_of_order); /* PoCL supports them; other devices may not */
    clattn_handle *h = NULL;
    CU_ASSERT_EQUAL_FATAL(clattn_handle_create_from(u.context, u.device, NULL, NULL, &h),
                          CLATTN_SUCCESS);
    cl_command_queue queue = ooo_or_in_order(&u);
    problem p = make_problem(N, D, 7);
    device_problem dp;
    CU_ASSERT_FATAL(p.x && p.q && upload_problem(&u, &p, &dp));
    for (int run = 0; run < 3; run++) {
        cl_int err;
        cl_event gate = clCreateUserEvent(u.context, &err), done = NULL;
        CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
        CU_ASSERT_EQUAL(enqueue_pipeline(h, queue, &p, &dp, 1, &gate, &done), CLATTN_SUCCESS);
        clSetUserEventStatus(gate, CL_COMPLETE);
        CU_ASSERT_EQUAL(clWaitForEvents(1, &done), CL_SUCCESS);
        CU_ASSERT(read_and_check(u.in_order, &p, &dp));
        clReleaseEvent(done);
        clReleaseEvent(gate);
    }
    /* No event wanted: the caller synchronises with clFinish. */
    float scale = 1.0f / sqrtf((float)D);
    CU_ASSERT_EQUAL(
        clattn_enqueue_scores(h, queue, N, D, scale, dp.x, 0, dp.q, 0, dp.s, 0, 0, NULL, NULL),
        CLATTN_SUCCESS);
    clFinish(queue);
    CU_ASSERT_EQUAL(
        clattn_enqueue_normalize(h, queue, CLATTN_NORM_SOFTMAX, N, dp.s, 0, dp.w, 0, 0, NULL, NULL),
        CLATTN_SUCCESS);
    clFinish(queue);
    CU_ASSERT_EQUAL(
        clattn_enqueue_context(h, queue, N, D, dp.w, 0, dp.x, 0, dp.c, 0, 0, NULL, NULL),
        CLATTN_SUCCESS);
    clFinish(queue);
    CU_ASSERT(read_and_check(u.in_order, &p, &dp));
    release_problem(&dp);
    free_problem(&p);
    clattn_handle_destroy(h);
    user_close(&u);
}

/* The blocking forms on a handle whose queue is the user's out-of-order one. */
static void blocking_on_out_of_order_queue(void) {
    user u;
    CU_ASSERT_FATAL(user_open(&u));
    clattn_handle *h = NULL;
    CU_ASSERT_EQUAL_FATAL(
        clattn_handle_create_from(u.context, u.device, ooo_or_in_order(&u), NULL, &h),
        CLATTN_SUCCESS);
    problem p = make_problem(N, D, 8);
    CU_ASSERT_FATAL(p.x && p.q);
    float *s = malloc(N * sizeof(float)), *w = malloc(N * sizeof(float)), c[D];
    CU_ASSERT_FATAL(s && w);
    CU_ASSERT_EQUAL(clattn_query_attention(h, N, D, p.x, p.q, NULL, 1.0f / sqrtf((float)D),
                                           CLATTN_NORM_SOFTMAX, s, w, c),
                    CLATTN_SUCCESS);
    CU_ASSERT(check_steps(&p, s, w, c));
    free(s);
    free(w);
    free_problem(&p);
    clattn_handle_destroy(h);
    user_close(&u);
}

/* ---- offsets into one shared buffer --------------------------------------------------- */

/* Every input and output of the pipeline in one buffer at odd offsets, each output between
 * guard values that must stay untouched. */
static void shared_buffer_offsets(void) {
    user u;
    CU_ASSERT_FATAL(user_open(&u));
    for (int v = 0; v < 2; v++) {
        clattn_options options;
        clattn_options_init(&options);
        options.variant = test_variants[v];
        if (options.variant == CLATTN_VARIANT_GPU) options.max_work_group_size = 256;
        clattn_handle *h = NULL;
        CU_ASSERT_EQUAL_FATAL(clattn_handle_create_from(u.context, u.device, NULL, &options, &h),
                              CLATTN_SUCCESS);
        const size_t sizes[] = {1, 7, 113, N};
        for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
            size_t n = sizes[t], d = t == 0 ? 3 : D;
            problem p = make_problem(n, d, 99 + t);
            CU_ASSERT_FATAL(p.x && p.q);
            /* [guard x guard q guard s guard w guard c guard], offsets odd on purpose. */
            size_t xo = GUARD + 1, qo = xo + n * d + GUARD, so = qo + d + GUARD,
                   wo = so + n + GUARD, co = wo + n + GUARD, total = co + d + GUARD;
            float *host = malloc(total * sizeof(float)), *got = malloc(total * sizeof(float));
            CU_ASSERT_FATAL(host && got);
            for (size_t i = 0; i < total; i++)
                host[i] = GUARD_VALUE;
            memcpy(host + xo, p.x, n * d * sizeof(float));
            memcpy(host + qo, p.q, d * sizeof(float));
            cl_mem buf = make_buffer(&u, total, host);
            CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
            cl_command_queue queue = ooo_or_in_order(&u);
            cl_event e1 = NULL, e2 = NULL, e3 = NULL;
            float scale = 1.0f / sqrtf((float)d);
            CU_ASSERT_EQUAL(clattn_enqueue_scores(h, queue, n, d, scale, buf, xo, buf, qo, buf, so,
                                                  0, NULL, &e1),
                            CLATTN_SUCCESS);
            CU_ASSERT_EQUAL(clattn_enqueue_normalize(h, queue, CLATTN_NORM_SOFTMAX, n, buf, so, buf,
                                                     wo, 1, &e1, &e2),
                            CLATTN_SUCCESS);
            CU_ASSERT_EQUAL(
                clattn_enqueue_context(h, queue, n, d, buf, wo, buf, xo, buf, co, 1, &e2, &e3),
                CLATTN_SUCCESS);
            CU_ASSERT_EQUAL(clEnqueueReadBuffer(queue, buf, CL_TRUE, 0, total * sizeof(float), got,
                                                e3 ? 1 : 0, e3 ? &e3 : NULL, NULL),
                            CL_SUCCESS);
            /* Everything but the three outputs is as it was (inputs and guards alike). */
            size_t changed = 0;
            for (size_t i = 0; i < total; i++) {
                bool output =
                    (i >= so && i < so + n) || (i >= wo && i < wo + n) || (i >= co && i < co + d);
                if (!output && memcmp(&got[i], &host[i], sizeof(float)) != 0) changed++;
            }
            CU_ASSERT_EQUAL(changed, 0);
            CU_ASSERT(check_steps(&p, got + so, got + wo, got + co));
            for (cl_event *e = (cl_event[]){e1, e2, e3}, *end = e + 3; e < end; e++)
                if (*e) clReleaseEvent(*e);
            clReleaseMemObject(buf);
            free(host);
            free(got);
            free_problem(&p);
        }
        clattn_handle_destroy(h);
    }
    user_close(&u);
}

/* ---- borrowed objects ------------------------------------------------------------------ */

/* A handle on the user's context and queue retains them and releases exactly its own
 * references; the user's buffers are neither retained nor released. Two handles on one
 * context share built programs; destroying one leaves the other working. */
static void borrowed_objects(void) {
    user u;
    CU_ASSERT_FATAL(user_open(&u));
    problem p = make_problem(N, D, 5);
    device_problem dp;
    CU_ASSERT_FATAL(p.x && p.q && upload_problem(&u, &p, &dp));
    /* PoCL keeps a few references of its own to a queue that ran kernels (bounded, for its
     * last commands): a first handle runs the same work so that the counts below compare
     * like with like. */
    clattn_handle *warm = NULL;
    CU_ASSERT_EQUAL_FATAL(clattn_handle_create_from(u.context, u.device, u.in_order, NULL, &warm),
                          CLATTN_SUCCESS);
    cl_event done = NULL;
    CU_ASSERT_EQUAL(enqueue_pipeline(warm, NULL, &p, &dp, 0, NULL, &done), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(clWaitForEvents(1, &done), CL_SUCCESS);
    clReleaseEvent(done);
    CU_ASSERT(read_and_check(u.in_order, &p, &dp));
    clattn_handle_destroy(warm);
    clFinish(u.in_order);
    cl_uint context_refs = ref_count_context(u.context);
    cl_uint queue_refs = ref_count_queue(u.in_order);
    cl_uint mem_refs = ref_count_mem(dp.x);

    clattn_handle *a = NULL, *b = NULL;
    CU_ASSERT_EQUAL_FATAL(clattn_handle_create_from(u.context, u.device, u.in_order, NULL, &a),
                          CLATTN_SUCCESS);
    CU_ASSERT_EQUAL_FATAL(clattn_handle_create_from(u.context, u.device, u.in_order, NULL, &b),
                          CLATTN_SUCCESS);
    CU_ASSERT(clattn_handle_context(a) == u.context);
    CU_ASSERT(clattn_handle_queue(a) == u.in_order);
    CU_ASSERT(ref_count_context(u.context) > context_refs);
    CU_ASSERT(ref_count_queue(u.in_order) > queue_refs);

    done = NULL;
    CU_ASSERT_EQUAL(enqueue_pipeline(a, NULL, &p, &dp, 0, NULL, &done), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(clWaitForEvents(1, &done), CL_SUCCESS);
    clReleaseEvent(done);
    CU_ASSERT(read_and_check(u.in_order, &p, &dp));
    CU_ASSERT_EQUAL(ref_count_mem(dp.x), mem_refs);

    clattn_handle_destroy(a);
    /* b still works with the programs a built. */
    done = NULL;
    CU_ASSERT_EQUAL(enqueue_pipeline(b, NULL, &p, &dp, 0, NULL, &done), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(clWaitForEvents(1, &done), CL_SUCCESS);
    clReleaseEvent(done);
    CU_ASSERT(read_and_check(u.in_order, &p, &dp));
    clattn_handle_destroy(b);

    clFinish(u.in_order);
    CU_ASSERT_EQUAL(ref_count_context(u.context), context_refs);
    CU_ASSERT_EQUAL(ref_count_queue(u.in_order), queue_refs);
    CU_ASSERT_EQUAL(ref_count_mem(dp.x), mem_refs);

    /* A queue that ran nothing: exactly the user's one reference is left. */
    cl_int err;
    cl_command_queue fresh = clCreateCommandQueue(u.context, u.device, 0, &err);
    CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
    CU_ASSERT_EQUAL(ref_count_queue(fresh), 1);
    CU_ASSERT_EQUAL_FATAL(clattn_handle_create_from(u.context, u.device, fresh, NULL, &a),
                          CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(ref_count_queue(fresh), 2);
    CU_ASSERT_EQUAL(clattn_handle_prepare(a), CLATTN_SUCCESS);
    clattn_handle_destroy(a);
    CU_ASSERT_EQUAL(ref_count_queue(fresh), 1);
    clReleaseCommandQueue(fresh);

    /* A handle without a queue needs one per call. */
    CU_ASSERT_EQUAL_FATAL(clattn_handle_create_from(u.context, u.device, NULL, NULL, &a),
                          CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(
        clattn_enqueue_scores(a, NULL, N, D, 1.0f, dp.x, 0, dp.q, 0, dp.s, 0, 0, NULL, NULL),
        CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_scores(a, 1, 1, 1.0f, p.x, p.q, p.x), CLATTN_ERROR_NULL_POINTER);
    clattn_handle_destroy(a);

    /* Objects of another context are refused. */
    user other;
    CU_ASSERT_FATAL(user_open(&other));
    CU_ASSERT_EQUAL(clattn_handle_create_from(u.context, u.device, other.in_order, NULL, &a),
                    CLATTN_ERROR_INVALID_HANDLE);
    CU_ASSERT_PTR_NULL(a);
    CU_ASSERT_EQUAL_FATAL(clattn_handle_create_from(u.context, u.device, NULL, NULL, &a),
                          CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(clattn_enqueue_scores(a, other.in_order, N, D, 1.0f, dp.x, 0, dp.q, 0, dp.s, 0,
                                          0, NULL, NULL),
                    CLATTN_ERROR_INVALID_HANDLE);
    clattn_handle_destroy(a);
    CU_ASSERT_EQUAL(clattn_handle_create_from(NULL, u.device, NULL, NULL, &a),
                    CLATTN_ERROR_NULL_POINTER);
    user_close(&other);
    CU_ASSERT_EQUAL(ref_count_context(u.context), context_refs);

    release_problem(&dp);
    free_problem(&p);
    user_close(&u);
}

/* Destroying the handle while its work still waits on a user event: the work runs later,
 * with the programs, kernels and scratch it uses kept alive by OpenCL, and gives the right
 * results. */
static void destroy_with_pending_work(void) {
    user u;
    CU_ASSERT_FATAL(user_open(&u));
    clattn_handle *h = NULL;
    CU_ASSERT_EQUAL_FATAL(clattn_handle_create_from(u.context, u.device, NULL, NULL, &h),
                          CLATTN_SUCCESS);
    problem p = make_problem(N, D, 9);
    device_problem dp;
    CU_ASSERT_FATAL(p.x && p.q && upload_problem(&u, &p, &dp));
    attn_problem a;
    CU_ASSERT_FATAL(attn_make(&u, &a, 1, N, D, 10));
    cl_int err;
    cl_event gate = clCreateUserEvent(u.context, &err), done = NULL, attn_done = NULL;
    CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
    cl_command_queue queue = ooo_or_in_order(&u);
    CU_ASSERT_EQUAL(enqueue_pipeline(h, queue, &p, &dp, 1, &gate, &done), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(attn_enqueue(h, queue, &a, 1, &gate, &attn_done), CLATTN_SUCCESS);
    clattn_handle_destroy(h);
    CU_ASSERT_NOT_EQUAL(event_status(done), CL_COMPLETE);
    CU_ASSERT_EQUAL(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
    cl_event both[2] = {done, attn_done};
    CU_ASSERT_EQUAL(clWaitForEvents(2, both), CL_SUCCESS);
    CU_ASSERT(read_and_check(u.in_order, &p, &dp));
    CU_ASSERT(attn_check(u.in_order, &a));
    clReleaseEvent(done);
    clReleaseEvent(attn_done);
    clReleaseEvent(gate);
    attn_free(&a);
    release_problem(&dp);
    free_problem(&p);
    user_close(&u);
}

/* ---- scratch memory -------------------------------------------------------------------- */

static void scratch_query(void) {
    clattn_handle *h = test_handle(CLATTN_VARIANT_AUTO);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    size_t bytes = 99;
    CU_ASSERT_EQUAL(clattn_scratch_size(h, CLATTN_OP_SCORES, N, D, NULL, &bytes), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(bytes, 0);
    CU_ASSERT_EQUAL(clattn_scratch_size(h, CLATTN_OP_NORMALIZE, 10, 0, NULL, &bytes),
                    CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(bytes, 0); /* one work-group, no partials */
    CU_ASSERT_EQUAL(clattn_scratch_size(h, CLATTN_OP_NORMALIZE, N, 0, NULL, &bytes),
                    CLATTN_SUCCESS);
    CU_ASSERT(bytes > 0 && bytes < N * sizeof(float));
    CU_ASSERT_EQUAL(clattn_scratch_size(h, CLATTN_OP_CONTEXT, N, D, NULL, &bytes), CLATTN_SUCCESS);
    CU_ASSERT(bytes >= D * sizeof(float));
    CU_ASSERT_EQUAL(clattn_scratch_size(h, CLATTN_OP_CONTEXT, 0, D, NULL, &bytes),
                    CLATTN_ERROR_INVALID_SIZE);
    CU_ASSERT_EQUAL(
        clattn_scratch_size(h, CLATTN_OP_CONTEXT, SIZE_MAX / 2, SIZE_MAX / 2, NULL, &bytes),
        CLATTN_ERROR_SIZE_OVERFLOW);
    CU_ASSERT_EQUAL(clattn_scratch_size(h, CLATTN_OP_ATTENTION, 0, 0, NULL, &bytes),
                    CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_scratch_size(h, (clattn_op)77, N, D, NULL, &bytes),
                    CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_scratch_size(NULL, CLATTN_OP_SCORES, N, D, NULL, &bytes),
                    CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_scratch_size(h, CLATTN_OP_SCORES, N, D, NULL, NULL),
                    CLATTN_ERROR_NULL_POINTER);
}

/* The handle's own scratch is allocated once, reused by smaller calls, grown by larger ones. */
static void scratch_reused(void) {
    user u;
    CU_ASSERT_FATAL(user_open(&u));
    clattn_handle *h = NULL;
    CU_ASSERT_EQUAL_FATAL(clattn_handle_create_from(u.context, u.device, u.in_order, NULL, &h),
                          CLATTN_SUCCESS);
    problem big = make_problem(4 * N, D, 11), small = make_problem(N, D, 12);
    device_problem db, ds;
    CU_ASSERT_FATAL(big.x && small.x && upload_problem(&u, &big, &db) &&
                    upload_problem(&u, &small, &ds));
    size_t need_small = 0, need_big = 0, need;
    clattn_scratch_size(h, CLATTN_OP_CONTEXT, N, D, NULL, &need_small);
    clattn_scratch_size(h, CLATTN_OP_NORMALIZE, N, D, NULL, &need);
    if (need > need_small) need_small = need;
    clattn_scratch_size(h, CLATTN_OP_CONTEXT, 4 * N, D, NULL, &need_big);
    clattn_scratch_size(h, CLATTN_OP_NORMALIZE, 4 * N, D, NULL, &need);
    if (need > need_big) need_big = need;

    CU_ASSERT_PTR_NULL(h->scratch);
    CU_ASSERT_EQUAL(enqueue_pipeline(h, NULL, &small, &ds, 0, NULL, NULL), CLATTN_SUCCESS);
    cl_mem first = h->scratch;
    CU_ASSERT_PTR_NOT_NULL(first);
    CU_ASSERT_EQUAL(h->scratch_bytes, need_small);
    CU_ASSERT_EQUAL(enqueue_pipeline(h, NULL, &small, &ds, 0, NULL, NULL), CLATTN_SUCCESS);
    CU_ASSERT(h->scratch == first); /* reused */
    CU_ASSERT_EQUAL(enqueue_pipeline(h, NULL, &big, &db, 0, NULL, NULL), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(h->scratch_bytes, need_big); /* grown */
    CU_ASSERT(need_big == need_small || h->scratch != first);
    cl_mem grown = h->scratch;
    CU_ASSERT_EQUAL(enqueue_pipeline(h, NULL, &small, &ds, 0, NULL, NULL), CLATTN_SUCCESS);
    CU_ASSERT(h->scratch == grown); /* not shrunk */
    clFinish(u.in_order);
    CU_ASSERT(read_and_check(u.in_order, &small, &ds));
    CU_ASSERT(read_and_check(u.in_order, &big, &db));
    release_problem(&db);
    release_problem(&ds);
    free_problem(&big);
    free_problem(&small);
    clattn_handle_destroy(h);
    user_close(&u);
}

/* A user scratch buffer of the queried size is used as is; a smaller one is refused before
 * anything is enqueued; NULL returns to the handle's own. */
static void scratch_user_buffer(void) {
    user u;
    CU_ASSERT_FATAL(user_open(&u));
    clattn_handle *h = NULL;
    CU_ASSERT_EQUAL_FATAL(clattn_handle_create_from(u.context, u.device, u.in_order, NULL, &h),
                          CLATTN_SUCCESS);
    problem p = make_problem(N, D, 13);
    device_problem dp;
    CU_ASSERT_FATAL(p.x && upload_problem(&u, &p, &dp));
    size_t need_norm = 0, need_ctx = 0;
    CU_ASSERT_EQUAL(clattn_scratch_size(h, CLATTN_OP_NORMALIZE, N, D, NULL, &need_norm),
                    CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(clattn_scratch_size(h, CLATTN_OP_CONTEXT, N, D, NULL, &need_ctx),
                    CLATTN_SUCCESS);
    size_t need = need_norm > need_ctx ? need_norm : need_ctx;
    cl_int err;
    /* Larger than needed, handed over with an exact byte count. */
    cl_mem scratch = clCreateBuffer(u.context, CL_MEM_READ_WRITE, need + 64, NULL, &err);
    CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
    cl_uint refs = ref_count_mem(scratch);
    CU_ASSERT_EQUAL(clattn_handle_set_scratch(h, scratch, need), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(ref_count_mem(scratch), refs + 1);
    cl_event done = NULL;
    CU_ASSERT_EQUAL(enqueue_pipeline(h, NULL, &p, &dp, 0, NULL, &done), CLATTN_SUCCESS);
    CU_ASSERT(h->scratch == scratch);
    if (done) clWaitForEvents(1, &done), clReleaseEvent(done);
    CU_ASSERT(read_and_check(u.in_order, &p, &dp));

    /* Too small for context: refused, and the output untouched. */
    float sentinel[D], got[D];
    for (size_t i = 0; i < D; i++)
        sentinel[i] = GUARD_VALUE;
    clEnqueueWriteBuffer(u.in_order, dp.c, CL_TRUE, 0, sizeof sentinel, sentinel, 0, NULL, NULL);
    CU_ASSERT_EQUAL(clattn_handle_set_scratch(h, scratch, need_ctx - 4), CLATTN_SUCCESS);
    done = NULL;
    CU_ASSERT_EQUAL(
        clattn_enqueue_context(h, NULL, N, D, dp.w, 0, dp.x, 0, dp.c, 0, 0, NULL, &done),
        CLATTN_ERROR_BUFFER_TOO_SMALL);
    CU_ASSERT_PTR_NULL(done);
    clFinish(u.in_order);
    CU_ASSERT(read_floats(u.in_order, dp.c, 0, D, got));
    CU_ASSERT(memcmp(got, sentinel, sizeof got) == 0);

    /* Attention in exactly its queried scratch, and refused with one byte less. */
    attn_problem a;
    CU_ASSERT_FATAL(attn_make(&u, &a, 1, N, D, 17));
    size_t need_attn = 0;
    CU_ASSERT_EQUAL(clattn_scratch_size(h, CLATTN_OP_ATTENTION, 0, 0, &a.desc, &need_attn),
                    CLATTN_SUCCESS);
    cl_mem attn_scratch = clCreateBuffer(u.context, CL_MEM_READ_WRITE, need_attn, NULL, &err);
    CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
    CU_ASSERT_EQUAL(clattn_handle_set_scratch(h, attn_scratch, need_attn - 1), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(attn_enqueue(h, NULL, &a, 0, NULL, NULL), CLATTN_ERROR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(clattn_handle_set_scratch(h, attn_scratch, 0), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(attn_enqueue(h, NULL, &a, 0, NULL, NULL), CLATTN_SUCCESS);
    clFinish(u.in_order);
    CU_ASSERT(attn_check(u.in_order, &a));
    /* A sub-buffer is refused (operations carve their own out of the scratch). */
    cl_buffer_region region = {0, 256};
    cl_mem sub = clCreateSubBuffer(attn_scratch, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION,
                                   &region, &err);
    CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
    CU_ASSERT_EQUAL(clattn_handle_set_scratch(h, sub, 0), CLATTN_ERROR_INVALID_VALUE);
    clReleaseMemObject(sub);
    CU_ASSERT_EQUAL(clattn_handle_set_scratch(h, scratch, need), CLATTN_SUCCESS);
    clReleaseMemObject(attn_scratch);
    attn_free(&a);

    /* Bad arguments. */
    CU_ASSERT_EQUAL(clattn_handle_set_scratch(h, scratch, need + 65),
                    CLATTN_ERROR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(clattn_handle_set_scratch(NULL, scratch, 0), CLATTN_ERROR_NULL_POINTER);
    user other;
    CU_ASSERT_FATAL(user_open(&other));
    cl_mem foreign = make_buffer(&other, 1024, NULL);
    CU_ASSERT_EQUAL(clattn_handle_set_scratch(h, foreign, 0), CLATTN_ERROR_INVALID_HANDLE);
    clReleaseMemObject(foreign);
    user_close(&other);

    /* Back to the handle's own: the user's buffer is released by the handle. */
    CU_ASSERT_EQUAL(clattn_handle_set_scratch(h, NULL, 0), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(enqueue_pipeline(h, NULL, &p, &dp, 0, NULL, NULL), CLATTN_SUCCESS);
    CU_ASSERT(h->scratch != scratch && h->scratch != NULL);
    clFinish(u.in_order);
    CU_ASSERT(read_and_check(u.in_order, &p, &dp));
    CU_ASSERT_EQUAL(ref_count_mem(scratch), refs);
    clReleaseMemObject(scratch);
    release_problem(&dp);
    free_problem(&p);
    clattn_handle_destroy(h);
    user_close(&u);
}

/* ---- several host threads ---------------------------------------------------------------- */

#define THREADS 2
#define REPEATS 6

typedef struct worker {
    clattn_handle *handle; /* shared, or this thread's own */
    const user *u;
    cl_command_queue queue; /* this thread's own */
    problem p;
    size_t attn_m, attn_n; /* an attention problem of this thread's own shape */
    int failures;
    char message[256];
} worker;

/* Reads back and checks without CUnit (not thread-safe): failures are counted. */
static void *work(void *arg) {
    worker *w = arg;
    device_problem dp;
    attn_problem a;
    bool made = attn_make(w->u, &a, w->attn_m, w->attn_n, 32, 3 + w->attn_m);
    if (!upload_problem(w->u, &w->p, &dp) || !made) {
        w->failures++;
        release_problem(&dp);
        attn_free(&a);
        return NULL;
    }
    for (int r = 0; r < REPEATS; r++) {
        cl_event done = NULL;
        clattn_status status = enqueue_pipeline(w->handle, w->queue, &w->p, &dp, 0, NULL, &done);
        if (status) {
            snprintf(w->message, sizeof w->message, "%s: %s", clattn_status_string(status),
                     clattn_last_error_message());
            w->failures++;
            break;
        }
        clWaitForEvents(1, &done);
        clReleaseEvent(done);
        if (!read_and_check(w->queue, &w->p, &dp)) w->failures++;
        done = NULL;
        status = attn_enqueue(w->handle, w->queue, &a, 0, NULL, &done);
        if (status) {
            snprintf(w->message, sizeof w->message, "attention: %s: %s",
                     clattn_status_string(status), clattn_last_error_message());
            w->failures++;
            break;
        }
        clWaitForEvents(1, &done);
        clReleaseEvent(done);
        if (!attn_check(w->queue, &a)) w->failures++;
    }
    release_problem(&dp);
    attn_free(&a);
    return NULL;
}

static void run_workers(worker *workers) {
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&threads[t], NULL, work, &workers[t]), 0);
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        if (workers[t].message[0]) fprintf(stderr, "\n    thread %d: %s", t, workers[t].message);
        CU_ASSERT_EQUAL(workers[t].failures, 0);
    }
}

/* One handle, a queue per thread, different sizes per thread (so scratch sizes differ). */
static void threads_share_handle(void) {
    user u;
    CU_ASSERT_FATAL(user_open(&u));
    clattn_handle *h = NULL;
    CU_ASSERT_EQUAL_FATAL(clattn_handle_create_from(u.context, u.device, NULL, NULL, &h),
                          CLATTN_SUCCESS);
    worker workers[THREADS];
    memset(workers, 0, sizeof workers);
    for (int t = 0; t < THREADS; t++) {
        cl_int err;
        workers[t].handle = h;
        workers[t].u = &u;
        workers[t].queue = clCreateCommandQueue(
            u.context, u.device, t % 2 ? CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE : 0, &err);
        CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
        workers[t].p = make_problem(N + 1000 * t, D + t, 21 + t);
        workers[t].attn_m = t ? 1 : 33; /* split keys (scratch) or not */
        workers[t].attn_n = 700 + 300 * t;
    }
    run_workers(workers);
    for (int t = 0; t < THREADS; t++) {
        clReleaseCommandQueue(workers[t].queue);
        free_problem(&workers[t].p);
    }
    clattn_handle_destroy(h);
    user_close(&u);
}

/* A handle per thread on one context: they share the built programs (built by whichever
 * thread comes first). */
static void threads_own_handles(void) {
    user u;
    CU_ASSERT_FATAL(user_open(&u));
    worker workers[THREADS];
    memset(workers, 0, sizeof workers);
    for (int t = 0; t < THREADS; t++) {
        cl_int err;
        workers[t].u = &u;
        workers[t].queue = clCreateCommandQueue(u.context, u.device, 0, &err);
        CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
        clattn_options options;
        clattn_options_init(&options);
        options.variant = test_variants[t % 2];
        CU_ASSERT_EQUAL_FATAL(clattn_handle_create_from(u.context, u.device, workers[t].queue,
                                                        &options, &workers[t].handle),
                              CLATTN_SUCCESS);
        workers[t].p = make_problem(N - 1000 * t, D - t, 31 + t);
        workers[t].attn_m = t ? 33 : 1;
        workers[t].attn_n = 900 + 100 * t;
    }
    run_workers(workers);
    for (int t = 0; t < THREADS; t++) {
        clattn_handle_destroy(workers[t].handle);
        clReleaseCommandQueue(workers[t].queue);
        free_problem(&workers[t].p);
    }
    user_close(&u);
}

static void add_suites(void) {
    static const test_case events[] = {
        {"scores gated by a user event", gated_scores},
        {"normalize gated by a user event", gated_normalize},
        {"context gated by a user event", gated_context},
        {"attention gated by a user event", gated_attention},
        {"pipeline on an out-of-order queue", out_of_order_pipeline},
        {"blocking calls on an out-of-order queue", blocking_on_out_of_order_queue},
        {NULL, NULL}};
    static const test_case buffers[] = {{"offsets into one shared buffer", shared_buffer_offsets},
                                        {"borrowed context, queue and buffers", borrowed_objects},
                                        {"destroy with pending work", destroy_with_pending_work},
                                        {NULL, NULL}};
    static const test_case scratch[] = {{"scratch size query", scratch_query},
                                        {"own scratch reused and grown", scratch_reused},
                                        {"user scratch buffer", scratch_user_buffer},
                                        {NULL, NULL}};
    static const test_case threads[] = {{"two threads share a handle", threads_share_handle},
                                        {"a handle per thread", threads_own_handles},
                                        {NULL, NULL}};
    test_add_suite("events", events);
    test_add_suite("buffers", buffers);
    test_add_suite("scratch", scratch);
    test_add_suite("threads", threads);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
