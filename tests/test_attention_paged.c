/* The paged KV cache: attention over K/V pages addressed through a block table (both kernel
 * shapes, the CPU backend) against the reference, and the reference against dense attention
 * over the same keys; the append operation (clattn_kv_append, clattn_enqueue_kv_append)
 * against its reference; a decode loop (append one token, attend) against dense attention;
 * bad device data (page ids, lengths) clamped or skipped, never read or written out of
 * bounds; invalid arguments.
 *
 * Tolerance as tests/test_attention.c derives it: atol = 2e-5 + 64 u sqrt(N), rtol = 1e-4
 * (each output row a convex combination of V rows, |v| <= 1); the append is a copy (exact). */
#include "test_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD    12345.0f
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef struct paged_case {
    size_t batch, hq, hkv, m, d, dv;
    size_t page_size, max_pages, num_pages;
    clattn_causal causal;
    clattn_norm norm;
    size_t splits;
    bool strided; /* offsets and padded strides in Q, the pages and O */
} paged_case;

static double tolerance_atol(size_t n) {
    return 2e-5 + 64.0 * TEST_U * sqrt((double)n);
}

/* Sequence lengths covering the edge cases: empty, a partial page, whole pages, full. */
static void make_seqlens(const paged_case *c, int32_t *seqlens, uint64_t *seed) {
    const size_t n = c->page_size * c->max_pages;
    float r[64];
    test_fill(r, c->batch, seed, 0.0f, 1.0f);
    for (size_t b = 0; b < c->batch; b++) {
        size_t len = (size_t)(r[b] * (float)(n + 1));
        if (b == 0) len = n;                               /* every page used */
        if (b == 1) len = c->page_size + 1;                /* one row into the second page */
        if (b == 2 && c->m == 1) len = 0;                  /* no keys: zeros, LSE -inf */
        if (c->causal && len < c->m && b != 2) len = c->m; /* some rows see keys */
        seqlens[b] = (int32_t)(len > n ? n : len);
    }
}

/* A block table whose sequences own scattered, distinct pages (a permutation), with garbage
 * in the columns past each sequence's last page (never read). */
static void make_table(const paged_case *c, const int32_t *seqlens, int32_t *table,
                       uint64_t *seed) {
    int32_t *perm = malloc(c->num_pages * sizeof *perm);
    float *r = malloc(c->num_pages * sizeof *r);
    for (size_t i = 0; i < c->num_pages; i++)
        perm[i] = (int32_t)i;
    test_fill(r, c->num_pages, seed, 0.0f, 1.0f);
    for (size_t i = c->num_pages - 1; i > 0; i--) {
        const size_t j = (size_t)(r[i] * (float)(i + 1)) % (i + 1);
        const int32_t t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    size_t next = 0;
    for (size_t b = 0; b < c->batch; b++) {
        const size_t used = ((size_t)seqlens[b] + c->page_size - 1) / c->page_size;
        for (size_t p = 0; p < c->max_pages; p++)
            table[b * c->max_pages + p] =
                p < used ? perm[next++ % c->num_pages] : (p % 2 ? -7 : 1 << 30);
    }
    free(perm), free(r);
}

static void strided_layout(clattn_layout *l, size_t heads, size_t rows, size_t cols, size_t salt) {
    l->offset = 5 + salt;
    l->stride[2] = cols + 3;
    l->stride[1] = rows * l->stride[2] + 2;
    l->stride[0] = heads * l->stride[1] + 1 + salt;
}

static size_t span(const clattn_layout *l, size_t outer, size_t heads, size_t rows, size_t cols) {
    return l->offset + (outer - 1) * l->stride[0] + (heads - 1) * l->stride[1] +
           (rows - 1) * l->stride[2] + cols;
}

static void paged_desc(const paged_case *c, clattn_attention_desc *desc) {
    clattn_attention_desc_init(desc, c->batch, c->hq, c->hkv, c->m, 1, c->d, c->dv);
    clattn_attention_desc_paged(desc, c->page_size, c->num_pages, c->max_pages);
    desc->causal = c->causal;
    desc->norm = c->norm;
    desc->kv_splits = c->splits;
    if (c->strided) {
        strided_layout(&desc->q, c->hq, c->m, c->d, 0);
        strided_layout(&desc->k, c->hkv, c->page_size, c->d, 1);
        strided_layout(&desc->v, c->hkv, c->page_size, c->dv, 2);
        strided_layout(&desc->o, c->hq, c->m, c->dv, 3);
    }
}

/* The reference's paged answer must be the dense attention of each sequence over its keys
 * (gathered here from the pages). */
static bool matches_dense(const clattn_attention_desc *pd, const float *q, const float *k,
                          const float *v, const int32_t *table, const int32_t *seqlens,
                          const float *o, const float *lse) {
    bool ok = true;
    for (size_t b = 0; b < pd->batch && ok; b++) {
        const size_t nb = (size_t)seqlens[b], P = pd->page_size;
        if (!nb) continue; /* dense attention has no n = 0; the zero rows are checked below */
        clattn_attention_desc d;
        clattn_attention_desc_init(&d, 1, pd->q_heads, pd->kv_heads, pd->m, nb, pd->d, pd->dv);
        d.causal = pd->causal;
        d.norm = pd->norm;
        float *kd = malloc(pd->kv_heads * nb * pd->d * sizeof *kd);
        float *vd = malloc(pd->kv_heads * nb * pd->dv * sizeof *vd);
        float *od = malloc(pd->q_heads * pd->m * pd->dv * sizeof *od);
        float *ld = malloc(pd->q_heads * pd->m * sizeof *ld);
        float *qd = malloc(pd->q_heads * pd->m * pd->d * sizeof *qd);
        for (size_t h = 0; h < pd->kv_heads; h++)
            for (size_t j = 0; j < nb; j++) {
                const size_t page = (size_t)table[b * pd->max_pages + j / P];
                memcpy(kd + (h * nb + j) * pd->d,
                       k + pd->k.offset + page * pd->k.stride[0] + h * pd->k.stride[1] +
                           (j % P) * pd->k.stride[2],
                       pd->d * sizeof *kd);
                memcpy(vd + (h * nb + j) * pd->dv,
                       v + pd->v.offset + page * pd->v.stride[0] + h * pd->v.stride[1] +
                           (j % P) * pd->v.stride[2],
                       pd->dv * sizeof *vd);
            }
        for (size_t h = 0; h < pd->q_heads; h++)
            for (size_t i = 0; i < pd->m; i++)
                memcpy(qd + (h * pd->m + i) * pd->d,
                       q + pd->q.offset + b * pd->q.stride[0] + h * pd->q.stride[1] +
                           i * pd->q.stride[2],
                       pd->d * sizeof *qd);
        ok = clattn_ref_attention(&d, qd, kd, vd, NULL, od, ld) == CLATTN_SUCCESS;
        for (size_t h = 0; h < pd->q_heads && ok; h++)
            for (size_t i = 0; i < pd->m && ok; i++) {
                const float *row = o + pd->o.offset + b * pd->o.stride[0] + h * pd->o.stride[1] +
                                   i * pd->o.stride[2];
                ok = test_close(row, od + (h * pd->m + i) * pd->dv, pd->dv, 1e-6, 1e-6,
                                "reference paged vs dense O") &&
                     test_close(&lse[(b * pd->q_heads + h) * pd->m + i], &ld[h * pd->m + i], 1,
                                1e-6, 1e-6, "reference paged vs dense LSE");
            }
        free(kd), free(vd), free(od), free(ld), free(qd);
    }
    return ok;
}

/* One case: the reference against dense attention, then the CPU backend and both kernel
 * shapes against the reference (guards between strided rows included). */
static bool run_case(const paged_case *c, uint64_t seed) {
    clattn_attention_desc desc;
    paged_desc(c, &desc);
    const size_t n = desc.n;
    const size_t nq = span(&desc.q, c->batch, c->hq, c->m, c->d);
    const size_t nk = span(&desc.k, c->num_pages, c->hkv, c->page_size, c->d);
    const size_t nv = span(&desc.v, c->num_pages, c->hkv, c->page_size, c->dv);
    const size_t no = span(&desc.o, c->batch, c->hq, c->m, c->dv) + 16;
    const size_t nl = c->batch * c->hq * c->m;
    float *q = malloc(nq * sizeof *q), *k = malloc(nk * sizeof *k), *v = malloc(nv * sizeof *v);
    float *o = malloc(no * sizeof *o), *o_ref = malloc(no * sizeof *o);
    float *lse = malloc(nl * sizeof *lse), *lse_ref = malloc(nl * sizeof *lse);
    int32_t seqlens[64], *table = malloc(c->batch * c->max_pages * sizeof *table);
    const float lo = c->norm == CLATTN_NORM_SUM ? 0.0f : -1.0f;
    test_fill(q, nq, &seed, lo, 1.0f);
    test_fill(k, nk, &seed, lo, 1.0f);
    test_fill(v, nv, &seed, -1.0f, 1.0f);
    make_seqlens(c, seqlens, &seed);
    make_table(c, seqlens, table, &seed);
    for (size_t i = 0; i < no; i++)
        o_ref[i] = GUARD;
    clattn_attention_arrays t = {.q = q,
                                 .k = k,
                                 .v = v,
                                 .o = o_ref,
                                 .lse = lse_ref,
                                 .block_table = table,
                                 .seqlens_k = seqlens};
    bool ok = clattn_ref_attention_ex(&desc, &t) == CLATTN_SUCCESS;
    ok = ok && matches_dense(&desc, q, k, v, table, seqlens, o_ref, lse_ref);
    char what[256];
    for (int path = 0; path < 3 && ok; path++) {
        for (size_t i = 0; i < no; i++)
            o[i] = GUARD;
        for (size_t i = 0; i < nl; i++)
            lse[i] = GUARD;
        t.o = o, t.lse = lse;
        clattn_status status;
        if (path == 0) {
            status = clattn_cpu_attention_ex(&desc, &t);
        } else {
            clattn_handle *h = test_handle(test_variants[path - 1]);
            if (!h) return false;
            status = clattn_attention_ex(h, &desc, &t);
        }
        if (status) {
            fprintf(stderr, "\n    paged attention (path %d): %s: %s\n", path,
                    clattn_status_string(status), clattn_last_error_message());
            ok = false;
            break;
        }
        snprintf(what, sizeof what,
                 "%s O (B %zu Hq %zu Hkv %zu M %zu D %zu Dv %zu P %zu pages %zu/%zu causal %d "
                 "norm %d splits %zu%s)",
                 path == 0 ? "CPU backend" : test_variant_name(test_variants[path - 1]), c->batch,
                 c->hq, c->hkv, c->m, c->d, c->dv, c->page_size, c->max_pages, c->num_pages,
                 (int)c->causal, (int)c->norm, c->splits, c->strided ? " strided" : "");
        ok = test_close(o, o_ref, no, tolerance_atol(n), 1e-4, what) && ok;
        ok = test_close(lse, lse_ref, nl, 1e-5, 1e-5, "LSE") && ok;
    }
    free(q), free(k), free(v), free(o), free(o_ref), free(lse), free(lse_ref), free(table);
    return ok;
}

#define SM  CLATTN_NORM_SOFTMAX
#define BR  CLATTN_CAUSAL_BOTTOM_RIGHT
#define TL  CLATTN_CAUSAL_TOP_LEFT
#define NOC CLATTN_CAUSAL_NONE

/* Decoding (M = 1) with GQA, automatic and forced split-KV, and prefill against a cache
 * (M rows at the end of each sequence) with both causal alignments, odd head dims and strided
 * layouts. (SUM normalisation takes the same paths: its own programs would only add cold
 * compiles.) */
static void attention_cases(void) {
    static const paged_case cases[] = {
        {3, 8, 2, 1, 64, 64, 16, 5, 20, BR, SM, 0, false},
        {4, 4, 1, 1, 64, 64, 8, 40, 170, BR, SM, 3, true},
        {2, 4, 4, 7, 64, 64, 8, 6, 13, BR, SM, 0, true},
        {3, 2, 1, 5, 64, 64, 4, 9, 30, TL, SM, 2, false},
        {3, 3, 3, 4, 3, 5, 5, 7, 22, NOC, SM, 0, true},
    };
    for (size_t i = 0; i < COUNT(cases); i++)
        CU_ASSERT(run_case(&cases[i], 0x51ed270b27a3c9f1ull + i));
}

/* Device data is not validated by the host: lengths outside [0, n] and page ids outside
 * [0, num_pages) must be clamped (the documented result), never read out of bounds. The
 * buffers are exactly as large as the pages (an out-of-bounds read would trip Oclgrind or
 * PoCL's bounds and give garbage rather than the clamped answer). */
static void bad_device_data(void) {
    const paged_case c = {3, 2, 1, 1, 64, 64, 8, 4, 6, BR, SM, 0, false};
    clattn_attention_desc desc;
    paged_desc(&c, &desc);
    const size_t nk = c.num_pages * c.hkv * c.page_size * c.d, nq = c.batch * c.hq * c.d;
    float *q = malloc(nq * sizeof *q), *k = malloc(nk * sizeof *k), *v = malloc(nk * sizeof *v);
    float o[3 * 2 * 64], o_ref[3 * 2 * 64], lse[6], lse_ref[6];
    uint64_t seed = 77;
    test_fill(q, nq, &seed, -1.0f, 1.0f);
    test_fill(k, nk, &seed, -1.0f, 1.0f);
    test_fill(v, nk, &seed, -1.0f, 1.0f);
    const int32_t seqlens[3] = {-5, 1000, 13};
    const int32_t table[3 * 4] = {0, 1, 2, 3, -3, 99, 5, 2, 4, 1 << 30, -1, 7};
    /* What the kernels must compute: the same with every value clamped. */
    const int32_t seqlens_clamped[3] = {0, 32, 13};
    const int32_t table_clamped[3 * 4] = {0, 1, 2, 3, 0, 5, 5, 2, 4, 5, 0, 5};
    clattn_attention_arrays ref = {.q = q,
                                   .k = k,
                                   .v = v,
                                   .o = o_ref,
                                   .lse = lse_ref,
                                   .block_table = table_clamped,
                                   .seqlens_k = seqlens_clamped};
    CU_ASSERT_EQUAL_FATAL(clattn_ref_attention_ex(&desc, &ref), CLATTN_SUCCESS);
    /* The host forms refuse the unclamped data. */
    ref.block_table = table, ref.seqlens_k = seqlens;
    CU_ASSERT_EQUAL(clattn_ref_attention_ex(&desc, &ref), CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_cpu_attention_ex(&desc, &ref), CLATTN_ERROR_INVALID_VALUE);
    for (int vi = 0; vi < 2; vi++) {
        clattn_handle *h = test_handle(test_variants[vi]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        CU_ASSERT_EQUAL(clattn_attention_ex(h, &desc, &ref), CLATTN_ERROR_INVALID_VALUE);
        cl_context ctx = clattn_handle_context(h);
        cl_command_queue queue = clattn_handle_queue(h);
        const cl_mem_flags in = CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
        cl_int err;
        clattn_attention_buffers t = {
            .q = clCreateBuffer(ctx, in, nq * sizeof *q, q, &err),
            .k = clCreateBuffer(ctx, in, nk * sizeof *k, k, &err),
            .v = clCreateBuffer(ctx, in, nk * sizeof *v, v, &err),
            .o = clCreateBuffer(ctx, CL_MEM_READ_WRITE, sizeof o, NULL, &err),
            .lse = clCreateBuffer(ctx, CL_MEM_READ_WRITE, sizeof lse, NULL, &err),
            .block_table = clCreateBuffer(ctx, in, sizeof table, (void *)table, &err),
            .seqlens_k = clCreateBuffer(ctx, in, sizeof seqlens, (void *)seqlens, &err)};
        CU_ASSERT_EQUAL(clattn_enqueue_attention_ex(h, queue, &desc, &t, 0, NULL, NULL),
                        CLATTN_SUCCESS);
        clEnqueueReadBuffer(queue, t.o, CL_TRUE, 0, sizeof o, o, 0, NULL, NULL);
        clEnqueueReadBuffer(queue, t.lse, CL_TRUE, 0, sizeof lse, lse, 0, NULL, NULL);
        CU_ASSERT(test_close(o, o_ref, COUNT(o), tolerance_atol(32), 1e-4, "clamped O"));
        CU_ASSERT(test_close(lse, lse_ref, COUNT(lse), 1e-5, 1e-5, "clamped LSE"));
        cl_mem *all[] = {&t.q, &t.k, &t.v, &t.o, &t.lse, &t.block_table, &t.seqlens_k};
        for (size_t i = 0; i < COUNT(all); i++)
            clReleaseMemObject(*all[i]);
    }
    free(q), free(k), free(v);
}

static void invalid_attention(void) {
    clattn_attention_desc good, d;
    const paged_case c = {2, 2, 1, 1, 16, 16, 4, 3, 5, NOC, SM, 0, false};
    paged_desc(&c, &good);
    float x[4096] = {0};
    int32_t table[6] = {0, 1, 2, 3, 4, 0}, seqlens[2] = {12, 5};
    const clattn_attention_arrays t = {
        .q = x, .k = x, .v = x, .o = x + 2048, .block_table = table, .seqlens_k = seqlens};
#define EXPECT(desc_, arrays_, status)                                                             \
    do {                                                                                           \
        CU_ASSERT_EQUAL(clattn_ref_attention_ex(desc_, arrays_), status);                          \
        CU_ASSERT_EQUAL(clattn_cpu_attention_ex(desc_, arrays_), status);                          \
    } while (0)
    EXPECT(&good, &t, CLATTN_SUCCESS);
    d = good, d.n = 11; /* not max_pages * page_size */
    EXPECT(&d, &t, CLATTN_ERROR_INVALID_VALUE);
    d = good, d.num_pages = 0;
    EXPECT(&d, &t, CLATTN_ERROR_INVALID_VALUE);
    d = good, d.max_pages = 0;
    EXPECT(&d, &t, CLATTN_ERROR_INVALID_VALUE);
    d = good, d.page_size = 0; /* the page counts without paging, and its tensors given */
    EXPECT(&d, &t, CLATTN_ERROR_INVALID_VALUE);
    d = good, d.page_size = 0, d.num_pages = d.max_pages = 0;
    EXPECT(&d, &t, CLATTN_ERROR_INVALID_VALUE);
    clattn_attention_arrays u = t;
    u.block_table = NULL;
    EXPECT(&good, &u, CLATTN_ERROR_NULL_POINTER);
    u = t, u.seqlens_k = NULL;
    EXPECT(&good, &u, CLATTN_ERROR_NULL_POINTER);
    d = good, d.k.stride[2] = 15; /* rows of a page overlap */
    EXPECT(&d, &t, CLATTN_ERROR_INVALID_SHAPE);
    /* varlen over a paged KV cache is not composed: refused, with all its tensors given */
    const int32_t cu_q[3] = {0, 1, 2}, cu_k[3] = {0, 12, 17};
    u = t, u.cu_seqlens_q = cu_q, u.cu_seqlens_k = cu_k;
    d = good, d.varlen = 1;
    EXPECT(&d, &u, CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT(strstr(clattn_last_error_message(), "varlen and a paged KV cache") != NULL);
    seqlens[1] = 13; /* > n */
    EXPECT(&good, &t, CLATTN_ERROR_INVALID_VALUE);
    seqlens[1] = -1;
    EXPECT(&good, &t, CLATTN_ERROR_INVALID_VALUE);
    seqlens[1] = 9, table[5] = 5; /* the third page of sequence 1 is not a page */
    EXPECT(&good, &t, CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT(strstr(clattn_last_error_message(), "block_table[1][2]") != NULL);
    seqlens[1] = 8; /* ... but sequence 1 no longer uses it */
    EXPECT(&good, &t, CLATTN_SUCCESS);
    /* The device form: buffers too small, and the weights path refuses paging. */
    clattn_handle *h = test_handle(CLATTN_VARIANT_AUTO);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    cl_context ctx = clattn_handle_context(h);
    cl_int err;
    cl_mem big = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4096 * sizeof(float), NULL, &err);
    cl_mem out = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4096 * sizeof(float), NULL, &err);
    cl_mem small = clCreateBuffer(ctx, CL_MEM_READ_WRITE, sizeof(int32_t), NULL, &err);
    clattn_attention_buffers b = {
        .q = big, .k = big, .v = big, .o = out, .block_table = big, .seqlens_k = big};
    CU_ASSERT_EQUAL(clattn_enqueue_attention_ex(h, NULL, &good, &b, 0, NULL, NULL), CLATTN_SUCCESS);
    b.block_table = small;
    CU_ASSERT_EQUAL(clattn_enqueue_attention_ex(h, NULL, &good, &b, 0, NULL, NULL),
                    CLATTN_ERROR_BUFFER_TOO_SMALL);
    b.block_table = big, b.seqlens_k = small;
    CU_ASSERT_EQUAL(clattn_enqueue_attention_ex(h, NULL, &good, &b, 0, NULL, NULL),
                    CLATTN_ERROR_BUFFER_TOO_SMALL);
    b.seqlens_k = out; /* O on top of an input */
    CU_ASSERT_EQUAL(clattn_enqueue_attention_ex(h, NULL, &good, &b, 0, NULL, NULL),
                    CLATTN_ERROR_INVALID_VALUE);
    b.seqlens_k = big, b.cu_seqlens_q = big, b.cu_seqlens_k = big; /* varlen + paged */
    d = good, d.varlen = 1;
    CU_ASSERT_EQUAL(clattn_enqueue_attention_ex(h, NULL, &d, &b, 0, NULL, NULL),
                    CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_attention_ex(h, &d, &u), CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_ref_attention_weights(&good, x, x, NULL, x + 2048),
                    CLATTN_ERROR_INVALID_VALUE);
    /* Multi-device attention takes no block table: refused rather than misreading the pages. */
    CU_ASSERT_EQUAL(clattn_attention_multi(&h, 1, NULL, &good, x, x, x, NULL, x + 2048, NULL),
                    CLATTN_ERROR_INVALID_VALUE);
    clFinish(clattn_handle_queue(h));
    clReleaseMemObject(big), clReleaseMemObject(out), clReleaseMemObject(small);
#undef EXPECT
}

/* ---- the append ------------------------------------------------------------------------ */

/* T tokens crossing page boundaries into scattered pages, strided new rows; the blocking
 * form on both kernel shapes against the reference (rows not appended stay as they were). */
static void append_cases(void) {
    const size_t B = 3, H = 2, T = 5, D = 7, DV = 16, P = 4, MAXP = 6, NP = 14;
    clattn_kv_append_desc desc;
    clattn_kv_append_desc_init(&desc, B, H, T, D, DV, P, NP, MAXP);
    desc.k_new = (clattn_layout){3, {H * T * (D + 2) + 1, T * (D + 2), D + 2}};
    const size_t nkn = span(&desc.k_new, B, H, T, D), nvn = B * H * T * DV;
    const size_t nkp = NP * H * P * D, nvp = NP * H * P * DV;
    float *kn = malloc(nkn * sizeof *kn), *vn = malloc(nvn * sizeof *vn);
    float *kp = malloc(nkp * sizeof *kp), *vp = malloc(nvp * sizeof *vp);
    float *kp_ref = malloc(nkp * sizeof *kp), *vp_ref = malloc(nvp * sizeof *vp);
    uint64_t seed = 99;
    test_fill(kn, nkn, &seed, -1.0f, 1.0f);
    test_fill(vn, nvn, &seed, -1.0f, 1.0f);
    test_fill(kp_ref, nkp, &seed, -1.0f, 1.0f);
    test_fill(vp_ref, nvp, &seed, -1.0f, 1.0f);
    /* Sequence 0 starts empty, 1 mid-page, 2 ends on the last position. */
    const int32_t seqlens[3] = {0, 6, (int32_t)(MAXP * P - T)};
    const int32_t table[3 * 6] = {13, 2, -1, -1, -1, -1, 7, 0, 11, -1, -1, -1, 1, 3, 4, 5, 6, 8};
    float *kp0 = malloc(nkp * sizeof *kp), *vp0 = malloc(nvp * sizeof *vp);
    memcpy(kp0, kp_ref, nkp * sizeof *kp), memcpy(vp0, vp_ref, nvp * sizeof *vp);
    CU_ASSERT_EQUAL_FATAL(clattn_ref_kv_append(&desc, kn, vn, kp_ref, vp_ref, table, seqlens),
                          CLATTN_SUCCESS);
    /* Spot check of the reference itself: sequence 1's token 2 (position 8) is row 0 of
     * page table[1][2] = 11; head 1. */
    CU_ASSERT_EQUAL(kp_ref[(11 * H + 1) * P * D + 0 * D + 4],
                    kn[desc.k_new.offset + 1 * desc.k_new.stride[0] + 1 * desc.k_new.stride[1] +
                       2 * desc.k_new.stride[2] + 4]);
    for (int vi = 0; vi < 2; vi++) {
        clattn_handle *h = test_handle(test_variants[vi]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        memcpy(kp, kp0, nkp * sizeof *kp), memcpy(vp, vp0, nvp * sizeof *vp);
        CU_ASSERT_EQUAL(clattn_kv_append(h, &desc, kn, vn, kp, vp, table, seqlens), CLATTN_SUCCESS);
        CU_ASSERT(test_close(kp, kp_ref, nkp, 0.0, 0.0, "appended K pages"));
        CU_ASSERT(test_close(vp, vp_ref, nvp, 0.0, 0.0, "appended V pages"));
    }
    free(kn), free(vn), free(kp), free(vp), free(kp_ref), free(vp_ref), free(kp0), free(vp0);
}

/* Bad device data: rows whose position or page id is out of range are not written. */
static void append_bad_device_data(void) {
    const size_t B = 4, H = 1, T = 2, D = 16, P = 4, MAXP = 2, NP = 4;
    clattn_kv_append_desc desc;
    clattn_kv_append_desc_init(&desc, B, H, T, D, D, P, NP, MAXP);
    float kn[4 * 2 * 16], vn[4 * 2 * 16], kp[4 * 4 * 16], vp[4 * 4 * 16];
    float kp_want[4 * 4 * 16], vp_want[4 * 4 * 16];
    uint64_t seed = 5;
    test_fill(kn, COUNT(kn), &seed, -1.0f, 1.0f);
    test_fill(vn, COUNT(vn), &seed, -1.0f, 1.0f);
    for (size_t i = 0; i < COUNT(kp); i++)
        kp_want[i] = vp_want[i] = GUARD;
    /* 0: positions -1, 0 (only 0 written); 1: 7, 8 (only 7); 2: page -2 (skipped), then
     * page 9 (skipped); 3: positions 2, 3 of page 3. */
    const int32_t seqlens[4] = {-1, 7, 3, 2};
    const int32_t table[4 * 2] = {0, 1, 2, 1, -2, 9, 3, 0};
    const int32_t written[][3] = {{0, 1, 0}, {1, 0, 7}, {3, 0, 2}, {3, 1, 3}}; /* b, t, pos */
    const int32_t page_of[] = {0, 1, 3, 3};
    for (size_t w = 0; w < COUNT(written); w++) {
        const size_t b = (size_t)written[w][0], t = (size_t)written[w][1];
        const size_t row = (size_t)written[w][2] % P, page = (size_t)page_of[w];
        memcpy(kp_want + (page * P + row) * D, kn + (b * T + t) * D, D * sizeof(float));
        memcpy(vp_want + (page * P + row) * D, vn + (b * T + t) * D, D * sizeof(float));
    }
    /* Host forms refuse the data. */
    CU_ASSERT_EQUAL(clattn_ref_kv_append(&desc, kn, vn, kp, vp, table, seqlens),
                    CLATTN_ERROR_INVALID_VALUE);
    for (int vi = 0; vi < 2; vi++) {
        clattn_handle *h = test_handle(test_variants[vi]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        CU_ASSERT_EQUAL(clattn_kv_append(h, &desc, kn, vn, kp, vp, table, seqlens),
                        CLATTN_ERROR_INVALID_VALUE);
        cl_context ctx = clattn_handle_context(h);
        cl_command_queue queue = clattn_handle_queue(h);
        const cl_mem_flags in = CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
        const cl_mem_flags inout = CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR;
        for (size_t i = 0; i < COUNT(kp); i++)
            kp[i] = vp[i] = GUARD;
        cl_int err;
        cl_mem knb = clCreateBuffer(ctx, in, sizeof kn, kn, &err);
        cl_mem vnb = clCreateBuffer(ctx, in, sizeof vn, vn, &err);
        cl_mem kpb = clCreateBuffer(ctx, inout, sizeof kp, kp, &err);
        cl_mem vpb = clCreateBuffer(ctx, inout, sizeof vp, vp, &err);
        cl_mem tb = clCreateBuffer(ctx, in, sizeof table, (void *)table, &err);
        cl_mem sb = clCreateBuffer(ctx, in, sizeof seqlens, (void *)seqlens, &err);
        CU_ASSERT_EQUAL(
            clattn_enqueue_kv_append(h, queue, &desc, knb, vnb, kpb, vpb, tb, sb, 0, NULL, NULL),
            CLATTN_SUCCESS);
        clEnqueueReadBuffer(queue, kpb, CL_TRUE, 0, sizeof kp, kp, 0, NULL, NULL);
        clEnqueueReadBuffer(queue, vpb, CL_TRUE, 0, sizeof vp, vp, 0, NULL, NULL);
        CU_ASSERT(test_close(kp, kp_want, COUNT(kp), 0.0, 0.0, "K pages after a bad append"));
        CU_ASSERT(test_close(vp, vp_want, COUNT(vp), 0.0, 0.0, "V pages after a bad append"));
        /* Invalid arguments of the device form. */
        CU_ASSERT_EQUAL(
            clattn_enqueue_kv_append(h, queue, &desc, knb, vnb, vpb, vpb, tb, sb, 0, NULL, NULL),
            CLATTN_ERROR_INVALID_VALUE); /* K and V pages in one place */
        CU_ASSERT_EQUAL(
            clattn_enqueue_kv_append(h, queue, &desc, knb, vnb, kpb, vpb, NULL, sb, 0, NULL, NULL),
            CLATTN_ERROR_NULL_POINTER);
        CU_ASSERT_EQUAL(
            clattn_enqueue_kv_append(h, queue, &desc, knb, vnb, kpb, vpb, sb, sb, 0, NULL, NULL),
            CLATTN_ERROR_BUFFER_TOO_SMALL); /* a table of 4 ints for 8 */
        clattn_kv_append_desc d = desc;
        d.tokens = 0;
        CU_ASSERT_EQUAL(
            clattn_enqueue_kv_append(h, queue, &d, knb, vnb, kpb, vpb, tb, sb, 0, NULL, NULL),
            CLATTN_ERROR_INVALID_SIZE);
        d = desc, d.k_pages.stride[0] = 8; /* pages overlap */
        CU_ASSERT_EQUAL(
            clattn_enqueue_kv_append(h, queue, &d, knb, vnb, kpb, vpb, tb, sb, 0, NULL, NULL),
            CLATTN_ERROR_INVALID_SHAPE);
        d = desc, d.num_pages = 100;
        CU_ASSERT_EQUAL(
            clattn_enqueue_kv_append(h, queue, &d, knb, vnb, kpb, vpb, tb, sb, 0, NULL, NULL),
            CLATTN_ERROR_BUFFER_TOO_SMALL);
        clFinish(queue);
        cl_mem all[] = {knb, vnb, kpb, vpb, tb, sb};
        for (size_t i = 0; i < COUNT(all); i++)
            clReleaseMemObject(all[i]);
    }
}

/* A decode loop on device buffers: a prompt appended in one call, then per step one token
 * appended and attended (M = 1, bottom-right), against dense attention over the same keys;
 * the lengths live on the host and are written to the device each step. */
static void decode_loop(void) {
    enum { B = 2, HQ = 4, HKV = 2, D = 64, P = 8, MAXP = 4, NP = 9, PROMPT = 5, STEPS = 13 };
    enum { N = MAXP * P };
    /* Every token's K and V (dense, [B, HKV, N, D]) and every step's queries. */
    static float k_all[B * HKV * N * D], v_all[B * HKV * N * D], q_all[STEPS * B * HQ * D];
    uint64_t seed = 2024;
    test_fill(k_all, COUNT(k_all), &seed, -1.0f, 1.0f);
    test_fill(v_all, COUNT(v_all), &seed, -1.0f, 1.0f);
    test_fill(q_all, COUNT(q_all), &seed, -1.0f, 1.0f);
    const int32_t table[B * MAXP] = {8, 0, 4, 2, 1, 7, 3, 5};
    for (int vi = 0; vi < 2; vi++) {
        clattn_handle *h = test_handle(test_variants[vi]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        cl_context ctx = clattn_handle_context(h);
        cl_command_queue queue = clattn_handle_queue(h);
        cl_int err;
        const size_t page_floats = NP * HKV * P * D;
        cl_mem kp = clCreateBuffer(ctx, CL_MEM_READ_WRITE, page_floats * 4, NULL, &err);
        cl_mem vp = clCreateBuffer(ctx, CL_MEM_READ_WRITE, page_floats * 4, NULL, &err);
        cl_mem kn = clCreateBuffer(ctx, CL_MEM_READ_WRITE, B * HKV * PROMPT * D * 4, NULL, &err);
        cl_mem vn = clCreateBuffer(ctx, CL_MEM_READ_WRITE, B * HKV * PROMPT * D * 4, NULL, &err);
        cl_mem qb = clCreateBuffer(ctx, CL_MEM_READ_WRITE, B * HQ * D * 4, NULL, &err);
        cl_mem ob = clCreateBuffer(ctx, CL_MEM_READ_WRITE, B * HQ * D * 4, NULL, &err);
        cl_mem tb = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof table,
                                   (void *)table, &err);
        cl_mem sb = clCreateBuffer(ctx, CL_MEM_READ_WRITE, B * 4, NULL, &err);
        /* Garbage in the pages: only appended rows may be read. */
        const float nan = NAN;
        clEnqueueFillBuffer(queue, kp, &nan, sizeof nan, 0, page_floats * 4, 0, NULL, NULL);
        clEnqueueFillBuffer(queue, vp, &nan, sizeof nan, 0, page_floats * 4, 0, NULL, NULL);
        int32_t lens[B] = {0, 0};
        bool ok = true;
        for (int step = -1; step < STEPS && ok; step++) {
            const size_t T = step < 0 ? PROMPT : 1; /* the prompt first */
            float knew[B * HKV * PROMPT * D], vnew[B * HKV * PROMPT * D];
            for (size_t b = 0; b < B; b++)
                for (size_t hk = 0; hk < HKV; hk++)
                    for (size_t t = 0; t < T; t++) {
                        const size_t src = ((b * HKV + hk) * N + (size_t)lens[b] + t) * D;
                        memcpy(knew + ((b * HKV + hk) * T + t) * D, k_all + src, D * 4);
                        memcpy(vnew + ((b * HKV + hk) * T + t) * D, v_all + src, D * 4);
                    }
            clattn_kv_append_desc ad;
            clattn_kv_append_desc_init(&ad, B, HKV, T, D, D, P, NP, MAXP);
            clEnqueueWriteBuffer(queue, kn, CL_TRUE, 0, B * HKV * T * D * 4, knew, 0, NULL, NULL);
            clEnqueueWriteBuffer(queue, vn, CL_TRUE, 0, B * HKV * T * D * 4, vnew, 0, NULL, NULL);
            clEnqueueWriteBuffer(queue, sb, CL_TRUE, 0, sizeof lens, lens, 0, NULL, NULL);
            ok = clattn_enqueue_kv_append(h, queue, &ad, kn, vn, kp, vp, tb, sb, 0, NULL, NULL) ==
                 CLATTN_SUCCESS;
            for (size_t b = 0; b < B; b++)
                lens[b] += (int32_t)T;
            if (step < 0) continue;
            /* Attend. At step 0 sequence 1 leaves out its newest key (seqlens_k, not what was
             * appended, says which keys are attended). */
            if (step == 0) lens[1] -= 1;
            const float *qs = q_all + (size_t)step * B * HQ * D;
            clEnqueueWriteBuffer(queue, qb, CL_TRUE, 0, B * HQ * D * 4, qs, 0, NULL, NULL);
            clEnqueueWriteBuffer(queue, sb, CL_TRUE, 0, sizeof lens, lens, 0, NULL, NULL);
            clattn_attention_desc desc;
            clattn_attention_desc_init(&desc, B, HQ, HKV, 1, 1, D, D);
            clattn_attention_desc_paged(&desc, P, NP, MAXP);
            desc.causal = CLATTN_CAUSAL_BOTTOM_RIGHT;
            clattn_attention_buffers t = {
                .q = qb, .k = kp, .v = vp, .o = ob, .block_table = tb, .seqlens_k = sb};
            float o[B * HQ * D], want[B * HQ * D];
            ok = ok &&
                 clattn_enqueue_attention_ex(h, queue, &desc, &t, 0, NULL, NULL) == CLATTN_SUCCESS;
            ok = ok && clEnqueueReadBuffer(queue, ob, CL_TRUE, 0, sizeof o, o, 0, NULL, NULL) ==
                           CL_SUCCESS;
            for (size_t b = 0; b < B && ok; b++) { /* dense attention over the first lens[b] */
                clattn_attention_desc dd;
                clattn_attention_desc_init(&dd, 1, HQ, HKV, 1, (size_t)lens[b], D, D);
                dd.k.stride[1] = dd.v.stride[1] = N * D; /* rows of k_all's [HKV, N, D] */
                ok = clattn_ref_attention(&dd, qs + b * HQ * D, k_all + b * HKV * N * D,
                                          v_all + b * HKV * N * D, NULL, want + b * HQ * D,
                                          NULL) == CLATTN_SUCCESS;
            }
            char what[96];
            snprintf(what, sizeof what, "%s decode step %d", test_variant_name(test_variants[vi]),
                     step);
            ok = ok && test_close(o, want, COUNT(o), tolerance_atol(N), 1e-4, what);
            if (step == 0) lens[1] += 1; /* its token was appended: attended from step 1 */
        }
        CU_ASSERT(ok);
        clFinish(queue);
        cl_mem all[] = {kp, vp, kn, vn, qb, ob, tb, sb};
        for (size_t i = 0; i < COUNT(all); i++)
            clReleaseMemObject(all[i]);
    }
}

static void add_suites(void) {
    static const test_case attention[] = {
        {"paged cases", attention_cases}, {"invalid arguments", invalid_attention}, {NULL, NULL}};
    test_add_suite("paged_attention", attention);
    static const test_case append[] = {
        {"append cases", append_cases}, {"decode loop", decode_loop}, {NULL, NULL}};
    test_add_suite("paged_append", append);
    /* Small enough for Oclgrind, which reports any out-of-bounds access. */
    static const test_case small[] = {{"attention: bad device data", bad_device_data},
                                      {"append: bad device data", append_bad_device_data},
                                      {NULL, NULL}};
    test_add_suite("paged_small", small);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
