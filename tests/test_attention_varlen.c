/* Variable-length batches (desc.varlen, cu_seqlens_q / cu_seqlens_k) against the reference:
 * both OpenCL kernel shapes (the blocking form, which checks the offsets on the host), the fast
 * CPU backend, the reference itself against one ordinary call per sequence, the enqueue form
 * with device offsets that are garbage (clamped: nothing outside the buffers is touched) or
 * longer than the grid (cut), and the invalid arguments.
 *
 * Tolerances as in test_attention.c: atol = 2e-5 + 64 u sqrt(N), rtol = 1e-4 for O; 1e-5 for
 * the LSE. Sequences of length 0 (queries without keys: zeros and an LSE of -inf; keys without
 * queries) are among the cases. */
#include "test_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD    12345.0f
#define MAX_B    8
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef struct varlen_case {
    size_t batch, hq, hkv, d, dv;
    int len_q[MAX_B], len_k[MAX_B];
    clattn_causal causal;
    bool strided;      /* offsets and padded head/row strides; the LSE [Hq, total_q] padded */
    float softcap;     /* the model variants, per sequence */
    int alibi, window; /* window: (left, right) below */
    long left, right;
} varlen_case;

/* The cumulative offsets of lens[0..batch) into cu[0..batch], and their maximum. */
static size_t cumulate(const int *lens, size_t batch, int32_t *cu) {
    size_t max = 0;
    cu[0] = 0;
    for (size_t b = 0; b < batch; b++) {
        cu[b + 1] = cu[b] + lens[b];
        if ((size_t)lens[b] > max) max = (size_t)lens[b];
    }
    return max;
}

/* Packed [total, heads, cols] rows as layout l; strided: an offset and gaps. */
static void packed_layout(clattn_layout *l, size_t heads, size_t cols, bool strided, size_t salt) {
    l->offset = strided ? 3 + salt : 0;
    l->stride[0] = 0;
    l->stride[1] = strided ? cols + 1 + salt % 2 : cols;
    l->stride[2] = heads * l->stride[1] + (strided ? 2 + salt : 0);
}

static size_t packed_span(const clattn_layout *l, size_t heads, size_t rows, size_t cols) {
    return l->offset + (heads - 1) * l->stride[1] + (rows ? rows - 1 : 0) * l->stride[2] + cols;
}

/* A varlen problem: desc, offsets and tensors (O and the LSE pre-filled with GUARD, 16
 * guard elements after each). */
typedef struct problem {
    clattn_attention_desc desc;
    int32_t cu_q[MAX_B + 1], cu_k[MAX_B + 1];
    float *q, *k, *v;
    size_t nq, nk, nv, no, nl;
    size_t max_n;
} problem;

static bool problem_make(problem *p, const varlen_case *c, uint64_t seed) {
    memset(p, 0, sizeof *p);
    const size_t max_m = cumulate(c->len_q, c->batch, p->cu_q);
    const size_t max_n = cumulate(c->len_k, c->batch, p->cu_k);
    const size_t tq = (size_t)p->cu_q[c->batch], tk = (size_t)p->cu_k[c->batch];
    clattn_attention_desc *d = &p->desc;
    clattn_attention_desc_init(d, c->batch, c->hq, c->hkv, max_m ? max_m : 1, max_n ? max_n : 1,
                               c->d, c->dv);
    d->varlen = 1;
    d->causal = c->causal;
    d->softcap = c->softcap;
    d->alibi = c->alibi;
    d->window = c->window;
    d->window_left = c->left;
    d->window_right = c->right;
    packed_layout(&d->q, c->hq, c->d, c->strided, 0);
    packed_layout(&d->k, c->hkv, c->d, c->strided, 1);
    packed_layout(&d->v, c->hkv, c->dv, c->strided, 2);
    packed_layout(&d->o, c->hq, c->dv, c->strided, 3);
    /* FlashAttention's LSE [Hq, total_q]; strided: offset 2, rows 2 apart, heads padded */
    d->lse.offset = c->strided ? 2 : 0;
    d->lse.stride[0] = 0;
    d->lse.stride[2] = c->strided ? 2 : 1;
    d->lse.stride[1] = (tq ? tq : 1) * d->lse.stride[2] + (c->strided ? 3 : 0);
    p->max_n = max_n ? max_n : 1;
    p->nq = packed_span(&d->q, c->hq, tq, c->d);
    p->nk = packed_span(&d->k, c->hkv, tk, c->d);
    p->nv = packed_span(&d->v, c->hkv, tk, c->dv);
    p->no = packed_span(&d->o, c->hq, tq, c->dv) + 16;
    p->nl = packed_span(&d->lse, c->hq, tq, 1) + 16;
    p->q = malloc(p->nq * sizeof(float));
    p->k = malloc(p->nk * sizeof(float));
    p->v = malloc(p->nv * sizeof(float));
    if (!p->q || !p->k || !p->v) return false;
    test_fill(p->q, p->nq, &seed, -1.0f, 1.0f);
    test_fill(p->k, p->nk, &seed, -1.0f, 1.0f);
    test_fill(p->v, p->nv, &seed, -1.0f, 1.0f);
    return true;
}

static void problem_free(problem *p) {
    free(p->q), free(p->k), free(p->v);
}

static float *guarded(size_t n) {
    float *a = malloc(n * sizeof *a);
    if (a)
        for (size_t i = 0; i < n; i++)
            a[i] = GUARD;
    return a;
}

static clattn_attention_arrays arrays(const problem *p, float *o, float *lse) {
    return (clattn_attention_arrays){.q = p->q,
                                     .k = p->k,
                                     .v = p->v,
                                     .o = o,
                                     .lse = lse,
                                     .cu_seqlens_q = p->cu_q,
                                     .cu_seqlens_k = p->cu_k};
}

static bool report(clattn_status status, const char *what) {
    if (!status) return true;
    fprintf(stderr, "\n    %s: %s: %s\n", what, clattn_status_string(status),
            clattn_last_error_message());
    return false;
}

static bool compare(const problem *p, const float *o, const float *lse, const float *o_ref,
                    const float *lse_ref, const char *path, const varlen_case *c) {
    char what[256];
    snprintf(what, sizeof what,
             "%s varlen O (B %zu Hq %zu Hkv %zu D %zu Dv %zu causal %d%s softcap %g alibi %d "
             "window %d (%ld, %ld))",
             path, c->batch, c->hq, c->hkv, c->d, c->dv, (int)c->causal,
             c->strided ? " strided" : "", (double)c->softcap, c->alibi, c->window, c->left,
             c->right);
    const double atol = 2e-5 + 64.0 * TEST_U * sqrt((double)p->max_n);
    bool ok = test_close(o, o_ref, p->no, atol, 1e-4, what);
    return test_close(lse, lse_ref, p->nl, 1e-5, 1e-5, "varlen LSE") && ok;
}

/* path: a kernel shape (test_variants[0 / 1]) or, with variant < 0, the fast CPU backend. */
static bool run_case(int variant, const varlen_case *c, uint64_t seed) {
    problem p;
    float *o = NULL, *lse = NULL, *o_ref = NULL, *lse_ref = NULL;
    bool ok = problem_make(&p, c, seed);
    if (ok) {
        o = guarded(p.no), lse = guarded(p.nl), o_ref = guarded(p.no), lse_ref = guarded(p.nl);
        ok = o && lse && o_ref && lse_ref;
    }
    const char *path = variant < 0 ? "cpu" : test_variant_name(test_variants[variant]);
    if (ok) {
        const clattn_attention_arrays t = arrays(&p, o, lse);
        if (variant < 0) {
            ok = report(clattn_cpu_attention_ex(&p.desc, &t), "clattn_cpu_attention_ex");
        } else {
            clattn_handle *h = test_handle(test_variants[variant]);
            ok = h && report(clattn_attention_ex(h, &p.desc, &t), "clattn_attention_ex");
        }
    }
    if (ok) {
        const clattn_attention_arrays t = arrays(&p, o_ref, lse_ref);
        ok = report(clattn_ref_attention_ex(&p.desc, &t), "clattn_ref_attention_ex");
    }
    if (ok) ok = compare(&p, o, lse, o_ref, lse_ref, path, c);
    free(o), free(lse), free(o_ref), free(lse_ref);
    problem_free(&p);
    return ok;
}

/* Odd lengths (0 included, queries != keys), GQA, both causal alignments, strides; D = Dv =
 * 64 only (odd head dims are varlen-independent padding, tested in test_attention; each is a
 * cold compile per shape). */
static const varlen_case cases[] = {
    {4,
     4,
     2,
     64,
     64,
     {1, 113, 40, 7},
     {1, 113, 200, 16},
     CLATTN_CAUSAL_TOP_LEFT,
     false,
     0,
     0,
     0,
     0,
     0},
    {3, 2, 1, 64, 64, {37, 5, 64}, {300, 77, 64}, CLATTN_CAUSAL_BOTTOM_RIGHT, true, 0, 0, 0, 0, 0},
    {5,
     3,
     3,
     64,
     64,
     {9, 0, 17, 4, 30},
     {12, 6, 0, 4, 29},
     CLATTN_CAUSAL_NONE,
     true,
     0,
     0,
     0,
     0,
     0},
    {2, 6, 2, 64, 64, {1, 1}, {1000, 517}, CLATTN_CAUSAL_BOTTOM_RIGHT, false, 0, 0, 0, 0, 0},
};

/* The model variants, per sequence (the same window and softcap as test_attention's
 * variant suite, so their programs are shared). */
static const varlen_case variant_cases[] = {
    {3, 4, 2, 64, 64, {100, 3, 70}, {100, 90, 70}, CLATTN_CAUSAL_TOP_LEFT, false, 0, 0, 1, 70, 3},
    {3, 6, 2, 64, 64, {50, 3, 129}, {80, 90, 129}, CLATTN_CAUSAL_BOTTOM_RIGHT, true, 0, 1, 0, 0, 0},
    {2, 2, 2, 64, 64, {45, 8}, {60, 33}, CLATTN_CAUSAL_NONE, false, 1.5f, 0, 0, 0, 0},
};

static void run_all(const varlen_case *list, size_t count) {
    for (size_t i = 0; i < count; i++)
        for (int variant = -1; variant < 2; variant++)
            CU_ASSERT(run_case(variant, &list[i], 0x2545f4914f6cdd1dull + i));
}

static void shapes(void) {
    run_all(cases, COUNT(cases));
}

static void variants(void) {
    run_all(variant_cases, COUNT(variant_cases));
}

/* The reference's varlen against one ordinary call per sequence on copies packed [1, H, M, D]:
 * checks the packed layouts and the per-sequence causal alignment independently. */
static void reference_per_sequence(void) {
    const varlen_case c = {3,    4, 2, 5, 3, {6, 0, 11}, {9, 4, 7}, CLATTN_CAUSAL_BOTTOM_RIGHT,
                           true, 0, 0, 0, 0, 0};
    problem p;
    CU_ASSERT_FATAL(problem_make(&p, &c, 77));
    float *o = guarded(p.no), *lse = guarded(p.nl);
    CU_ASSERT_FATAL(o && lse);
    const clattn_attention_arrays t = arrays(&p, o, lse);
    CU_ASSERT_FATAL(report(clattn_ref_attention_ex(&p.desc, &t), "reference"));
    const clattn_attention_desc *d = &p.desc;
    for (size_t b = 0; b < c.batch; b++) {
        const size_t m = (size_t)c.len_q[b], n = (size_t)c.len_k[b];
        const size_t q0 = (size_t)p.cu_q[b], k0 = (size_t)p.cu_k[b];
        if (!m) continue;
        float sq[11 * 4 * 5], sk[9 * 2 * 5], sv[9 * 2 * 3], so[11 * 4 * 3], sl[4 * 11];
        for (size_t h = 0; h < c.hq; h++)
            for (size_t i = 0; i < m; i++)
                for (size_t x = 0; x < c.d; x++)
                    sq[(h * m + i) * c.d + x] =
                        p.q[d->q.offset + h * d->q.stride[1] + (q0 + i) * d->q.stride[2] + x];
        for (size_t h = 0; h < c.hkv; h++)
            for (size_t j = 0; j < n; j++) {
                for (size_t x = 0; x < c.d; x++)
                    sk[(h * n + j) * c.d + x] =
                        p.k[d->k.offset + h * d->k.stride[1] + (k0 + j) * d->k.stride[2] + x];
                for (size_t x = 0; x < c.dv; x++)
                    sv[(h * n + j) * c.dv + x] =
                        p.v[d->v.offset + h * d->v.stride[1] + (k0 + j) * d->v.stride[2] + x];
            }
        for (size_t h = 0; h < c.hq; h++)
            for (size_t i = 0; i < m; i++) {
                const float *row = o + d->o.offset + h * d->o.stride[1] + (q0 + i) * d->o.stride[2];
                const float l =
                    lse[d->lse.offset + h * d->lse.stride[1] + (q0 + i) * d->lse.stride[2]];
                if (!n) { /* queries without keys */
                    for (size_t x = 0; x < c.dv; x++)
                        CU_ASSERT_EQUAL(row[x], 0.0f);
                    CU_ASSERT(l == -INFINITY);
                }
            }
        if (!n) continue;
        clattn_attention_desc one;
        clattn_attention_desc_init(&one, 1, c.hq, c.hkv, m, n, c.d, c.dv);
        one.causal = c.causal;
        CU_ASSERT_FATAL(report(clattn_ref_attention(&one, sq, sk, sv, NULL, so, sl), "one"));
        for (size_t h = 0; h < c.hq; h++)
            for (size_t i = 0; i < m; i++) {
                const float *row = o + d->o.offset + h * d->o.stride[1] + (q0 + i) * d->o.stride[2];
                for (size_t x = 0; x < c.dv; x++)
                    CU_ASSERT_EQUAL(row[x], so[(h * m + i) * c.dv + x]);
                CU_ASSERT_EQUAL(
                    lse[d->lse.offset + h * d->lse.stride[1] + (q0 + i) * d->lse.stride[2]],
                    sl[h * m + i]);
            }
    }
    free(o), free(lse);
    problem_free(&p);
}

/* Device buffers holding exactly the tensors; runs the enqueue form with the given device
 * offsets and reads O and the LSE back into o, lse. */
static clattn_status enqueue_with(clattn_handle *h, const problem *p, const int32_t *cu_q,
                                  const int32_t *cu_k, float *o, float *lse) {
    cl_context ctx = clattn_handle_context(h);
    cl_command_queue queue = clattn_handle_queue(h);
    const size_t batch = p->desc.batch;
    cl_int err = 0;
    const cl_mem_flags in = CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
    cl_mem bufs[7] = {clCreateBuffer(ctx, in, p->nq * sizeof(float), p->q, &err),
                      clCreateBuffer(ctx, in, p->nk * sizeof(float), p->k, &err),
                      clCreateBuffer(ctx, in, p->nv * sizeof(float), p->v, &err),
                      clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                                     p->no * sizeof(float), o, &err),
                      clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                                     p->nl * sizeof(float), lse, &err),
                      clCreateBuffer(ctx, in, (batch + 1) * sizeof(int32_t), (void *)cu_q, &err),
                      clCreateBuffer(ctx, in, (batch + 1) * sizeof(int32_t), (void *)cu_k, &err)};
    clattn_status status = CLATTN_ERROR_INVALID_VALUE;
    bool made = true;
    for (int i = 0; i < 7; i++)
        made = made && bufs[i];
    if (made) {
        const clattn_attention_buffers t = {.q = bufs[0],
                                            .k = bufs[1],
                                            .v = bufs[2],
                                            .o = bufs[3],
                                            .lse = bufs[4],
                                            .cu_seqlens_q = bufs[5],
                                            .cu_seqlens_k = bufs[6]};
        status = clattn_enqueue_attention_ex(h, queue, &p->desc, &t, 0, NULL, NULL);
        if (!status) {
            clEnqueueReadBuffer(queue, bufs[3], CL_TRUE, 0, p->no * sizeof(float), o, 0, NULL,
                                NULL);
            clEnqueueReadBuffer(queue, bufs[4], CL_TRUE, 0, p->nl * sizeof(float), lse, 0, NULL,
                                NULL);
        }
    }
    for (int i = 0; i < 7; i++)
        if (bufs[i]) clReleaseMemObject(bufs[i]);
    return status;
}

/* Device offsets the kernels must clamp: out of order, negative, past the buffers, longer
 * than the grid. Nothing may be read or written outside the buffers (the guards after O and
 * the LSE stay; Oclgrind runs this suite too), and a sequence longer than m is cut to its
 * first m rows, which match the reference of the cut sequence. */
static void device_offsets(void) {
    const varlen_case c = {3, 2, 1, 64, 64, {10, 20, 6}, {30, 20, 6}, CLATTN_CAUSAL_TOP_LEFT, false,
                           0, 0, 0, 0,  0};
    for (int variant = 0; variant < 2; variant++) {
        clattn_handle *h = test_handle(test_variants[variant]);
        CU_ASSERT_FATAL(h != NULL);
        problem p;
        CU_ASSERT_FATAL(problem_make(&p, &c, 99 + (uint64_t)variant));
        float *o = guarded(p.no), *lse = guarded(p.nl);
        CU_ASSERT_FATAL(o && lse);
        /* Garbage: must not fail or touch anything outside the buffers. */
        static const int32_t bad_q[][4] = {
            {0, -7, 1000000, 5}, {5, 3, 2, 1}, {-100, 2147483647, -2147483647 - 1, 36}};
        for (size_t g = 0; g < COUNT(bad_q); g++) {
            CU_ASSERT(report(enqueue_with(h, &p, bad_q[g], bad_q[COUNT(bad_q) - 1 - g], o, lse),
                             "garbage offsets"));
            /* No NaN or Inf from reading outside: every O element is a weighted mean of
             * V values in [-1, 1), a zero, or a GUARD left alone. */
            for (size_t i = 0; i < p.no; i++)
                CU_ASSERT(o[i] == GUARD || fabsf(o[i]) <= 1.0f);
            for (size_t i = 1; i <= 16; i++) {
                CU_ASSERT_EQUAL(o[p.no - i], GUARD);
                CU_ASSERT_EQUAL(lse[p.nl - i], GUARD);
            }
        }
        /* A sequence longer than the grid: m = 12 < 20 rows of sequence 1. */
        for (size_t i = 0; i < p.no; i++)
            o[i] = GUARD;
        for (size_t i = 0; i < p.nl; i++)
            lse[i] = GUARD;
        p.desc.m = 12;
        CU_ASSERT(report(enqueue_with(h, &p, p.cu_q, p.cu_k, o, lse), "longer than m"));
        /* the reference of the cut problem: rows 22..29 stay GUARD, sequence 2 as before */
        int32_t ref_q[4] = {0, 10, 22, 28};
        clattn_attention_desc cut = p.desc;
        cut.m = 12;
        problem shifted = p;
        float *q2 = malloc(p.nq * sizeof(float));
        CU_ASSERT_FATAL(q2 != NULL);
        /* the reference needs contiguous sequences: move sequence 2's rows up by 8 */
        memcpy(q2, p.q, p.nq * sizeof(float));
        const size_t rs = p.desc.q.stride[2];
        memmove(q2 + 22 * rs, p.q + 30 * rs, 6 * rs * sizeof(float));
        shifted.q = q2;
        memcpy(shifted.cu_q, ref_q, sizeof ref_q);
        float *o_cut = guarded(p.no), *lse_cut = guarded(p.nl);
        CU_ASSERT_FATAL(o_cut && lse_cut);
        const clattn_attention_arrays t = arrays(&shifted, o_cut, lse_cut);
        CU_ASSERT(report(clattn_ref_attention_ex(&cut, &t), "reference of the cut problem"));
        /* rows 0..21 match; rows 22..29 untouched; rows 30..35 = the reference's 22..27 */
        const size_t ors = p.desc.o.stride[2], lrs = p.desc.lse.stride[1];
        CU_ASSERT(test_close(o, o_cut, 22 * ors, 1e-4, 1e-4, "cut: rows 0..21"));
        for (size_t i = 22 * ors; i < 30 * ors; i++)
            CU_ASSERT_EQUAL(o[i], GUARD);
        CU_ASSERT(
            test_close(o + 30 * ors, o_cut + 22 * ors, 6 * ors, 1e-4, 1e-4, "cut: rows 30.."));
        for (size_t hh = 0; hh < c.hq; hh++) {
            CU_ASSERT(test_close(lse + hh * lrs, lse_cut + hh * lrs, 22, 1e-5, 1e-5, "cut LSE"));
            CU_ASSERT_EQUAL(lse[hh * lrs + 25], GUARD);
        }
        free(q2), free(o_cut), free(lse_cut);
        free(o), free(lse);
        problem_free(&p);
    }
}

/* Expected statuses of every form (reference, CPU, blocking OpenCL) for one bad problem. */
static void expect_all(const clattn_attention_desc *d, const clattn_attention_arrays *t,
                       clattn_status want, const char *what) {
    const clattn_status got[3] = {clattn_ref_attention_ex(d, t), clattn_cpu_attention_ex(d, t),
                                  clattn_attention_ex(test_handle(test_variants[0]), d, t)};
    for (int i = 0; i < 3; i++) {
        if (got[i] != want)
            fprintf(stderr, "\n    %s (form %d): got %s, want %s\n", what, i,
                    clattn_status_string(got[i]), clattn_status_string(want));
        CU_ASSERT_EQUAL(got[i], want);
        CU_ASSERT(strlen(clattn_last_error_message()) > 0 || got[i] == CLATTN_SUCCESS);
    }
}

static void invalid_arguments(void) {
    const varlen_case c = {2,     2, 1, 16, 16, {3, 5}, {4, 6}, CLATTN_CAUSAL_TOP_LEFT,
                           false, 0, 0, 0,  0,  0};
    problem p;
    CU_ASSERT_FATAL(problem_make(&p, &c, 5));
    float *o = guarded(p.no), *lse = guarded(p.nl);
    unsigned char mask[64] = {1};
    CU_ASSERT_FATAL(o && lse);
    clattn_attention_arrays t = arrays(&p, o, lse);
    expect_all(&p.desc, &t, CLATTN_SUCCESS, "valid");

    clattn_attention_desc d = p.desc;
    d.mask_kind = CLATTN_MASK_BOOLEAN;
    t.mask = mask;
    expect_all(&d, &t, CLATTN_ERROR_INVALID_VALUE, "a mask with varlen");
    t.mask = NULL;

    t.cu_seqlens_k = NULL;
    expect_all(&p.desc, &t, CLATTN_ERROR_NULL_POINTER, "cu_seqlens_k missing");
    t.cu_seqlens_k = p.cu_k;
    clattn_attention_desc_init(&d, 2, 2, 1, 5, 6, 16, 16); /* an ordinary desc */
    expect_all(&d, &t, CLATTN_ERROR_INVALID_VALUE, "offsets without varlen");

    const int32_t not_zero[3] = {1, 3, 8}, decreasing[3] = {0, 5, 3}, too_long[3] = {0, 3, 10};
    const int32_t *bad[] = {not_zero, decreasing, too_long};
    for (size_t i = 0; i < COUNT(bad); i++) {
        t.cu_seqlens_q = bad[i];
        expect_all(&p.desc, &t, CLATTN_ERROR_INVALID_VALUE, "bad cu_seqlens_q");
        t.cu_seqlens_q = p.cu_q;
        t.cu_seqlens_k = bad[i];
        expect_all(&p.desc, &t, CLATTN_ERROR_INVALID_VALUE, "bad cu_seqlens_k");
        t.cu_seqlens_k = p.cu_k;
    }

    d = p.desc;
    d.q.stride[2] = 8; /* tokens overlapping */
    expect_all(&d, &t, CLATTN_ERROR_INVALID_SHAPE, "q row stride < D");
    d = p.desc;
    d.lse.stride[2] = 0;
    expect_all(&d, &t, CLATTN_ERROR_INVALID_SHAPE, "lse row stride 0");

    float w[2 * 2 * 5 * 6];
    CU_ASSERT_EQUAL(clattn_ref_attention_weights(&p.desc, p.q, p.k, NULL, w),
                    CLATTN_ERROR_INVALID_VALUE);

    /* The enqueue form: device offsets too short for B + 1 entries. */
    clattn_handle *h = test_handle(test_variants[0]);
    cl_context ctx = clattn_handle_context(h);
    cl_int err;
    cl_mem buf = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4096, NULL, &err);
    cl_mem out = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4096, NULL, &err);
    cl_mem small = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 2 * sizeof(int32_t), NULL, &err);
    CU_ASSERT_FATAL(buf && out && small);
    const clattn_attention_buffers bt = {
        .q = buf, .k = buf, .v = buf, .o = out, .cu_seqlens_q = small, .cu_seqlens_k = small};
    CU_ASSERT_EQUAL(clattn_enqueue_attention_ex(h, NULL, &p.desc, &bt, 0, NULL, NULL),
                    CLATTN_ERROR_BUFFER_TOO_SMALL);
    clReleaseMemObject(buf), clReleaseMemObject(out), clReleaseMemObject(small);
    free(o), free(lse);
    problem_free(&p);
}

static void add_suites(void) {
    /* One CTest test each: cold kernel compiles on a loaded machine took over 300 s for both. */
    static const test_case kernels[] = {{"shapes", shapes}, {NULL, NULL}};
    static const test_case model_variants[] = {{"variants", variants}, {NULL, NULL}};
    static const test_case contract[] = {{"reference per sequence", reference_per_sequence},
                                         {"invalid arguments", invalid_arguments},
                                         {NULL, NULL}};
    /* Small enough for Oclgrind (tests/CMakeLists.txt: oclgrind_varlen). */
    static const test_case small[] = {{"device offsets", device_offsets}, {NULL, NULL}};
    test_add_suite("varlen_kernels", kernels);
    test_add_suite("varlen_variants", model_variants);
    test_add_suite("varlen_contract", contract);
    test_add_suite("varlen_small", small);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
