/* The fast CPU backend (clattn_cpu_*) against the double-accumulating reference, over awkward
 * sizes, masks, grouped heads, strides and edge values; plus its argument checks. */
#include "test_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t seed = 0x9e3779b97f4a7c15ull;

static float *alloc_fill(size_t n, float lo, float hi) {
    float *a = malloc((n ? n : 1) * sizeof *a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    test_fill(a, n, &seed, lo, hi);
    return a;
}

/* ---- the seed's operation ---------------------------------------------------------------- */

static const size_t seed_n[] = {1, 3, 7, 113, 4097, 70001};
static const size_t seed_d[] = {1, 3, 16, 17, 64, 80, 768};

static void test_scores(void) {
    for (size_t a = 0; a < sizeof seed_n / sizeof *seed_n; a++)
        for (size_t b = 0; b < sizeof seed_d / sizeof *seed_d; b++) {
            const size_t n = seed_n[a], d = seed_d[b];
            if (n * d > (1u << 24)) continue;
            float *x = alloc_fill(n * d, -1, 1), *q = alloc_fill(d, -1, 1);
            float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
            CU_ASSERT_FATAL(want && got);
            CU_ASSERT_EQUAL(clattn_ref_scores(n, d, 0.5f, x, q, want), CLATTN_SUCCESS);
            CU_ASSERT_EQUAL(clattn_cpu_scores(n, d, 0.5f, x, q, got), CLATTN_SUCCESS);
            /* Float sums of d products in 16 lanes then a pairwise lane sum: the error is at
             * most (d / 16 + 5) u sum|x_k q_k| (each lane adds d / 16 terms), and
             * sum|x_k q_k| <= d for data in [-1, 1); times the scale 0.5, doubled for margin. */
            const double atol = ((double)d / 16 + 5) * TEST_U * (double)d;
            CU_ASSERT(test_close(got, want, n, atol, 0, "cpu scores"));
            free(x), free(q), free(want), free(got);
        }
}

/* Same bits with 1 and 3 threads: the row split does not depend on the thread count. */
static void test_scores_threads(void) {
    const size_t n = 5003, d = 80;
    float *x = alloc_fill(n * d, -1, 1), *q = alloc_fill(d, -1, 1);
    float *one = malloc(n * sizeof *one), *three = malloc(n * sizeof *three);
    CU_ASSERT_FATAL(one && three);
    clattn_cpu_set_threads(1);
    CU_ASSERT_EQUAL(clattn_cpu_threads(), 1);
    CU_ASSERT_EQUAL(clattn_cpu_scores(n, d, 1.0f, x, q, one), CLATTN_SUCCESS);
    clattn_cpu_set_threads(3);
    CU_ASSERT_EQUAL(clattn_cpu_scores(n, d, 1.0f, x, q, three), CLATTN_SUCCESS);
    clattn_cpu_set_threads(0);
    CU_ASSERT(clattn_cpu_threads() >= 1);
    CU_ASSERT(memcmp(one, three, n * sizeof *one) == 0);
    free(x), free(q), free(one), free(three);
}

static void test_normalize(void) {
    const size_t sizes[] = {1, 2, 17, 4097, 16385, 100003};
    for (size_t a = 0; a < sizeof sizes / sizeof *sizes; a++) {
        const size_t n = sizes[a];
        /* SUM on positive scores (a well-conditioned sum), softmax on a wide range. */
        float *pos = alloc_fill(n, 0.5f, 1.5f), *wide = alloc_fill(n, -30, 30);
        float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
        CU_ASSERT_FATAL(want && got);
        /* Float sums: at most (16384 / 16 + chunks + 4) u relative error for positive terms,
         * over n / 16 terms per lane; exp2 by a polynomial within 2 ulp plus the rounding of
         * (s - max) * log2(e) (|s - max| <= 60: 60 u): together below 1e-5 + sum bound. */
        const double chunk = n < 16384 ? (double)n : 16384.0;
        const double rtol = 1e-5 + (chunk / 16 + (double)n / 16384 + 4) * TEST_U;
        CU_ASSERT_EQUAL(clattn_ref_normalize(CLATTN_NORM_SUM, n, pos, want), CLATTN_SUCCESS);
        CU_ASSERT_EQUAL(clattn_cpu_normalize(CLATTN_NORM_SUM, n, pos, got), CLATTN_SUCCESS);
        CU_ASSERT(test_close(got, want, n, 0, rtol, "cpu normalize sum"));
        CU_ASSERT_EQUAL(clattn_ref_normalize(CLATTN_NORM_SOFTMAX, n, wide, want), CLATTN_SUCCESS);
        CU_ASSERT_EQUAL(clattn_cpu_normalize(CLATTN_NORM_SOFTMAX, n, wide, got), CLATTN_SUCCESS);
        CU_ASSERT(test_close(got, want, n, 1e-30, rtol, "cpu normalize softmax"));
        /* In place and NONE. */
        memcpy(got, wide, n * sizeof *got);
        CU_ASSERT_EQUAL(clattn_cpu_normalize(CLATTN_NORM_SOFTMAX, n, got, got), CLATTN_SUCCESS);
        CU_ASSERT(test_close(got, want, n, 1e-30, rtol, "cpu normalize in place"));
        CU_ASSERT_EQUAL(clattn_cpu_normalize(CLATTN_NORM_NONE, n, wide, got), CLATTN_SUCCESS);
        CU_ASSERT(memcmp(got, wide, n * sizeof *got) == 0);
        free(pos), free(wide), free(want), free(got);
    }
}

static void test_normalize_edges(void) {
    const float inf = INFINITY;
    float all_masked[5] = {-inf, -inf, -inf, -inf, -inf}, w[5];
    CU_ASSERT_EQUAL(clattn_cpu_normalize(CLATTN_NORM_SOFTMAX, 5, all_masked, w), CLATTN_SUCCESS);
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(w[i], 0.0f);
    float some[4] = {-inf, 1.0f, -inf, 1.0f};
    CU_ASSERT_EQUAL(clattn_cpu_normalize(CLATTN_NORM_SOFTMAX, 4, some, w), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(w[0], 0.0f);
    CU_ASSERT_DOUBLE_EQUAL(w[1], 0.5, 1e-7);
    float with_nan[3] = {1.0f, NAN, 2.0f};
    CU_ASSERT_EQUAL(clattn_cpu_normalize(CLATTN_NORM_SOFTMAX, 3, with_nan, w), CLATTN_SUCCESS);
    for (int i = 0; i < 3; i++)
        CU_ASSERT(isnan(w[i]));
    /* Large scores: subtracting the maximum keeps exp finite. */
    float big[2] = {1000.0f, 1000.0f};
    CU_ASSERT_EQUAL(clattn_cpu_normalize(CLATTN_NORM_SOFTMAX, 2, big, w), CLATTN_SUCCESS);
    CU_ASSERT_DOUBLE_EQUAL(w[0], 0.5, 1e-7);
}

static void test_context_and_pipeline(void) {
    for (size_t a = 0; a < sizeof seed_n / sizeof *seed_n; a++)
        for (size_t b = 0; b < sizeof seed_d / sizeof *seed_d; b += 2) {
            const size_t n = seed_n[a], d = seed_d[b];
            if (n * d > (1u << 24)) continue;
            float *x = alloc_fill(n * d, -1, 1), *q = alloc_fill(d, -1, 1);
            float *s = malloc(n * sizeof *s), *w = malloc(n * sizeof *w);
            float *want = malloc(d * sizeof *want), *got = malloc(d * sizeof *got);
            CU_ASSERT_FATAL(s && w && want && got);
            /* Context from the same (reference) weights: a sum of n terms of size w_j |v| with
             * sum w_j = 1, so the float error is at most (rows per task + tasks + 4) u <= (n +
             * 4) u. */
            clattn_ref_scores(n, d, 1.0f / sqrtf((float)d), x, q, s);
            clattn_ref_normalize(CLATTN_NORM_SOFTMAX, n, s, w);
            CU_ASSERT_EQUAL(clattn_ref_context(n, d, w, x, want), CLATTN_SUCCESS);
            CU_ASSERT_EQUAL(clattn_cpu_context(n, d, w, x, got), CLATTN_SUCCESS);
            CU_ASSERT(test_close(got, want, d, ((double)n + 4) * TEST_U, 0, "cpu context"));
            /* The pipeline: errors of the scores (as above) pass into exp, so add their
             * bound to the weights' relative tolerance. */
            const double s_err = ((double)d / 16 + 5) * TEST_U * (double)d / sqrt((double)d);
            float *w2 = malloc(n * sizeof *w2);
            CU_ASSERT_FATAL(w2 != NULL);
            CU_ASSERT_EQUAL(clattn_cpu_query_attention(n, d, x, q, NULL, 1.0f / sqrtf((float)d),
                                                       CLATTN_NORM_SOFTMAX, NULL, w2, got),
                            CLATTN_SUCCESS);
            CU_ASSERT(test_close(w2, w, n, 1e-30, 2e-5 + 2 * s_err, "cpu pipeline weights"));
            CU_ASSERT(test_close(got, want, d, ((double)n + 4) * TEST_U + 2 * s_err, 2e-5,
                                 "cpu pipeline context"));
            free(x), free(q), free(s), free(w), free(w2), free(want), free(got);
        }
}

static void test_seed_invalid(void) {
    float a[4] = {1, 2, 3, 4}, out[4];
    CU_ASSERT_EQUAL(clattn_cpu_scores(0, 2, 1, a, a, out), CLATTN_ERROR_INVALID_SIZE);
    CU_ASSERT_EQUAL(clattn_cpu_scores(2, 0, 1, a, a, out), CLATTN_ERROR_INVALID_SIZE);
    CU_ASSERT_EQUAL(clattn_cpu_scores(2, 2, 1, NULL, a, out), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_cpu_scores(SIZE_MAX / 2, 4, 1, a, a, out), CLATTN_ERROR_SIZE_OVERFLOW);
    CU_ASSERT_EQUAL(clattn_cpu_normalize((clattn_norm)7, 4, a, out), CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_cpu_normalize(CLATTN_NORM_SUM, 3, a, a + 1), CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_cpu_normalize(CLATTN_NORM_SUM, 0, a, out), CLATTN_ERROR_INVALID_SIZE);
    CU_ASSERT_EQUAL(clattn_cpu_context(2, 2, a, NULL, out), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(
        clattn_cpu_query_attention(2, 2, a, a, NULL, 1, CLATTN_NORM_SUM, NULL, NULL, NULL),
        CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT(strlen(clattn_last_error_message()) > 0);
}

/* ---- fused attention --------------------------------------------------------------------- */

typedef struct attn_case {
    size_t batch, q_heads, kv_heads, m, n, d, dv;
    clattn_causal causal;
    clattn_mask_kind mask;
    clattn_norm norm;
    size_t pad;    /* extra elements per row and a leading offset: strided layouts */
    size_t splits; /* desc.kv_splits */
} attn_case;

static const attn_case attn_cases[] = {
    {1, 1, 1, 1, 1, 1, 1, CLATTN_CAUSAL_NONE, CLATTN_MASK_NONE, CLATTN_NORM_SOFTMAX, 0, 0},
    {1, 2, 1, 7, 113, 64, 64, CLATTN_CAUSAL_NONE, CLATTN_MASK_NONE, CLATTN_NORM_SOFTMAX, 0, 0},
    {2, 4, 2, 65, 130, 80, 48, CLATTN_CAUSAL_TOP_LEFT, CLATTN_MASK_NONE, CLATTN_NORM_SOFTMAX, 0, 0},
    {1, 3, 3, 129, 67, 3, 5, CLATTN_CAUSAL_BOTTOM_RIGHT, CLATTN_MASK_NONE, CLATTN_NORM_SOFTMAX, 0,
     0},
    {1, 2, 2, 40, 200, 128, 128, CLATTN_CAUSAL_BOTTOM_RIGHT, CLATTN_MASK_NONE, CLATTN_NORM_SOFTMAX,
     3, 0},
    {2, 2, 1, 33, 97, 16, 16, CLATTN_CAUSAL_NONE, CLATTN_MASK_ADDITIVE, CLATTN_NORM_SOFTMAX, 0, 0},
    {1, 2, 2, 70, 70, 17, 33, CLATTN_CAUSAL_TOP_LEFT, CLATTN_MASK_BOOLEAN, CLATTN_NORM_SOFTMAX, 5,
     0},
    {1, 1, 1, 31, 77, 32, 32, CLATTN_CAUSAL_NONE, CLATTN_MASK_NONE, CLATTN_NORM_SUM, 0, 0},
    {1, 2, 1, 20, 90, 8, 8, CLATTN_CAUSAL_TOP_LEFT, CLATTN_MASK_BOOLEAN, CLATTN_NORM_SUM, 2, 0},
    {1, 4, 1, 1, 5000, 64, 64, CLATTN_CAUSAL_NONE, CLATTN_MASK_NONE, CLATTN_NORM_SOFTMAX, 0, 0},
    {2, 2, 2, 3, 1000, 256, 80, CLATTN_CAUSAL_BOTTOM_RIGHT, CLATTN_MASK_ADDITIVE,
     CLATTN_NORM_SOFTMAX, 1, 3},
    {1, 1, 1, 300, 300, 128, 128, CLATTN_CAUSAL_TOP_LEFT, CLATTN_MASK_NONE, CLATTN_NORM_SOFTMAX, 0,
     0},
    /* GQA decoding, the group's heads as the rows of one pass over K/V: 8 heads of one row
     * (register tiles, split-KV), 4 heads of 3 rows (masks, strides), and 8 heads of 20 rows
     * (two row blocks of 16 rows per head). */
    {1, 8, 1, 1, 4097, 128, 128, CLATTN_CAUSAL_NONE, CLATTN_MASK_NONE, CLATTN_NORM_SOFTMAX, 0, 0},
    {2, 8, 2, 3, 1001, 64, 64, CLATTN_CAUSAL_BOTTOM_RIGHT, CLATTN_MASK_ADDITIVE,
     CLATTN_NORM_SOFTMAX, 1, 0},
    {1, 8, 1, 20, 333, 32, 32, CLATTN_CAUSAL_TOP_LEFT, CLATTN_MASK_BOOLEAN, CLATTN_NORM_SOFTMAX, 0,
     0},
    /* Remainders of both register tiles (8 x 32, 4 x 16): rows not a multiple of 4 in the last
     * block, a last key block of 22, value columns 16 + 16 + 8 and 32 + 8. */
    {1, 2, 1, 221, 150, 40, 40, CLATTN_CAUSAL_TOP_LEFT, CLATTN_MASK_NONE, CLATTN_NORM_SOFTMAX, 0,
     0},
};

/* Model variants applied to every case run while set (the "variants" test). */
typedef struct attn_extras {
    float softcap;
    int alibi, window;
    long left, right;
} attn_extras;
static attn_extras extras;

/* Lays out a [B, H, rows, cols] tensor with `pad` extra elements per row and an offset of
 * `pad`; returns the element count. */
static size_t layout(clattn_layout *l, size_t b, size_t h, size_t rows, size_t cols, size_t pad) {
    l->offset = pad;
    l->stride[2] = cols + pad;
    l->stride[1] = rows * l->stride[2];
    l->stride[0] = h * l->stride[1];
    return pad + b * l->stride[0];
}

static void run_attention_case(const attn_case *c) {
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, c->batch, c->q_heads, c->kv_heads, c->m, c->n, c->d, c->dv);
    desc.causal = c->causal;
    desc.mask_kind = c->mask;
    desc.norm = c->norm;
    desc.kv_splits = c->splits;
    desc.softcap = extras.softcap;
    desc.alibi = extras.alibi;
    desc.window = extras.window;
    desc.window_left = extras.left;
    desc.window_right = extras.right;
    size_t nq = layout(&desc.q, c->batch, c->q_heads, c->m, c->d, c->pad);
    size_t nk = layout(&desc.k, c->batch, c->kv_heads, c->n, c->d, c->pad);
    size_t nv = layout(&desc.v, c->batch, c->kv_heads, c->n, c->dv, c->pad);
    size_t no = layout(&desc.o, c->batch, c->q_heads, c->m, c->dv, c->pad);
    size_t nl = c->batch * c->q_heads * c->m;
    /* The mask: per head (strided) when padded, else one [M, N] broadcast (strides 0). */
    size_t nm = layout(&desc.mask, c->batch, c->q_heads, c->m, c->n, c->pad);
    if (!c->pad) desc.mask.stride[0] = desc.mask.stride[1] = 0, nm = c->m * c->n;
    /* SUM needs well-conditioned sums: positive scores. */
    const float lo = c->norm == CLATTN_NORM_SUM ? 0.1f : -1.0f;
    float *q = alloc_fill(nq, lo, 1), *k = alloc_fill(nk, lo, 1), *v = alloc_fill(nv, -1, 1);
    float *o_ref = calloc(no, sizeof(float)), *o = calloc(no, sizeof(float));
    float *lse_ref = malloc(nl * sizeof(float)), *lse = malloc(nl * sizeof(float));
    void *mask = NULL;
    if (c->mask == CLATTN_MASK_ADDITIVE) {
        float *mf = alloc_fill(nm, -2, 2);
        for (size_t i = 0; i < nm; i += 3)
            mf[i] = -INFINITY;
        /* One fully masked row (row 1 of the first head). */
        for (size_t j = 0; j < c->n && c->m > 1; j++)
            mf[desc.mask.offset + desc.mask.stride[2] + j] = -INFINITY;
        mask = mf;
    } else if (c->mask == CLATTN_MASK_BOOLEAN) {
        unsigned char *mb = malloc(nm);
        CU_ASSERT_FATAL(mb != NULL);
        for (size_t i = 0; i < nm; i++)
            mb[i] = (unsigned char)((i * 7 + i / 5) % 3 != 0);
        mask = mb;
    }
    CU_ASSERT_FATAL(q && k && v && o_ref && o && lse_ref && lse);
    CU_ASSERT_EQUAL_FATAL(clattn_ref_attention(&desc, q, k, v, mask, o_ref, lse_ref),
                          CLATTN_SUCCESS);
    clattn_status st = clattn_cpu_attention(&desc, q, k, v, mask, o, lse);
    CU_ASSERT_EQUAL(st, CLATTN_SUCCESS);
    if (st)
        printf("\n  cpu attention: %s: %s\n", clattn_status_string(st),
               clattn_last_error_message());
    /* Scores: float dot products of length d, error <= d u sum|q k| * scale <= d u sqrt(d)
     * for data in [-1, 1). A score error e changes a softmax weight by a relative e, and the
     * output (a convex combination of |v| < 1) by at most 2e; the output sum adds n u (a
     * float sum of n terms of size w_j |v|), exp2 a few ulp. SUM weights s_j / sum s with
     * positive s: the same bounds. */
    const double dd = (double)c->d;
    /* ALiBi's biases reach slope (N + M) with slope <= 1/2: float scores that large carry
     * an absolute rounding error of about their size times u. */
    const double alibi_atol = extras.alibi ? 4.0 * (double)(c->n + c->m) * TEST_U : 0.0;
    const double atol = 2 * dd * sqrt(dd) * TEST_U + ((double)c->n + 64) * TEST_U + alibi_atol;
    char what[192];
    snprintf(what, sizeof what,
             "cpu attention %zux%zux%zu m%zu n%zu d%zu dv%zu causal%d mask%d norm%d softcap %g "
             "alibi %d window %d (%ld, %ld)",
             c->batch, c->q_heads, c->kv_heads, c->m, c->n, c->d, c->dv, (int)c->causal,
             (int)c->mask, (int)c->norm, (double)extras.softcap, extras.alibi, extras.window,
             extras.left, extras.right);
    CU_ASSERT(test_close(o, o_ref, no, atol, 0, what));
    /* LSE: log of the sum, absolute error about the relative error of the sum. */
    CU_ASSERT(test_close(lse, lse_ref, nl, atol + 1e-6, 1e-6, "cpu attention lse"));
    /* Padding between rows is never written. */
    if (c->pad) CU_ASSERT_EQUAL(o[0], 0.0f);
    free(q), free(k), free(v), free(o_ref), free(o), free(lse_ref), free(lse), free(mask);
}

static void test_attention(void) {
    for (size_t i = 0; i < sizeof attn_cases / sizeof *attn_cases; i++)
        run_attention_case(&attn_cases[i]);
}

/* Softcap, ALiBi and sliding windows (in a key block, across blocks, one-sided, empty rows)
 * over every case above: odd sizes, GQA, both causal alignments, masks, strides, split-KV. */
static void test_attention_variants(void) {
    static const attn_extras variants[] = {
        {1.5f, 0, 0, 0, 0},  {0.0f, 1, 0, 0, 0},  {0.0f, 0, 1, 5, 0}, {0.0f, 0, 1, 70, 3},
        {0.0f, 0, 1, -1, 0}, {0.0f, 0, 1, 0, -1}, {0.0f, 0, 1, 0, 0}, {2.0f, 1, 1, 100, 7},
    };
    for (size_t x = 0; x < sizeof variants / sizeof *variants; x++) {
        extras = variants[x];
        for (size_t i = 0; i < sizeof attn_cases / sizeof *attn_cases; i++)
            if (attn_cases[i].norm == CLATTN_NORM_SOFTMAX || !extras.alibi)
                run_attention_case(&attn_cases[i]);
    }
    extras = (attn_extras){0.0f, 0, 0, 0, 0};
}

/* Different thread counts and forced splits give the same result within rounding. */
static void test_attention_threads(void) {
    attn_case c = {
        1, 2, 1, 1, 3000, 64, 64, CLATTN_CAUSAL_NONE, CLATTN_MASK_NONE, CLATTN_NORM_SOFTMAX, 0, 0};
    for (unsigned t = 1; t <= 3; t++) {
        clattn_cpu_set_threads(t);
        run_attention_case(&c);
        c.splits = t + 4;
        run_attention_case(&c);
        c.splits = 0;
    }
    clattn_cpu_set_threads(0);
}

static void test_attention_nan(void) {
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, 1, 1, 1, 3, 70, 4, 4);
    float q[12], k[280], v[280], o[12], lse[3];
    for (int i = 0; i < 12; i++)
        q[i] = 0.1f * (float)i;
    for (int i = 0; i < 280; i++)
        k[i] = v[i] = 0.01f * (float)(i % 13);
    q[4] = NAN; /* row 1 */
    CU_ASSERT_EQUAL(clattn_cpu_attention(&desc, q, k, v, NULL, o, lse), CLATTN_SUCCESS);
    for (int c = 0; c < 4; c++) {
        CU_ASSERT(isnan(o[4 + c]));
        CU_ASSERT(!isnan(o[c]) && !isnan(o[8 + c]));
    }
    CU_ASSERT(isnan(lse[1]));
}

/* A mask row broadcast to every query row (row stride 0: a key-padding mask [B, N]) gives the
 * same bits as the same rows written out [B, M, N], in the CPU backend and the reference; a
 * row stride between 0 and N is still a layout mistake. */
static void test_attention_row_broadcast(void) {
    const size_t b = 2, h = 3, m = 37, n = 45, d = 16;
    float *q = alloc_fill(b * h * m * d, -1, 1), *k = alloc_fill(b * h * n * d, -1, 1);
    float *v = alloc_fill(b * h * n * d, -1, 1), *rows = alloc_fill(b * n, -1, 1);
    float *full = malloc(b * m * n * sizeof *full), *o = malloc(b * h * m * d * sizeof *o);
    float *o_full = malloc(b * h * m * d * sizeof *o_full);
    unsigned char *brows = malloc(b * n), *bfull = malloc(b * m * n);
    CU_ASSERT_FATAL(full && o && o_full && brows && bfull);
    for (size_t j = 0; j < b * n; j++) {
        brows[j] = rows[j] > -0.5f;
        if (!brows[j]) rows[j] = -INFINITY;
    }
    for (size_t bi = 0; bi < b; bi++)
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) {
                full[(bi * m + i) * n + j] = rows[bi * n + j];
                bfull[(bi * m + i) * n + j] = brows[bi * n + j];
            }
    clattn_status (*const impl[2])(const clattn_attention_desc *, const float *, const float *,
                                   const float *, const void *, float *,
                                   float *) = {clattn_cpu_attention, clattn_ref_attention};
    for (int f = 0; f < 2; f++)
        for (int kind = CLATTN_MASK_ADDITIVE; kind <= CLATTN_MASK_BOOLEAN; kind++) {
            const bool boolean = kind == CLATTN_MASK_BOOLEAN;
            clattn_attention_desc desc;
            clattn_attention_desc_init(&desc, b, h, h, m, n, d, d);
            desc.causal = CLATTN_CAUSAL_TOP_LEFT;
            desc.mask_kind = (clattn_mask_kind)kind;
            desc.mask = (clattn_layout){0, {n, 0, 0}};
            CU_ASSERT_EQUAL(impl[f](&desc, q, k, v, boolean ? (void *)brows : rows, o, NULL), 0);
            desc.mask = (clattn_layout){0, {m * n, 0, n}};
            CU_ASSERT_EQUAL(impl[f](&desc, q, k, v, boolean ? (void *)bfull : full, o_full, NULL),
                            0);
            CU_ASSERT(memcmp(o, o_full, b * h * m * d * sizeof *o) == 0);
            desc.mask = (clattn_layout){0, {n, 0, 1}};
            CU_ASSERT_EQUAL(impl[f](&desc, q, k, v, rows, o, NULL), CLATTN_ERROR_INVALID_SHAPE);
        }
    free(q), free(k), free(v), free(rows), free(full), free(o), free(o_full), free(brows);
    free(bfull);
}

static void test_attention_invalid(void) {
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, 1, 2, 1, 4, 4, 4, 4);
    float a[64] = {0};
    CU_ASSERT_EQUAL(clattn_cpu_attention(NULL, a, a, a, NULL, a, NULL), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_cpu_attention(&desc, a, NULL, a, NULL, a, NULL),
                    CLATTN_ERROR_NULL_POINTER);
    desc.kv_heads = 3;
    CU_ASSERT_EQUAL(clattn_cpu_attention(&desc, a, a, a, NULL, a, NULL),
                    CLATTN_ERROR_INVALID_SHAPE);
    desc.kv_heads = 1;
    desc.m = 0;
    CU_ASSERT_EQUAL(clattn_cpu_attention(&desc, a, a, a, NULL, a, NULL), CLATTN_ERROR_INVALID_SIZE);
    desc.m = 4;
    desc.norm = CLATTN_NORM_NONE;
    CU_ASSERT_EQUAL(clattn_cpu_attention(&desc, a, a, a, NULL, a, NULL),
                    CLATTN_ERROR_INVALID_VALUE);
    desc.norm = CLATTN_NORM_SOFTMAX;
    desc.causal = (clattn_causal)9;
    CU_ASSERT_EQUAL(clattn_cpu_attention(&desc, a, a, a, NULL, a, NULL),
                    CLATTN_ERROR_INVALID_VALUE);
    desc.causal = CLATTN_CAUSAL_NONE;
    desc.mask_kind = CLATTN_MASK_BOOLEAN;
    CU_ASSERT_EQUAL(clattn_cpu_attention(&desc, a, a, a, NULL, a, NULL), CLATTN_ERROR_NULL_POINTER);
    desc.mask_kind = CLATTN_MASK_NONE;
    desc.q.stride[2] = 2;
    CU_ASSERT_EQUAL(clattn_cpu_attention(&desc, a, a, a, NULL, a, NULL),
                    CLATTN_ERROR_INVALID_SHAPE);
    desc.q.stride[2] = 4;
    /* The model variants' fields. */
    const float bad_caps[] = {-1.0f, NAN, INFINITY};
    for (int i = 0; i < 3; i++) {
        desc.softcap = bad_caps[i];
        CU_ASSERT_EQUAL(clattn_cpu_attention(&desc, a, a, a, NULL, a, NULL),
                        CLATTN_ERROR_INVALID_VALUE);
        CU_ASSERT_EQUAL(clattn_ref_attention(&desc, a, a, a, NULL, a, NULL),
                        CLATTN_ERROR_INVALID_VALUE);
    }
    desc.softcap = 0.0f;
    desc.window = 1;
    desc.window_left = -2;
    CU_ASSERT_EQUAL(clattn_cpu_attention(&desc, a, a, a, NULL, a, NULL),
                    CLATTN_ERROR_INVALID_VALUE);
    desc.window_left = 3;
    desc.window_right = -5;
    CU_ASSERT_EQUAL(clattn_cpu_attention(&desc, a, a, a, NULL, a, NULL),
                    CLATTN_ERROR_INVALID_VALUE);
    desc.window_right = -1;
    CU_ASSERT_EQUAL(clattn_cpu_attention(&desc, a, a, a, NULL, a, NULL), CLATTN_SUCCESS);
    /* Unset window: its sizes are not read. */
    desc.window = 0;
    desc.window_left = -7;
    CU_ASSERT_EQUAL(clattn_cpu_attention(&desc, a, a, a, NULL, a, NULL), CLATTN_SUCCESS);
    /* The weights path takes no variant. */
    desc.alibi = 1;
    CU_ASSERT_EQUAL(clattn_ref_attention_weights(&desc, a, a, NULL, a), CLATTN_ERROR_INVALID_VALUE);
}

static void add_suites(void) {
    static const test_case seed_cases[] = {{"scores", test_scores},
                                           {"scores_threads", test_scores_threads},
                                           {"normalize", test_normalize},
                                           {"normalize_edges", test_normalize_edges},
                                           {"context_and_pipeline", test_context_and_pipeline},
                                           {"invalid", test_seed_invalid},
                                           {NULL, NULL}};
    static const test_case attn_cases_list[] = {
        {"attention", test_attention},
        {"threads_and_splits", test_attention_threads},
        {"nan", test_attention_nan},
        {"mask_row_broadcast", test_attention_row_broadcast},
        {"variants", test_attention_variants},
        {"invalid", test_attention_invalid},
        {NULL, NULL}};
    test_add_suite("cpu_seed", seed_cases);
    test_add_suite("cpu_attention", attn_cases_list);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
