/* float16 and bfloat16 inputs of the seed op (clattn_seed_dtypes: x, q, v; outputs float32)
 * on both kernel shapes, the CPU backend and the enqueue contract, against the float64
 * reference on the SAME stored inputs.
 *
 * Tolerance. Widening a float16 or bfloat16 element to float32 is exact, so the device, the
 * CPU backend and the reference compute on identical values and the storage adds no error:
 * what remains is float32 accumulation, bounded as in test_ops.c by 8 sqrt(L) u sum|terms|
 * (u = 2^-24, L terms: d for a score, n for a context element) plus 4 ulps of the result;
 * softmax weights (checked against the reference applied to the device's own scores) by
 * 8 sqrt(n) u + 32 u relative. */
#include "test_common.h"
#include "dtype.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F32  CLATTN_F32
#define F16  CLATTN_F16
#define BF16 CLATTN_BF16

typedef struct seed_case {
    clattn_seed_dtypes dt;
    bool separate_v; /* false: v = x (v's dtype unused) */
    size_t n, d;
} seed_case;

/* Each input in float16 in one case and bfloat16 in another, mixed within each. A and B take
 * the multi-launch path (scores, normalize, context kernels) at an odd d; C and D the
 * one-launch small path (query_small.cl), C with v = x. */
static const seed_case device_cases[] = {
    {{F16, BF16, BF16}, true, 4097, 37},
    {{BF16, F16, F16}, true, 4097, 37},
    {{BF16, F16, F32}, false, 7, 5},
    {{F16, F32, BF16}, true, 6, 3},
};

/* The CPU backend (host code, cheap): those and a d beyond its 512-element widening chunk. */
static const seed_case cpu_cases[] = {
    {{BF16, F16, F16}, true, 50, 1031},
    {{F16, F16, F32}, false, 300, 64},
};

static double sum_bound(size_t terms, double abs_sum) {
    return 8.0 * sqrt((double)terms) * TEST_U * abs_sum;
}

/* n elements stored as dtype, random in [lo, hi) (bytes; NULL when out of memory), and
 * *wide their exact float32 values. */
static void *make_input(clattn_dtype dtype, size_t n, uint64_t *seed, float **wide) {
    *wide = malloc(n * sizeof **wide);
    void *t = malloc(n * clattn_dtype_size(dtype));
    if (!*wide || !t) {
        free(t);
        return NULL;
    }
    test_fill(*wide, n, seed, -1.0f, 1.0f);
    clattn__dtype_narrow(dtype, *wide, t, n);
    clattn__dtype_widen(dtype, t, *wide, n);
    return t;
}

/* got[i] against want[i] with a per-element bound of L-term sums of |a_i b_k| products. */
static bool check_sums(const float *got, const float *want, size_t count, const double *abs_sums,
                       size_t terms, const char *what) {
    size_t bad = 0;
    for (size_t i = 0; i < count && bad < 5; i++) {
        const double tol = sum_bound(terms, abs_sums[i]) + 4 * TEST_U * fabs(want[i]) + 1e-30;
        if (!(fabs((double)got[i] - want[i]) <= tol)) {
            fprintf(stderr, "\n    %s[%zu]: got %.9g want %.9g tol %.3g", what, i, got[i], want[i],
                    tol);
            bad++;
        }
    }
    return bad == 0;
}

/* One case through clattn_query_attention_ex (or the CPU backend): scores and context
 * against clattn_ref_scores_ex / clattn_ref_context_ex on the stored inputs, the weights
 * against the reference softmax of the returned scores. */
static bool run_case(const seed_case *c, clattn_variant variant, bool cpu_backend, uint64_t seed) {
    const size_t n = c->n, d = c->d;
    const float scale = 1.0f / sqrtf((float)d);
    float *xw = NULL, *qw = NULL, *vw = NULL;
    void *x = make_input(c->dt.x, n * d, &seed, &xw);
    void *q = make_input(c->dt.q, d, &seed, &qw);
    void *v = c->separate_v ? make_input(c->dt.v, n * d, &seed, &vw) : NULL;
    float *out = malloc((4 * n + 2 * d) * sizeof *out);
    double *abs_sums = malloc((n > d ? n : d) * sizeof *abs_sums);
    bool ok = x && q && (v || !c->separate_v) && out && abs_sums;
    float *scores = out, *weights = out + n, *want_s = out + 2 * n, *want_w = out + 3 * n;
    float *context = out + 4 * n, *want_c = context + d;
    clattn_status status = CLATTN_SUCCESS;
    if (ok) {
        clattn_handle *h = cpu_backend ? NULL : test_handle(variant);
        status = cpu_backend
                     ? clattn_cpu_query_attention_ex(n, d, x, q, v, scale, CLATTN_NORM_SOFTMAX,
                                                     scores, weights, context, &c->dt)
                 : h ? clattn_query_attention_ex(h, n, d, x, q, v, scale, CLATTN_NORM_SOFTMAX,
                                                 scores, weights, context, &c->dt)
                     : CLATTN_ERROR_NULL_POINTER;
        if (status)
            fprintf(stderr, "\n    query_attention_ex: %s: %s\n", clattn_status_string(status),
                    clattn_last_error_message());
        clattn_seed_dtypes ref_dt = c->dt;
        if (!v) ref_dt.v = c->dt.x;
        ok = !status && !clattn_ref_scores_ex(n, d, scale, x, q, want_s, &ref_dt) &&
             !clattn_ref_normalize(CLATTN_NORM_SOFTMAX, n, scores, want_w) &&
             !clattn_ref_context_ex(n, d, weights, v ? v : x, want_c, &ref_dt);
    }
    if (ok) {
        char what[160];
        snprintf(what, sizeof what, "%s x %s q %s v %s n %zu d %zu",
                 cpu_backend ? "cpu backend" : test_variant_name(variant),
                 clattn__dtype_name(c->dt.x), clattn__dtype_name(c->dt.q),
                 v ? clattn__dtype_name(c->dt.v) : "=x", n, d);
        for (size_t j = 0; j < n; j++) {
            abs_sums[j] = 0.0;
            for (size_t k = 0; k < d; k++)
                abs_sums[j] += fabs((double)xw[j * d + k] * qw[k] * scale);
        }
        ok = check_sums(scores, want_s, n, abs_sums, d, what);
        ok = test_close(weights, want_w, n, 1e-37, 8.0 * sqrt((double)n) * TEST_U + 32 * TEST_U,
                        what) &&
             ok;
        const float *vv = v ? vw : xw;
        for (size_t k = 0; k < d; k++) {
            abs_sums[k] = 0.0;
            for (size_t j = 0; j < n; j++)
                abs_sums[k] += fabs((double)weights[j] * vv[j * d + k]);
        }
        ok = check_sums(context, want_c, d, abs_sums, n, what) && ok;
    }
    free(x), free(q), free(v), free(xw), free(qw), free(vw), free(out), free(abs_sums);
    return ok;
}

/* A and B on both shapes; the small path (no shape of its own) C on one and D on the other:
 * each program is a cold compile of 1-3 s on PoCL. */
static void test_devices(void) {
    for (size_t i = 0; i < sizeof device_cases / sizeof device_cases[0]; i++)
        for (int vi = 0; vi < 2; vi++)
            if (i < 2 || vi == (int)(i % 2))
                CU_ASSERT(run_case(&device_cases[i], test_variants[vi], false,
                                   0x3c6ef372fe94f82bull + i));
}

static void test_cpu_backend(void) {
    for (size_t i = 0; i < sizeof device_cases / sizeof device_cases[0]; i++)
        CU_ASSERT(run_case(&device_cases[i], CLATTN_VARIANT_AUTO, true, 0xa54ff53a5f1d36f1ull + i));
    for (size_t i = 0; i < sizeof cpu_cases / sizeof cpu_cases[0]; i++)
        CU_ASSERT(run_case(&cpu_cases[i], CLATTN_VARIANT_AUTO, true, 0x510e527fade682d1ull + i));
    /* The reference widens exactly: on float32 copies it gives the same bits. */
    uint64_t seed = 0x9b05688c2b3e6c1full;
    float *xw = NULL, *qw = NULL, s[9], s_wide[9];
    void *x = make_input(BF16, 9 * 5, &seed, &xw), *q = make_input(F16, 5, &seed, &qw);
    const clattn_seed_dtypes dt = {BF16, F16, F32};
    CU_ASSERT_FATAL(x && q);
    CU_ASSERT_EQUAL(clattn_ref_scores_ex(9, 5, 0.5f, x, q, s, &dt), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(clattn_ref_scores(9, 5, 0.5f, xw, qw, s_wide), CLATTN_SUCCESS);
    CU_ASSERT(memcmp(s, s_wide, sizeof s) == 0);
    free(x), free(q), free(xw), free(qw);
}

/* Buffers of exactly device case A's bytes (its programs), at odd element offsets. */
static void test_contract(void) {
    clattn_handle *h = test_handle(test_variants[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    cl_context ctx = clattn_handle_context(h);
    const seed_case *c = &device_cases[0];
    const size_t n = 100, d = c->d, x_off = 3, q_off = 1, v_off = 5;
    uint64_t seed = 0x1f83d9abfb41bd6bull;
    float *xw = NULL, *qw = NULL, *vw = NULL;
    void *x = make_input(c->dt.x, n * d + x_off, &seed, &xw);
    void *q = make_input(c->dt.q, d + q_off, &seed, &qw);
    void *v = make_input(c->dt.v, n * d + v_off, &seed, &vw);
    float weights[100], scores[100], want[100], context[37], want_c[37];
    CU_ASSERT_FATAL(x && q && v);
    for (size_t j = 0; j < n; j++)
        weights[j] = 1.0f / (float)(j + 1);
    const cl_mem_flags in = CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
    cl_int err = CL_SUCCESS;
    cl_mem xb = clCreateBuffer(ctx, in, (n * d + x_off) * 2, x, &err);
    cl_mem qb = clCreateBuffer(ctx, in, (d + q_off) * 2, q, &err);
    cl_mem vb = clCreateBuffer(ctx, in, (n * d + v_off) * 2, v, &err);
    cl_mem wb = clCreateBuffer(ctx, in, sizeof weights, weights, &err);
    cl_mem out = clCreateBuffer(ctx, CL_MEM_READ_WRITE, (n + d) * sizeof(float), NULL, &err);
    CU_ASSERT_FATAL(xb && qb && vb && wb && out);

    clattn_seed_dtypes dt = c->dt;
    cl_event done = NULL;
    CU_ASSERT_EQUAL(clattn_enqueue_scores_ex(h, NULL, n, d, 2.0f, xb, x_off, qb, q_off, out, 0, &dt,
                                             0, NULL, NULL),
                    CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(
        clattn_enqueue_context_ex(h, NULL, n, d, wb, 0, vb, v_off, out, n, &dt, 0, NULL, &done),
        CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(clEnqueueReadBuffer(clattn_handle_queue(h), out, CL_TRUE, 0, sizeof scores,
                                        scores, 1, &done, NULL),
                    CL_SUCCESS);
    CU_ASSERT_EQUAL(clEnqueueReadBuffer(clattn_handle_queue(h), out, CL_TRUE, n * sizeof(float),
                                        d * sizeof(float), context, 0, NULL, NULL),
                    CL_SUCCESS);
    if (done) clReleaseEvent(done);
    clattn_ref_scores_ex(n, d, 2.0f, (const float *)((const uint16_t *)x + x_off),
                         (const float *)((const uint16_t *)q + q_off), want, &dt);
    clattn_ref_context_ex(n, d, weights, (const float *)((const uint16_t *)v + v_off), want_c, &dt);
    CU_ASSERT(test_close(scores, want, n, 1e-5, 1e-5, "scores at odd offsets"));
    CU_ASSERT(test_close(context, want_c, d, 1e-5, 1e-5, "context at odd offsets"));

    /* Sizes count elements of the tensor's own dtype: as float32, or one element further,
     * the 2-byte buffers are too small; an unknown dtype is refused. */
#define SCORES(xo, qo)                                                                             \
    clattn_enqueue_scores_ex(h, NULL, n, d, 1.0f, xb, (xo), qb, (qo), out, 0, &dt, 0, NULL, NULL)
#define CONTEXT(vo)                                                                                \
    clattn_enqueue_context_ex(h, NULL, n, d, wb, 0, vb, (vo), out, n, &dt, 0, NULL, NULL)
    CU_ASSERT_EQUAL(SCORES(x_off + 1, q_off), CLATTN_ERROR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(SCORES(x_off, q_off + 1), CLATTN_ERROR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(CONTEXT(v_off + 1), CLATTN_ERROR_BUFFER_TOO_SMALL);
    dt.x = F32;
    CU_ASSERT_EQUAL(SCORES(0, 0), CLATTN_ERROR_BUFFER_TOO_SMALL);
    dt = c->dt, dt.q = F32;
    CU_ASSERT_EQUAL(SCORES(0, 0), CLATTN_ERROR_BUFFER_TOO_SMALL);
    dt = c->dt, dt.v = F32;
    CU_ASSERT_EQUAL(CONTEXT(0), CLATTN_ERROR_BUFFER_TOO_SMALL);
    dt = c->dt, dt.q = (clattn_dtype)3;
    CU_ASSERT_EQUAL(SCORES(0, 0), CLATTN_ERROR_INVALID_VALUE);
    dt = c->dt, dt.v = (clattn_dtype)-1;
    CU_ASSERT_EQUAL(CONTEXT(0), CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(
        clattn_query_attention_ex(h, n, d, x, q, v, 1.0f, CLATTN_NORM_SUM, scores, NULL, NULL, &dt),
        CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_cpu_context_ex(n, d, weights, v, context, &dt),
                    CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_ref_context_ex(n, d, weights, v, context, &dt),
                    CLATTN_ERROR_INVALID_VALUE);
#undef SCORES
#undef CONTEXT
    clReleaseMemObject(xb), clReleaseMemObject(qb), clReleaseMemObject(vb);
    clReleaseMemObject(wb), clReleaseMemObject(out);
    free(x), free(q), free(v), free(xw), free(qw), free(vw);
}

static void add_suites(void) {
    static const test_case device[] = {
        {"x, q, v each in float16 and bfloat16, mixed, odd d, small path", test_devices},
        {NULL, NULL}};
    static const test_case cpu[] = {{"the CPU backend and the reference", test_cpu_backend},
                                    {NULL, NULL}};
    static const test_case contract[] = {
        {"odd offsets, sizes in the tensor's elements, unknown dtypes", test_contract},
        {NULL, NULL}};
    test_add_suite("dtype_seed_device", device);
    test_add_suite("dtype_seed_cpu", cpu);
    test_add_suite("dtype_seed_contract", contract);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
