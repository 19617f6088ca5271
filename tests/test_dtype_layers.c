/* float16 and bfloat16 storage in the linear layer (clattn_linear_dtypes) and multi-head
 * attention (clattn_mha_desc's x_dtype and weight_dtype): both kernel shapes, the CPU backend
 * and the contract, against the float64 reference on the SAME stored inputs.
 *
 * Tolerance. The reference widens the same 2-byte inputs exactly, so input rounding cancels.
 * What remains: (1) float32 accumulation. A k-term dot product in float32, in any order,
 * differs from the exact one by at most k u sum_i |x_i w_i| (u = 2^-24), plus u |y| for the
 * bias and the last rounding; as test_gemm.c, twice that bound from the data. For MHA,
 * tests/mha_model.h's mha_tolerance (each stage's reduction length times 8 u, values of
 * order 1). (2) The rounding of y (or out) to its dtype: each side rounds its own value to
 * nearest (half an ulp: 2^-11 |y| for float16, 2^-8 for bfloat16), so two values within (1)
 * may land on neighbouring representable values: one ulp, 2^-10 |y| / 2^-7 |y| relative,
 * plus float16's subnormal spacing 2^-24 absolute. */
#include "test_common.h"
#include "mha_model.h"
#include "dtype.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F32  CLATTN_F32
#define F16  CLATTN_F16
#define BF16 CLATTN_BF16

/* ulp-relative and absolute slack of the output rounding (2) for dtype. */
static double out_rtol(clattn_dtype dt) {
    return dt == F16 ? ldexp(1.0, -10) : dt == BF16 ? ldexp(1.0, -7) : 0.0;
}
static double out_atol(clattn_dtype dt) {
    return dt == F16 ? ldexp(1.0, -24) : 0.0;
}

/* src (n floats) stored as dtype, in a new array; NULL for a NULL src. */
static void *narrowed(clattn_dtype dt, const float *src, size_t n) {
    if (!src) return NULL;
    void *out = malloc(n * clattn_dtype_size(dt));
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    clattn__dtype_narrow(dt, src, out, n);
    return out;
}

/* n elements of dtype as floats, in a new array. */
static float *widened(clattn_dtype dt, const void *src, size_t n) {
    float *out = malloc((n ? n : 1) * sizeof *out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    clattn__dtype_widen(dt, src, out, n);
    return out;
}

/* ---- linear ------------------------------------------------------------------------------ */
typedef struct lcase {
    clattn_dtype x, w, bias, y;
    size_t rows, cols, k;
    bool with_bias, strided;
} lcase;

/* got and want (y's dtype) within (1) + (2); xs, ws the stored inputs as floats, packed. */
static bool linear_close(const lcase *c, const void *got, size_t ldy, const void *want,
                         const float *xs, const float *ws) {
    size_t bad = 0;
    for (size_t r = 0; r < c->rows; r++)
        for (size_t col = 0; col < c->cols; col++) {
            double abs_sum = 0.0;
            for (size_t i = 0; i < c->k; i++)
                abs_sum += fabs((double)xs[r * c->k + i] * ws[col * c->k + i]);
            const double g = clattn__dtype_load(c->y, got, r * ldy + col);
            const double e = clattn__dtype_load(c->y, want, r * c->cols + col);
            const double tol = 2.0 * ((double)c->k * TEST_U * abs_sum + 2 * TEST_U * fabs(e)) +
                               out_rtol(c->y) * fabs(e) + out_atol(c->y) + 1e-30;
            if (!(fabs(g - e) <= tol) && bad++ < 5)
                fprintf(stderr, "\n    y[%zu][%zu]: got %.9g want %.9g (tol %.3g)", r, col, g, e,
                        tol);
        }
    if (bad)
        fprintf(stderr,
                "\n    %zu values out of tolerance (%zux%zu k %zu; x %s w %s bias %s y %s)\n", bad,
                c->rows, c->cols, c->k, clattn__dtype_name(c->x), clattn__dtype_name(c->w),
                clattn__dtype_name(c->bias), clattn__dtype_name(c->y));
    return bad == 0;
}

/* One case: the reference on packed arrays, then the enqueue form (offsets and padded rows
 * when strided: 2-byte tensors at odd element offsets), the blocking form, or the CPU backend
 * (h NULL). */
static bool run_linear(const lcase *c, clattn_handle *h, bool blocking, uint64_t seed) {
    const size_t rows = c->rows, cols = c->cols, k = c->k;
    const size_t ldx = c->strided ? k + 3 : k, ldw = c->strided ? k + 1 : k;
    const size_t ldy = c->strided ? cols + 5 : cols;
    const size_t xo = c->strided ? 7 : 0, wo = c->strided ? 3 : 0, bo = c->strided ? 1 : 0;
    const size_t yo = c->strided ? 5 : 0;
    float *xf = malloc(rows * k * sizeof *xf), *wf = malloc(cols * k * sizeof *wf);
    float *bf = malloc(cols * sizeof *bf);
    CU_ASSERT_FATAL(xf && wf && bf);
    test_fill(xf, rows * k, &seed, -1, 1);
    test_fill(wf, cols * k, &seed, -1, 1);
    test_fill(bf, cols, &seed, -1, 1);
    void *x = narrowed(c->x, xf, rows * k), *w = narrowed(c->w, wf, cols * k);
    void *b = c->with_bias ? narrowed(c->bias, bf, cols) : NULL;
    const size_t ye = clattn_dtype_size(c->y);
    void *want = malloc(rows * cols * ye), *y = calloc(yo + rows * ldy, ye);
    CU_ASSERT_FATAL(want && y);
    /* The bound uses the stored values. */
    float *xs = widened(c->x, x, rows * k), *ws = widened(c->w, w, cols * k);
    const clattn_linear_dtypes dt = {c->x, c->w, c->bias, c->y};
    CU_ASSERT_EQUAL_FATAL(clattn_ref_linear_ex(rows, cols, k, x, w, b, want, &dt), CLATTN_SUCCESS);

    clattn_status status;
    if (!h) {
        status = clattn_cpu_linear_ex(rows, cols, k, x, w, b, y, &dt);
    } else if (blocking) {
        status = clattn_linear_ex(h, rows, cols, k, x, w, b, y, &dt);
    } else {
        /* Strided device copies of the packed tensors. */
        cl_context ctx = clattn_handle_context(h);
        const size_t xe = clattn_dtype_size(c->x), we = clattn_dtype_size(c->w),
                     be = clattn_dtype_size(c->bias);
        char *xd = calloc(xo + rows * ldx, xe), *wd = calloc(wo + cols * ldw, we);
        char *bd = calloc(bo + cols, be);
        CU_ASSERT_FATAL(xd && wd && bd);
        for (size_t r = 0; r < rows; r++)
            memcpy(xd + (xo + r * ldx) * xe, (char *)x + r * k * xe, k * xe);
        for (size_t r = 0; r < cols; r++)
            memcpy(wd + (wo + r * ldw) * we, (char *)w + r * k * we, k * we);
        if (b) memcpy(bd + bo * be, b, cols * be);
        cl_int err;
        const cl_mem_flags in = CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
        cl_mem xm = clCreateBuffer(ctx, in, (xo + rows * ldx) * xe, xd, &err);
        cl_mem wm = clCreateBuffer(ctx, in, (wo + cols * ldw) * we, wd, &err);
        cl_mem bm = clCreateBuffer(ctx, in, (bo + cols) * be, bd, &err);
        cl_mem ym = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                                   (yo + rows * ldy) * ye, y, &err);
        CU_ASSERT_FATAL(xm && wm && bm && ym);
        cl_event done = NULL;
        status = clattn_enqueue_linear_ex(h, NULL, rows, cols, k, xm, xo, ldx, wm, wo, ldw,
                                          b ? bm : NULL, bo, ym, yo, ldy, &dt, 0, NULL, &done);
        if (!status)
            CU_ASSERT_EQUAL(clEnqueueReadBuffer(clattn_handle_queue(h), ym, CL_TRUE, 0,
                                                (yo + rows * ldy) * ye, y, 1, &done, NULL),
                            CL_SUCCESS);
        if (done) clReleaseEvent(done);
        clReleaseMemObject(xm), clReleaseMemObject(wm), clReleaseMemObject(bm);
        clReleaseMemObject(ym);
        free(xd), free(wd), free(bd);
    }
    if (status)
        fprintf(stderr, "\n    linear: %s: %s\n", clattn_status_string(status),
                clattn_last_error_message());
    bool ok = !status;
    const bool strided_y = h && !blocking && c->strided;
    if (ok)
        ok = linear_close(c, (char *)y + (strided_y ? yo : 0) * ye, strided_y ? ldy : cols, want,
                          xs, ws);
    /* The padding between y's rows is not written. */
    for (size_t r = 0; ok && strided_y && r < rows; r++)
        for (size_t i = cols; i < ldy && yo + r * ldy + i < yo + rows * ldy; i++)
            ok = clattn__dtype_load(c->y, y, yo + r * ldy + i) == 0.0f;
    if (!ok)
        fprintf(stderr, "    %s%s case %zux%zu k %zu\n",
                h ? test_variant_name(clattn_handle_variant(h)) : "cpu backend",
                blocking ? " blocking" : "", rows, cols, k);
    free(xf), free(wf), free(bf), free(x), free(w), free(b), free(want), free(y), free(xs);
    free(ws);
    return ok;
}

/* Each of x, W, bias and y in float16 and in bfloat16, mixed with float32, on each kernel
 * shape: the programs of dtype_mha's projections (X and weights in, float32 out; float32 in,
 * out as X), so that the two suites share their cold compiles (~2-5 s each on PoCL). Odd
 * sizes off the GPU tiles and the CPU shape's 8 x 32 blocks, and a full 32-column block (its
 * bias and y through the vector path); offsets and padded rows when strided. */
static const lcase device_linear[2][2] = {
    /* x    w     bias  y     rows cols k   bias  strided */
    {{F16, BF16, BF16, F32, 37, 45, 70, true, true},
     {F32, BF16, BF16, F16, 9, 64, 33, true, false}},
    {{BF16, F16, F16, F32, 5, 33, 16, true, true}, {F32, F16, F16, BF16, 37, 45, 70, true, true}},
};

static void test_linear_devices(void) {
    for (int v = 0; v < 2; v++) {
        clattn_handle *h = test_handle(test_variants[v]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        for (int i = 0; i < 2; i++)
            CU_ASSERT(
                run_linear(&device_linear[v][i], h, false, 0x6a09e667f3bcc909ull + 2 * v + i));
        CU_ASSERT(run_linear(&device_linear[v][1], h, true, 0xbb67ae8584caa73bull + v));
    }
}

/* ---- multi-head attention ---------------------------------------------------------------- */
/* The layer of c with X and out as x_dtype and the weights as w_dtype, through the device
 * (h) or the CPU backend (h NULL), against the reference on the same stored tensors. */
static bool run_mha(const mcase *c, clattn_dtype x_dtype, clattn_dtype w_dtype, clattn_handle *h,
                    uint64_t seed) {
    model m;
    make_model(c, &m, seed);
    clattn_mha_desc desc = mha_desc_of(c);
    desc.x_dtype = x_dtype;
    desc.weight_dtype = w_dtype;
    const size_t xn = c->b * c->t * c->d_in, on = c->b * c->t * c->d_out;
    const size_t wn = c->d_out * c->d_in, won = c->d_out * c->d_out;
    void *x = narrowed(x_dtype, m.x, xn);
    const float *src[8] = {m.wq, m.wk, m.wv, m.wo, m.bq, m.bk, m.bv, m.bo};
    const size_t counts[8] = {wn, wn, wn, won, c->d_out, c->d_out, c->d_out, c->d_out};
    void *wt[8];
    for (int i = 0; i < 8; i++)
        wt[i] = narrowed(w_dtype, src[i], counts[i]);
    const clattn_mha_weights w = {wt[0], wt[1], wt[2], wt[3], wt[4], wt[5], wt[6], wt[7], NULL};
    const size_t oe = clattn_dtype_size(x_dtype);
    void *got = calloc(on, oe), *want = calloc(on, oe);
    CU_ASSERT_FATAL(got && want);
    CU_ASSERT_EQUAL_FATAL(clattn_ref_mha_forward(&desc, &w, x, want), CLATTN_SUCCESS);
    const clattn_status status =
        h ? clattn_mha_forward(h, &desc, &w, x, got) : clattn_cpu_mha_forward(&desc, &w, x, got);
    if (status)
        fprintf(stderr, "\n    mha: %s: %s\n", clattn_status_string(status),
                clattn_last_error_message());
    bool ok = !status;
    if (ok) {
        float *g = widened(x_dtype, got, on), *e = widened(x_dtype, want, on);
        char what[160];
        snprintf(what, sizeof what, "%s mha (x %s, weights %s; B %zu T %zu d_in %zu d_out %zu)",
                 h ? test_variant_name(clattn_handle_variant(h)) : "cpu backend",
                 clattn__dtype_name(x_dtype), clattn__dtype_name(w_dtype), c->b, c->t, c->d_in,
                 c->d_out);
        ok = test_close(g, e, on, mha_tolerance(c) + out_atol(x_dtype), out_rtol(x_dtype), what);
        free(g), free(e);
    }
    free(x), free(got), free(want);
    for (int i = 0; i < 8; i++)
        free(wt[i]);
    free_model(&m);
    return ok;
}

/* B T d_in d_out heads causal bias: odd token counts and d_in, two heads. */
static const mcase mha_case = {2, 7, 21, 16, 2, 1, 1};

/* One mix per kernel shape (each is two linear programs, dtype_linear's, and an attention
 * program: cold compiles). */
static void test_mha_devices(void) {
    clattn_handle *first = test_handle(test_variants[0]), *second = test_handle(test_variants[1]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(first);
    CU_ASSERT_PTR_NOT_NULL_FATAL(second);
    CU_ASSERT(run_mha(&mha_case, F16, BF16, first, 0x3c6ef372fe94f82bull));
    CU_ASSERT(run_mha(&mha_case, BF16, F16, second, 0xa54ff53a5f1d36f1ull));
}

/* ---- the CPU backend (host code only: cheap) ---------------------------------------------- */
static void test_cpu_backend(void) {
    /* The device cases, then the blocked GEMM (>= 24 rows) with every tensor 2-byte. */
    static const lcase more[] = {{BF16, BF16, BF16, BF16, 50, 70, 40, true, false},
                                 {F16, F16, F16, F16, 30, 31, 129, true, false},
                                 {F16, BF16, F16, BF16, 37, 45, 70, true, false},
                                 {F32, BF16, F16, F16, 3, 1, 1, true, false}};
    for (int i = 0; i < 4; i++)
        CU_ASSERT(run_linear(&device_linear[i / 2][i % 2], NULL, false, 0x510e527fade682d1ull + i));
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        CU_ASSERT(run_linear(&more[i], NULL, false, 0x9b05688c2b3e6c1full + i));
    const mcase bigger = {1, 30, 32, 24, 3, 0, 1}; /* 30 rows: the blocked GEMM */
    CU_ASSERT(run_mha(&mha_case, F16, BF16, NULL, 0x1f83d9abfb41bd6bull));
    CU_ASSERT(run_mha(&mha_case, BF16, F16, NULL, 0x5be0cd19137e2179ull));
    CU_ASSERT(run_mha(&bigger, F16, F16, NULL, 0x428a2f98d728ae22ull));
    CU_ASSERT(run_mha(&bigger, F32, BF16, NULL, 0x7137449123ef65cdull));
}

/* ---- the contract ------------------------------------------------------------------------ */
static cl_mem zero_buffer(cl_context ctx, size_t bytes) {
    void *zeros = calloc(bytes, 1);
    cl_int err = CL_SUCCESS;
    cl_mem m =
        zeros ? clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes, zeros, &err)
              : NULL;
    free(zeros);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    return m;
}

/* Buffers of exactly the bytes of 2-byte tensors: accepted; read as float32, one element
 * further, or with an unknown dtype, refused. y and x in one buffer compared in bytes. */
static void test_contract(void) {
    clattn_handle *h = test_handle(test_variants[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    cl_context ctx = clattn_handle_context(h);
    enum { R = 5, C = 33, K = 16 };
    clattn_linear_dtypes dt = {F16, BF16, BF16, F32}; /* device_linear[0][0]'s program */
    cl_mem x = zero_buffer(ctx, R * K * 2), w = zero_buffer(ctx, C * K * 2);
    cl_mem b = zero_buffer(ctx, C * 2), y = zero_buffer(ctx, R * C * 4);
#define ENQUEUE(xo, done)                                                                          \
    clattn_enqueue_linear_ex(h, NULL, R, C, K, x, (xo), K, w, 0, K, b, 0, y, 0, C, &dt, 0, NULL,   \
                             (done))
    cl_event done = NULL;
    CU_ASSERT_EQUAL(ENQUEUE(0, &done), CLATTN_SUCCESS);
    if (done) clWaitForEvents(1, &done), clReleaseEvent(done);
    CU_ASSERT_EQUAL(ENQUEUE(1, NULL), CLATTN_ERROR_BUFFER_TOO_SMALL);
    clattn_dtype *fields[4] = {&dt.x, &dt.w, &dt.bias, &dt.y};
    /* Each 2-byte tensor's buffer holds half its float32 elements. */
    dt.x = F32;
    CU_ASSERT_EQUAL(ENQUEUE(0, NULL), CLATTN_ERROR_BUFFER_TOO_SMALL);
    dt.x = F16, dt.w = F32;
    CU_ASSERT_EQUAL(ENQUEUE(0, NULL), CLATTN_ERROR_BUFFER_TOO_SMALL);
    dt.w = BF16, dt.bias = F32;
    CU_ASSERT_EQUAL(ENQUEUE(0, NULL), CLATTN_ERROR_BUFFER_TOO_SMALL);
    dt.bias = BF16;
    for (int i = 0; i < 4; i++) {
        const clattn_dtype kept = *fields[i];
        *fields[i] = (clattn_dtype)3;
        CU_ASSERT_EQUAL(ENQUEUE(0, NULL), CLATTN_ERROR_INVALID_VALUE);
        float host[R * C];
        CU_ASSERT_EQUAL(clattn_cpu_linear_ex(R, C, K, host, host, host, host, &dt),
                        CLATTN_ERROR_INVALID_VALUE);
        CU_ASSERT_EQUAL(clattn_ref_linear_ex(R, C, K, host, host, host, host, &dt),
                        CLATTN_ERROR_INVALID_VALUE);
        CU_ASSERT_EQUAL(clattn_linear_ex(h, R, C, K, host, host, host, host, &dt),
                        CLATTN_ERROR_INVALID_VALUE);
        *fields[i] = kept;
    }
#undef ENQUEUE
    /* y (float32, bytes [0, 4 R C)) and x (float16 from element 2 R C - 4: bytes from
     * 4 R C - 8) in one buffer: disjoint as element ranges, overlapping as bytes. */
    cl_mem both = zero_buffer(ctx, 4 * R * C + 2 * R * K);
    CU_ASSERT_EQUAL(clattn_enqueue_linear_ex(h, NULL, R, C, K, both, 2 * R * C - 4, K, w, 0, K,
                                             NULL, 0, both, 0, C, &dt, 0, NULL, NULL),
                    CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_enqueue_linear_ex(h, NULL, R, C, K, both, 2 * R * C, K, w, 0, K, NULL, 0,
                                             both, 0, C, &dt, 0, NULL, &done),
                    CLATTN_SUCCESS);
    if (done) clWaitForEvents(1, &done), clReleaseEvent(done);
    clReleaseMemObject(x), clReleaseMemObject(w), clReleaseMemObject(b), clReleaseMemObject(y);
    clReleaseMemObject(both);

    /* MHA: every tensor in 2 bytes, buffers of exactly those bytes (on test_variants[0], the
     * x F16 / weights BF16 programs of test_mha_devices). */
    clattn_mha_desc desc = mha_desc_of(&mha_case);
    desc.x_dtype = F16;
    desc.weight_dtype = BF16;
    const size_t xn = mha_case.b * mha_case.t * mha_case.d_in;
    const size_t on = mha_case.b * mha_case.t * mha_case.d_out;
    const size_t wn = mha_case.d_out * mha_case.d_in, won = mha_case.d_out * mha_case.d_out;
    cl_mem xm = zero_buffer(ctx, xn * 2), om = zero_buffer(ctx, on * 2);
    cl_mem wq = zero_buffer(ctx, wn * 2), wo = zero_buffer(ctx, won * 2);
    cl_mem bias = zero_buffer(ctx, mha_case.d_out * 2);
    const clattn_mha_buffers mb = {wq, wq, wq, wo, bias, bias, bias, bias, NULL};
    CU_ASSERT_EQUAL(clattn_enqueue_mha_forward(h, NULL, &desc, &mb, xm, om, 0, NULL, &done),
                    CLATTN_SUCCESS);
    if (done) clWaitForEvents(1, &done), clReleaseEvent(done);
    desc.x_dtype = F32; /* X and out: too small as float32 */
    CU_ASSERT_EQUAL(clattn_enqueue_mha_forward(h, NULL, &desc, &mb, xm, om, 0, NULL, NULL),
                    CLATTN_ERROR_BUFFER_TOO_SMALL);
    desc.x_dtype = F16;
    desc.weight_dtype = F32; /* the weights: too small as float32 */
    CU_ASSERT_EQUAL(clattn_enqueue_mha_forward(h, NULL, &desc, &mb, xm, om, 0, NULL, NULL),
                    CLATTN_ERROR_BUFFER_TOO_SMALL);
    desc.weight_dtype = (clattn_dtype)7;
    CU_ASSERT_EQUAL(clattn_enqueue_mha_forward(h, NULL, &desc, &mb, xm, om, 0, NULL, NULL),
                    CLATTN_ERROR_INVALID_VALUE);
    float host[1] = {0};
    const clattn_mha_weights hw = {host, host, host, host, NULL, NULL, NULL, NULL, NULL};
    CU_ASSERT_EQUAL(clattn_cpu_mha_forward(&desc, &hw, host, host), CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_ref_mha_forward(&desc, &hw, host, host), CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_mha_forward(h, &desc, &hw, host, host), CLATTN_ERROR_INVALID_VALUE);
    desc.weight_dtype = BF16;
    desc.x_dtype = (clattn_dtype)-1;
    CU_ASSERT_EQUAL(clattn_enqueue_mha_forward(h, NULL, &desc, &mb, xm, om, 0, NULL, NULL),
                    CLATTN_ERROR_INVALID_VALUE);
    clReleaseMemObject(xm), clReleaseMemObject(om), clReleaseMemObject(wq);
    clReleaseMemObject(wo), clReleaseMemObject(bias);
}

static void add_suites(void) {
    static const test_case linear[] = {
        {"each tensor in each dtype, mixed, odd sizes, offsets", test_linear_devices},
        {NULL, NULL}};
    static const test_case mha[] = {{"x and weights in each dtype", test_mha_devices},
                                    {NULL, NULL}};
    static const test_case cpu[] = {{"the CPU backend", test_cpu_backend}, {NULL, NULL}};
    static const test_case contract[] = {
        {"sizes in each tensor's elements, unknown dtypes, byte overlap", test_contract},
        {NULL, NULL}};
    test_add_suite("dtype_linear", linear);
    test_add_suite("dtype_mha", mha);
    test_add_suite("dtype_layers_cpu", cpu);
    test_add_suite("dtype_layers_contract", contract);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
