/* The registry of operations and scratch memory: every kernels/ source belongs to an
 * operation, the size clattn_op_scratch_size reports is exactly enough for every operation
 * that takes scratch (a caller's buffer of that size succeeds, one byte less fails), and the
 * scratch token never blocks a thread that holds it (host/opencl/scratch.c). */
#include "test_common.h"
#include "program.h"  /* clattn_kernel_sources, clattn__get_kernel */
#include "registry.h" /* clattn__op_registry */
#include "scratch.h"  /* clattn__scratch_acquire */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- registry ----------------------------------------------------------------------- */

static bool registry_lists(const char *source) {
    for (size_t i = 0; i < clattn__op_registry_count; i++)
        for (int p = 0; p < CLATTN_OP_MAX_PROGRAMS; p++) {
            const char *listed = clattn__op_registry[i].programs[p].source;
            if (listed && strcmp(listed, source) == 0) return true;
        }
    return false;
}

static void every_source_has_an_operation(void) {
    for (size_t i = 0; i < clattn_kernel_source_count; i++) {
        const char *name = clattn_kernel_sources[i].name;
        /* contract.h, philox.h and common.h are prepended to every program. */
        if (strcmp(name, "common.h") == 0 || strcmp(name, "contract.h") == 0 ||
            strcmp(name, "philox.h") == 0)
            continue;
        if (!registry_lists(name)) printf("\n  %s is in no registry entry", name);
        CU_ASSERT(registry_lists(name));
    }
}

static void every_public_op_has_an_entry(void) {
    const clattn_op ops[] = {CLATTN_OP_SCORES,    CLATTN_OP_NORMALIZE, CLATTN_OP_CONTEXT,
                             CLATTN_OP_ATTENTION, CLATTN_OP_LINEAR,    CLATTN_OP_MHA};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        const clattn_op_entry *entry = clattn__find_op(ops[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(entry);
        CU_ASSERT_EQUAL(entry->op, ops[i]);
    }
    CU_ASSERT_PTR_NULL(clattn__find_op((clattn_op)0));
    CU_ASSERT_PTR_NULL(clattn__find_op((clattn_op)7));
}

static void scratch_size_arguments(void) {
    clattn_handle *h = test_handle(CLATTN_VARIANT_AUTO);
    const clattn_op_shape shape = {.n = 100, .d = 8, .rows = 4, .cols = 4, .k = 4};
    size_t bytes = 1;
    CU_ASSERT_EQUAL(clattn_op_scratch_size(NULL, CLATTN_OP_CONTEXT, &shape, &bytes),
                    CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_op_scratch_size(h, CLATTN_OP_CONTEXT, &shape, NULL),
                    CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_op_scratch_size(h, CLATTN_OP_CONTEXT, NULL, &bytes),
                    CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_op_scratch_size(h, CLATTN_OP_ATTENTION, &shape, &bytes),
                    CLATTN_ERROR_NULL_POINTER); /* no desc */
    CU_ASSERT_EQUAL(clattn_op_scratch_size(h, CLATTN_OP_MHA, &shape, &bytes),
                    CLATTN_ERROR_NULL_POINTER); /* no desc */
    CU_ASSERT_EQUAL(clattn_op_scratch_size(h, (clattn_op)0, &shape, &bytes),
                    CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_op_scratch_size(h, (clattn_op)7, &shape, &bytes),
                    CLATTN_ERROR_INVALID_VALUE);
    const clattn_op_shape empty = {.rows = 0, .cols = 4, .k = 4};
    CU_ASSERT_EQUAL(clattn_op_scratch_size(h, CLATTN_OP_LINEAR, &empty, &bytes),
                    CLATTN_ERROR_INVALID_SIZE);
    CU_ASSERT_EQUAL(bytes, 0);
    /* The older function agrees where it can take the shape, and refuses where it cannot. */
    size_t old_bytes = 1;
    CU_ASSERT_EQUAL(clattn_op_scratch_size(h, CLATTN_OP_CONTEXT, &shape, &bytes), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(clattn_scratch_size(h, CLATTN_OP_CONTEXT, 100, 8, NULL, &old_bytes),
                    CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(bytes, old_bytes);
    CU_ASSERT(bytes > 0);
    CU_ASSERT_EQUAL(clattn_scratch_size(h, CLATTN_OP_LINEAR, 4, 4, NULL, &old_bytes),
                    CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_scratch_size(h, CLATTN_OP_MHA, 4, 4, NULL, &old_bytes),
                    CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_op_scratch_size(h, CLATTN_OP_SCORES, &shape, &bytes), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(bytes, 0);
}

/* ---- the reported size is exactly enough ------------------------------------------------- */

enum { NORM_N = 5003, CTX_N = 3001, CTX_D = 24, LIN_ROWS = 40, LIN_COLS = 33, LIN_K = 17 };

/* One call of each operation that takes scratch, on host arrays (blocking forms), with the
 * shape that clattn_op_scratch_size is asked about. */
typedef struct op_case {
    const char *name;
    clattn_op op;
    clattn_status (*run)(clattn_handle *h);
    void (*shape)(clattn_op_shape *shape);
} op_case;

static float in_a[1 << 17], in_b[1 << 16], in_c[1 << 14], out[1 << 16], lse[1 << 10];
static clattn_attention_desc attn_desc;
static clattn_mha_desc mha_desc = {.batch = 2, .tokens = 9, .d_in = 16, .d_out = 32, .heads = 2};

static void fill_inputs(void) {
    uint64_t seed = 4242;
    test_fill(in_a, sizeof in_a / sizeof in_a[0], &seed, -1.0f, 1.0f);
    test_fill(in_b, sizeof in_b / sizeof in_b[0], &seed, -1.0f, 1.0f);
    test_fill(in_c, sizeof in_c / sizeof in_c[0], &seed, -1.0f, 1.0f);
    /* K/V repacked (CPU shape) and split into 3 chunks: every region of the scratch. */
    clattn_attention_desc_init(&attn_desc, 1, 2, 1, 37, 700, 16, 16);
    attn_desc.kv_splits = 3;
}

static clattn_status run_normalize(clattn_handle *h) {
    return clattn_normalize(h, CLATTN_NORM_SOFTMAX, NORM_N, in_a, out);
}
static void shape_normalize(clattn_op_shape *s) {
    s->n = NORM_N;
}
static clattn_status run_context(clattn_handle *h) {
    return clattn_context(h, CTX_N, CTX_D, in_c, in_a, out);
}
static void shape_context(clattn_op_shape *s) {
    s->n = CTX_N;
    s->d = CTX_D;
}
static clattn_status run_attention(clattn_handle *h) {
    return clattn_attention(h, &attn_desc, in_a, in_b, in_c, NULL, out, lse);
}
static void shape_attention(clattn_op_shape *s) {
    s->attention = &attn_desc;
}
static clattn_status run_linear(clattn_handle *h) {
    return clattn_linear(h, LIN_ROWS, LIN_COLS, LIN_K, in_a, in_b, in_c, out);
}
static void shape_linear(clattn_op_shape *s) {
    s->rows = LIN_ROWS;
    s->cols = LIN_COLS;
    s->k = LIN_K;
}
static clattn_status run_mha(clattn_handle *h) {
    const clattn_mha_weights w = {in_b, in_b + 1024, in_b + 2048, in_c, in_c + 2048,
                                  NULL, in_c + 4096, in_c + 8192, NULL};
    return clattn_mha_forward(h, &mha_desc, &w, in_a, out);
}
static void shape_mha(clattn_op_shape *s) {
    s->mha = &mha_desc;
}

static const op_case op_cases[] = {
    {"normalize", CLATTN_OP_NORMALIZE, run_normalize, shape_normalize},
    {"context", CLATTN_OP_CONTEXT, run_context, shape_context},
    {"attention", CLATTN_OP_ATTENTION, run_attention, shape_attention},
    {"linear", CLATTN_OP_LINEAR, run_linear, shape_linear},
    {"mha", CLATTN_OP_MHA, run_mha, shape_mha},
};

static void check_exact_sizes(clattn_variant variant) {
    clattn_handle *h = test_handle(variant);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    fill_inputs();
    for (size_t i = 0; i < sizeof op_cases / sizeof op_cases[0]; i++) {
        const op_case *c = &op_cases[i];
        clattn_op_shape shape;
        memset(&shape, 0, sizeof shape);
        c->shape(&shape);
        size_t need = 0;
        CU_ASSERT_EQUAL_FATAL(clattn_op_scratch_size(h, c->op, &shape, &need), CLATTN_SUCCESS);
        if (need == 0) { /* e.g. the linear layer's GPU shape: nothing to size */
            CU_ASSERT_EQUAL(c->run(h), CLATTN_SUCCESS);
            continue;
        }
        cl_int err;
        cl_mem buf =
            clCreateBuffer(clattn_handle_context(h), CL_MEM_READ_WRITE, need + 256, NULL, &err);
        CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
        CU_ASSERT_EQUAL(clattn_handle_set_scratch(h, buf, need), CLATTN_SUCCESS);
        const clattn_status exact = c->run(h);
        CU_ASSERT_EQUAL(clattn_handle_set_scratch(h, buf, need - 1), CLATTN_SUCCESS);
        const clattn_status short_by_one = c->run(h);
        if (exact != CLATTN_SUCCESS || short_by_one != CLATTN_ERROR_BUFFER_TOO_SMALL)
            printf("\n  %s (%s): %zu bytes -> %s, one less -> %s", c->name,
                   test_variant_name(variant), need, clattn_status_string(exact),
                   clattn_status_string(short_by_one));
        CU_ASSERT_EQUAL(exact, CLATTN_SUCCESS);
        CU_ASSERT_EQUAL(short_by_one, CLATTN_ERROR_BUFFER_TOO_SMALL);
        CU_ASSERT_EQUAL(clattn_handle_set_scratch(h, NULL, 0), CLATTN_SUCCESS);
        clReleaseMemObject(buf);
    }
}

static void exact_sizes_cpu_shape(void) {
    check_exact_sizes(CLATTN_VARIANT_CPU);
}
static void exact_sizes_gpu_shape(void) {
    check_exact_sizes(CLATTN_VARIANT_GPU);
}

/* ---- the scratch token ---------------------------------------------------------------------- */

/* Runs fn(h) on a thread and waits at most TIMEOUT_S: a deadlock fails the test (and ends the
 * process, since a deadlocked thread cannot be joined) instead of hanging it. */
#define TIMEOUT_S 60

typedef struct timed_call {
    void (*fn)(clattn_handle *h);
    clattn_handle *h;
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    bool done;
} timed_call;

static void *timed_thread(void *arg) {
    timed_call *c = arg;
    c->fn(c->h);
    pthread_mutex_lock(&c->lock);
    c->done = true;
    pthread_cond_signal(&c->done_cond);
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static bool run_with_timeout(void (*fn)(clattn_handle *h), clattn_handle *h) {
    timed_call c = {fn, h, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
    pthread_t thread;
    if (pthread_create(&thread, NULL, timed_thread, &c) != 0) return false;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += TIMEOUT_S;
    pthread_mutex_lock(&c.lock);
    int rc = 0;
    while (!c.done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&c.done_cond, &c.lock, &until);
    const bool done = c.done;
    pthread_mutex_unlock(&c.lock);
    if (!done) {
        fprintf(stderr, "\n  deadlock: the call did not return within %d s\n", TIMEOUT_S);
        _exit(1); /* the thread is stuck for good */
    }
    pthread_join(thread, NULL);
    return true;
}

/* What deadlocked before the token: building a kernel (the handle's mutex) while holding the
 * scratch, and setting the scratch meanwhile. */
static void kernel_while_holding(clattn_handle *h) {
    cl_mem buf = NULL;
    cl_event wait = NULL;
    CU_ASSERT_EQUAL_FATAL(clattn__scratch_acquire(h, 4096, &buf, &wait), CLATTN_SUCCESS);
    CU_ASSERT_PTR_NOT_NULL(buf);
    cl_kernel kernel = NULL;
    CU_ASSERT_EQUAL(clattn__get_kernel(h, "normalize.cl", NULL, "norm_small", &kernel),
                    CLATTN_SUCCESS);
    if (kernel) clReleaseKernel(kernel);
    CU_ASSERT_EQUAL(clattn_handle_prepare(h), CLATTN_SUCCESS);
    /* A nested acquisition by the holder fails instead of waiting for itself. */
    cl_mem again = NULL;
    cl_event again_wait = NULL;
    CU_ASSERT_EQUAL(clattn__scratch_acquire(h, 16, &again, &again_wait), CLATTN_ERROR_INTERNAL);
    clattn__scratch_release(h, NULL);
    if (wait) clReleaseEvent(wait);
}

static void no_lock_across_calls(void) {
    clattn_handle *h = NULL;
    CU_ASSERT_EQUAL_FATAL(clattn_handle_create(NULL, &h), CLATTN_SUCCESS);
    CU_ASSERT(run_with_timeout(kernel_while_holding, h));
    clattn_handle_destroy(h);
}

/* Another thread's operation that needs scratch waits for the holder's release. */
typedef struct waiter {
    clattn_handle *h;
    volatile bool finished;
    clattn_status status;
} waiter;

static void *normalize_thread(void *arg) {
    waiter *w = arg;
    static float scores[NORM_N], weights[NORM_N];
    uint64_t seed = 99;
    test_fill(scores, NORM_N, &seed, -2.0f, 2.0f);
    w->status = clattn_normalize(w->h, CLATTN_NORM_SOFTMAX, NORM_N, scores, weights);
    __atomic_store_n(&w->finished, true, __ATOMIC_SEQ_CST);
    return NULL;
}

static void holder_serialises_others(void) {
    clattn_handle *h = NULL;
    CU_ASSERT_EQUAL_FATAL(clattn_handle_create(NULL, &h), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL_FATAL(clattn_handle_prepare(h), CLATTN_SUCCESS);
    cl_mem buf = NULL;
    cl_event wait = NULL;
    CU_ASSERT_EQUAL_FATAL(clattn__scratch_acquire(h, 64, &buf, &wait), CLATTN_SUCCESS);
    waiter w = {h, false, -1};
    pthread_t thread;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&thread, NULL, normalize_thread, &w), 0);
    usleep(300 * 1000); /* the normalisation (about 1 ms) would have finished by now */
    CU_ASSERT_FALSE(__atomic_load_n(&w.finished, __ATOMIC_SEQ_CST));
    clattn__scratch_release(h, NULL);
    pthread_join(thread, NULL);
    CU_ASSERT_EQUAL(w.status, CLATTN_SUCCESS);
    if (wait) clReleaseEvent(wait);
    clattn_handle_destroy(h);
}

static void add_suites(void) {
    static const test_case registry[] = {
        {"every kernels/ source has an operation", every_source_has_an_operation},
        {"every public op has an entry", every_public_op_has_an_entry},
        {NULL, NULL}};
    static const test_case sizes[] = {{"arguments", scratch_size_arguments},
                                      {"exactly enough, CPU shape", exact_sizes_cpu_shape},
                                      {"exactly enough, GPU shape", exact_sizes_gpu_shape},
                                      {NULL, NULL}};
    static const test_case token[] = {
        {"no lock held across calls", no_lock_across_calls},
        {"a holder makes other threads wait", holder_serialises_others},
        {NULL, NULL}};
    test_add_suite("registry", registry);
    test_add_suite("scratch_size", sizes);
    test_add_suite("scratch_token", token);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
