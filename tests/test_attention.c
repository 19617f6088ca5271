/* The fused attention (clattn_attention / clattn_enqueue_attention) against the double
 * precision CPU reference, on both kernel shapes, over head dims, lengths, causal modes,
 * masks, grouped heads, strided layouts, split-KV, LSE and SUM normalisation; plus invalid
 * arguments and the enqueue contract.
 *
 * Tolerance: every output row is a convex combination of V rows (softmax, or SUM with
 * positive scores) with |v| <= 1. In float32 the scores carry a relative error of a few u
 * times sqrt(D) (the pre-scaled q, fma chains), which moves each weight by about that
 * relative amount, and the running sums over N keys add about sqrt(N) u (random-walk
 * rounding; the online rescaling adds a few u per key block). With u = 2^-24, D <= 256 and
 * N <= 4097 that is ~1e-6; we allow atol = 2e-5 + 64 u sqrt(N), rtol = 1e-4, about 10x the
 * worst error observed, while an indexing or masking bug gives errors ~0.1-1. */
#include "test_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD 12345.0f

typedef struct attn_case {
    size_t batch, hq, hkv, m, n, d, dv;
    clattn_causal causal;
    clattn_mask_kind mask;
    clattn_norm norm;
    size_t splits;   /* desc.kv_splits */
    bool strided;    /* offsets, padded row/head/batch strides, per-head mask */
    bool masked_row; /* the mask hides every key of row m / 2 */
} attn_case;

/* A layout with an offset and gaps between rows, heads and batches. */
static void padded_layout(clattn_layout *l, size_t heads, size_t rows, size_t cols, size_t salt) {
    l->offset = 3 + salt;
    l->stride[2] = cols + 1 + salt % 3;
    l->stride[1] = rows * l->stride[2] + 5;
    l->stride[0] = heads * l->stride[1] + 2 + salt;
}

static size_t span(const clattn_layout *l, size_t b, size_t h, size_t rows, size_t cols) {
    return l->offset + (b - 1) * l->stride[0] + (h - 1) * l->stride[1] + (rows - 1) * l->stride[2] +
           cols;
}

/* The model variants (softcap, ALiBi, sliding window) applied to every case run while set:
 * the attention_variants suite sets them around its cases. */
typedef struct attn_extras {
    float softcap;
    int alibi, window;
    long left, right;
} attn_extras;
static attn_extras extras;

static double tolerance_atol(size_t n) {
    return 2e-5 + 64.0 * TEST_U * sqrt((double)n);
}

/* Runs one case on one variant; returns true when everything matched. */
static bool run_case(clattn_variant variant, const attn_case *c, uint64_t seed) {
    clattn_handle *h = test_handle(variant);
    if (!h) return false;
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, c->batch, c->hq, c->hkv, c->m, c->n, c->d, c->dv);
    desc.causal = c->causal;
    desc.mask_kind = c->mask;
    desc.norm = c->norm;
    desc.kv_splits = c->splits;
    desc.softcap = extras.softcap;
    desc.alibi = extras.alibi;
    desc.window = extras.window;
    desc.window_left = extras.left;
    desc.window_right = extras.right;
    if (c->strided) {
        padded_layout(&desc.q, c->hq, c->m, c->d, 0);
        padded_layout(&desc.k, c->hkv, c->n, c->d, 1);
        padded_layout(&desc.v, c->hkv, c->n, c->dv, 2);
        padded_layout(&desc.o, c->hq, c->m, c->dv, 3);
        padded_layout(&desc.mask, c->hq, c->m, c->n, 4);
        desc.lse.offset = 7;
        desc.lse.stride[2] = 2;
        desc.lse.stride[1] = 2 * c->m + 1;
        desc.lse.stride[0] = c->hq * desc.lse.stride[1] + 3;
    }
    const size_t nq = span(&desc.q, c->batch, c->hq, c->m, c->d);
    const size_t nk = span(&desc.k, c->batch, c->hkv, c->n, c->d);
    const size_t nv = span(&desc.v, c->batch, c->hkv, c->n, c->dv);
    const size_t no = span(&desc.o, c->batch, c->hq, c->m, c->dv) + 16; /* guard after */
    const size_t nl = span(&desc.lse, c->batch, c->hq, c->m, 1) + 16;
    const size_t nm =
        c->mask ? span(&desc.mask, c->strided ? c->batch : 1, c->strided ? c->hq : 1, c->m, c->n)
                : 1;
    float *q = malloc(nq * sizeof *q), *k = malloc(nk * sizeof *k), *v = malloc(nv * sizeof *v);
    float *o = malloc(no * sizeof *o), *o_ref = malloc(no * sizeof *o);
    float *lse = malloc(nl * sizeof *lse), *lse_ref = malloc(nl * sizeof *lse);
    float *fmask = malloc(nm * sizeof *fmask);
    unsigned char *bmask = malloc(nm);
    if (!q || !k || !v || !o || !o_ref || !lse || !lse_ref || !fmask || !bmask) {
        fprintf(stderr, "out of memory\n");
        return false;
    }
    /* SUM normalisation divides by the sum of scores: keep them positive (well-conditioned). */
    const float lo = c->norm == CLATTN_NORM_SUM ? 0.0f : -1.0f;
    test_fill(q, nq, &seed, lo, 1.0f);
    test_fill(k, nk, &seed, lo, 1.0f);
    test_fill(v, nv, &seed, -1.0f, 1.0f);
    test_fill(fmask, nm, &seed, 0.0f, 1.0f);
    for (size_t i = 0; i < nm; i++) {
        bmask[i] = fmask[i] < 0.7f;
        /* Additive: mostly small penalties, some -inf (SUM: small positive shifts). */
        fmask[i] = c->norm == CLATTN_NORM_SUM ? 0.25f * fmask[i]
                   : fmask[i] < 0.15f         ? -INFINITY
                                              : -2.0f * fmask[i];
    }
    if (c->mask && c->masked_row) {
        const size_t base = desc.mask.offset + (c->m / 2) * desc.mask.stride[2];
        for (size_t j = 0; j < c->n; j++) {
            fmask[base + j] = -INFINITY;
            bmask[base + j] = 0;
        }
    }
    for (size_t i = 0; i < no; i++)
        o[i] = o_ref[i] = GUARD;
    for (size_t i = 0; i < nl; i++)
        lse[i] = lse_ref[i] = GUARD;
    const void *mask = c->mask == CLATTN_MASK_BOOLEAN ? (const void *)bmask : (const void *)fmask;

    bool ok = true;
    clattn_status status = clattn_attention(h, &desc, q, k, v, c->mask ? mask : NULL, o, lse);
    if (status) {
        fprintf(stderr, "\n    clattn_attention: %s: %s\n", clattn_status_string(status),
                clattn_last_error_message());
        ok = false;
    }
    if (ok && clattn_ref_attention(&desc, q, k, v, c->mask ? mask : NULL, o_ref, lse_ref))
        ok = false;
    if (ok) {
        char what[256];
        snprintf(what, sizeof what,
                 "%s O (B %zu Hq %zu Hkv %zu M %zu N %zu D %zu Dv %zu causal %d mask %d norm %d "
                 "splits %zu%s softcap %g alibi %d window %d (%ld, %ld))",
                 test_variant_name(variant), c->batch, c->hq, c->hkv, c->m, c->n, c->d, c->dv,
                 (int)c->causal, (int)c->mask, (int)c->norm, c->splits,
                 c->strided ? " strided" : "", (double)extras.softcap, extras.alibi, extras.window,
                 extras.left, extras.right);
        /* The guards (between strided rows and after the end) must match too: untouched. */
        ok = test_close(o, o_ref, no, tolerance_atol(c->n), 1e-4, what);
        /* LSE = max + log(sum): absolute error ~ u (|max| + log N) + relative error of sum. */
        ok = test_close(lse, lse_ref, nl, 1e-5, 1e-5, "LSE") && ok;
    }
    free(q), free(k), free(v), free(o), free(o_ref), free(lse), free(lse_ref), free(fmask),
        free(bmask);
    return ok;
}

static void run_cases(const attn_case *cases, size_t count, bool both_variants) {
    for (size_t i = 0; i < count; i++)
        for (int vi = 0; vi < (both_variants ? 2 : 1); vi++)
            CU_ASSERT(run_case(test_variants[vi], &cases[i], 0x9e3779b97f4a7c15ull + i));
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define SM       CLATTN_NORM_SOFTMAX

/* Head dims {1, 3, 64, 80, 128, 256} with assorted lengths, M != N included. */
static void head_dims(void) {
    static const attn_case cases[] = {
        {1, 1, 1, 7, 7, 1, 1, 0, 0, SM, 1, false, false},
        {1, 1, 1, 113, 7, 3, 3, 0, 0, SM, 1, false, false},
        {1, 1, 1, 7, 113, 64, 64, 0, 0, SM, 1, false, false},
        {1, 1, 1, 113, 113, 80, 80, 0, 0, SM, 1, false, false},
        {1, 1, 1, 113, 1000, 128, 128, 0, 0, SM, 1, false, false},
        {1, 1, 1, 7, 113, 256, 256, 0, 0, SM, 1, false, false},
        {1, 1, 1, 1, 1, 64, 64, 0, 0, SM, 1, false, false},
        {1, 1, 1, 1, 113, 3, 80, 0, 0, SM, 1, false, false},
        {1, 1, 1, 113, 1, 80, 3, 0, 0, SM, 1, false, false},
    };
    run_cases(cases, COUNT(cases), true);
}

/* Long sequences: CPU shape only at the largest size (the GPU shape is slow on PoCL). */
static void long_sequences(void) {
    static const attn_case both[] = {
        {1, 1, 1, 1000, 1000, 64, 64, CLATTN_CAUSAL_TOP_LEFT, 0, SM, 1, false, false},
    };
    static const attn_case cpu[] = {
        {1, 1, 1, 1000, 4097, 64, 64, 0, 0, SM, 1, false, false},
        {1, 1, 1, 4097, 113, 128, 128, CLATTN_CAUSAL_BOTTOM_RIGHT, 0, SM, 1, false, false},
        {1, 1, 1, 1, 4097, 128, 128, 0, 0, SM, 0, false, false},
    };
    run_cases(both, COUNT(both), true);
    run_cases(cpu, COUNT(cpu), false);
}

static void causal(void) {
    static const attn_case cases[] = {
        {1, 1, 1, 113, 113, 64, 64, CLATTN_CAUSAL_TOP_LEFT, 0, SM, 1, false, false},
        {1, 1, 1, 7, 113, 64, 64, CLATTN_CAUSAL_TOP_LEFT, 0, SM, 1, false, false},
        {1, 1, 1, 113, 7, 64, 64, CLATTN_CAUSAL_TOP_LEFT, 0, SM, 1, false, false},
        {1, 1, 1, 7, 113, 80, 80, CLATTN_CAUSAL_BOTTOM_RIGHT, 0, SM, 1, false, false},
        /* M > N bottom-right: the first M - N rows see no key (zeros, LSE -inf). */
        {1, 1, 1, 113, 7, 3, 3, CLATTN_CAUSAL_BOTTOM_RIGHT, 0, SM, 1, false, false},
        {2, 2, 1, 113, 200, 64, 64, CLATTN_CAUSAL_BOTTOM_RIGHT, 0, SM, 1, false, false},
    };
    run_cases(cases, COUNT(cases), true);
}

static void masks(void) {
    static const attn_case cases[] = {
        {1, 1, 1, 113, 113, 64, 64, 0, CLATTN_MASK_ADDITIVE, SM, 1, false, true},
        {1, 1, 1, 113, 113, 64, 64, 0, CLATTN_MASK_BOOLEAN, SM, 1, false, true},
        {1, 1, 1, 7, 1000, 80, 80, CLATTN_CAUSAL_BOTTOM_RIGHT, CLATTN_MASK_BOOLEAN, SM, 1, false,
         true},
        {2, 4, 2, 113, 7, 3, 3, CLATTN_CAUSAL_TOP_LEFT, CLATTN_MASK_ADDITIVE, SM, 1, true, true},
        {2, 2, 2, 33, 70, 16, 16, 0, CLATTN_MASK_BOOLEAN, SM, 1, true, false},
    };
    run_cases(cases, COUNT(cases), true);
}

/* Grouped-query attention: ratios 1, 4, 8; batches > 1. */
static void grouped_heads(void) {
    static const attn_case cases[] = {
        {2, 3, 3, 7, 113, 64, 64, 0, 0, SM, 1, false, false},
        {1, 8, 2, 113, 113, 64, 32, CLATTN_CAUSAL_TOP_LEFT, 0, SM, 1, false, false},
        {3, 8, 1, 7, 113, 80, 80, 0, 0, SM, 1, false, false},
    };
    run_cases(cases, COUNT(cases), true);
    /* Decoding with Hq / Hkv = 4 and 8 at odd N, on the CPU shape (its programs for this are
     * new; the GPU shape's decode tile already holds a group's heads as rows): the group's
     * heads are the rows of one pass over K and V. Llama-3's heads, and a mask with a fully
     * masked row in a strided layout under forced splits. 12 rows in tiles that cross heads:
     * variant_cases' 6 / 2 heads of 7 rows. */
    static const attn_case decode[] = {
        {1, 32, 8, 1, 4097, 64, 64, 0, 0, SM, 0, false, false},
        {2, 8, 1, 1, 1001, 64, 64, CLATTN_CAUSAL_BOTTOM_RIGHT, CLATTN_MASK_ADDITIVE, SM, 3, true,
         true},
    };
    run_cases(decode, COUNT(decode), false);
}

static void strided_layouts(void) {
    static const attn_case cases[] = {
        {2, 2, 1, 113, 113, 64, 64, CLATTN_CAUSAL_TOP_LEFT, 0, SM, 1, true, false},
        {2, 4, 4, 7, 1000, 3, 80, 0, 0, SM, 0, true, false},
        {1, 2, 2, 1, 1, 1, 1, 0, 0, SM, 1, true, false},
        /* A few rows with D, Dv multiples of 16: the CPU shape reads K and V in place. */
        {2, 4, 2, 5, 300, 32, 48, CLATTN_CAUSAL_BOTTOM_RIGHT, CLATTN_MASK_ADDITIVE, SM, 0, true,
         true},
    };
    run_cases(cases, COUNT(cases), true);
}

/* Split-KV: forced on with several chunk counts, forced off, and automatic for decoding. */
static void split_kv(void) {
    static const attn_case cases[] = {
        {1, 1, 1, 7, 1000, 64, 64, 0, 0, SM, 4, false, false},
        {1, 1, 1, 1, 1000, 128, 128, 0, 0, SM, 3, false, false},
        {1, 2, 1, 113, 1000, 64, 64, CLATTN_CAUSAL_TOP_LEFT, 0, SM, 5, false, false},
        {1, 1, 1, 7, 113, 80, 80, CLATTN_CAUSAL_BOTTOM_RIGHT, CLATTN_MASK_BOOLEAN, SM, 8, false,
         true},
        {2, 4, 2, 1, 4097, 64, 64, 0, 0, SM, 0, true, false},
        {1, 1, 1, 1, 4097, 64, 64, 0, 0, SM, 1, false, false},
        {1, 1, 1, 7, 100, 3, 3, 0, 0, SM, 1000, false, false}, /* more splits than key blocks */
    };
    run_cases(cases, COUNT(cases), true);
}

static void sum_norm(void) {
    static const attn_case cases[] = {
        {1, 1, 1, 7, 113, 64, 64, 0, 0, CLATTN_NORM_SUM, 1, false, false},
        {1, 2, 1, 113, 113, 3, 3, CLATTN_CAUSAL_TOP_LEFT, CLATTN_MASK_BOOLEAN, CLATTN_NORM_SUM, 1,
         false, true},
        {1, 1, 1, 7, 1000, 80, 80, 0, CLATTN_MASK_ADDITIVE, CLATTN_NORM_SUM, 4, false, false},
    };
    run_cases(cases, COUNT(cases), true);
}

/* Q, K and V as slices of one fused [B, T, 3, H, D] buffer, O as [B, T, H, D]. */
static void fused_qkv(void) {
    const size_t B = 2, T = 37, H = 3, D = 24;
    for (int vi = 0; vi < 2; vi++) {
        clattn_handle *h = test_handle(test_variants[vi]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        clattn_attention_desc desc;
        clattn_attention_desc_init(&desc, B, H, H, T, T, D, D);
        desc.causal = CLATTN_CAUSAL_TOP_LEFT;
        clattn_layout *l[3] = {&desc.q, &desc.k, &desc.v};
        for (int t = 0; t < 3; t++) {
            l[t]->offset = (size_t)t * H * D;
            l[t]->stride[0] = T * 3 * H * D;
            l[t]->stride[1] = D;
            l[t]->stride[2] = 3 * H * D;
        }
        desc.o.offset = 0;
        desc.o.stride[0] = T * H * D;
        desc.o.stride[1] = D;
        desc.o.stride[2] = H * D;
        const size_t nqkv = B * T * 3 * H * D, no = B * T * H * D;
        float *qkv = malloc(nqkv * sizeof *qkv), *o = malloc(no * sizeof *o),
              *o_ref = malloc(no * sizeof *o);
        CU_ASSERT_FATAL(qkv && o && o_ref);
        uint64_t seed = 77;
        test_fill(qkv, nqkv, &seed, -1.0f, 1.0f);
        CU_ASSERT_EQUAL(clattn_attention(h, &desc, qkv, qkv, qkv, NULL, o, NULL), CLATTN_SUCCESS);
        CU_ASSERT_EQUAL(clattn_ref_attention(&desc, qkv, qkv, qkv, NULL, o_ref, NULL),
                        CLATTN_SUCCESS);
        CU_ASSERT(test_close(o, o_ref, no, tolerance_atol(T), 1e-4, "fused QKV O"));
        free(qkv), free(o), free(o_ref);
    }
}

/* NaN in one query row propagates to that row only; NaN in one key reaches every row that
 * attends to it. */
static void nan_propagation(void) {
    const size_t M = 9, N = 20, D = 16;
    for (int vi = 0; vi < 2; vi++) {
        clattn_handle *h = test_handle(test_variants[vi]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        clattn_attention_desc desc;
        clattn_attention_desc_init(&desc, 1, 1, 1, M, N, D, D);
        desc.causal = CLATTN_CAUSAL_TOP_LEFT;
        float q[9 * 16], k[20 * 16], v[20 * 16], o[9 * 16], lse[9];
        uint64_t seed = 5;
        test_fill(q, M * D, &seed, -1, 1);
        test_fill(k, N * D, &seed, -1, 1);
        test_fill(v, N * D, &seed, -1, 1);
        q[2 * D + 3] = NAN; /* row 2 */
        k[5 * D] = NAN;     /* key 5: rows >= 5 see it under causal masking */
        CU_ASSERT_EQUAL_FATAL(clattn_attention(h, &desc, q, k, v, NULL, o, lse), CLATTN_SUCCESS);
        for (size_t i = 0; i < M; i++) {
            const bool want_nan = i == 2 || i >= 5;
            CU_ASSERT_EQUAL(isnan(o[i * D]) != 0, want_nan);
            CU_ASSERT_EQUAL(isnan(lse[i]) != 0, want_nan);
        }
    }
}

/* Garbage in masked-out keys (a padded KV cache): NaN keys and Inf values that a boolean
 * mask, an additive -inf or causal masking hides must reach no output; the result equals the
 * reference over zeros in their place. GPU shape (test_reliability checks the CPU shape):
 * both GPU tiles, decoding (M = 2, GQA) and the main one (M = 33). */
static void masked_garbage(void) {
    enum { N = 40, D = 16, VALID = 29, HQ = 2 };
    const size_t ms[2] = {2, 33};
    clattn_handle *h = test_handle(CLATTN_VARIANT_GPU);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    for (int t = 0; t < 2; t++) {
        const size_t M = ms[t];
        for (int variant = 0; variant < 4; variant++) {
            const int causal = variant & 1, additive = variant >> 1;
            clattn_attention_desc desc;
            clattn_attention_desc_init(&desc, 1, HQ, 1, M, N, D, D);
            desc.mask_kind = additive ? CLATTN_MASK_ADDITIVE : CLATTN_MASK_BOOLEAN;
            desc.mask.stride[0] = desc.mask.stride[1] = 0; /* one [M, N] mask for all heads */
            if (causal) desc.causal = CLATTN_CAUSAL_BOTTOM_RIGHT;
            float q[HQ * 33 * D], k[N * D], v[N * D], k0[N * D], v0[N * D];
            float o[HQ * 33 * D], want[HQ * 33 * D], lse[HQ * 33], lse_want[HQ * 33];
            unsigned char bool_mask[33 * N];
            float add_mask[33 * N];
            uint64_t seed = 17 + t;
            test_fill(q, HQ * M * D, &seed, -1, 1);
            test_fill(k, N * D, &seed, -1, 1);
            test_fill(v, N * D, &seed, -1, 1);
            memcpy(k0, k, sizeof k), memcpy(v0, v, sizeof v);
            for (size_t j = VALID; j < N; j++)
                for (size_t c = 0; c < D; c++) {
                    k[j * D + c] = NAN, v[j * D + c] = INFINITY;
                    k0[j * D + c] = 0.0f, v0[j * D + c] = 0.0f;
                }
            for (size_t i = 0; i < M; i++)
                for (size_t j = 0; j < N; j++)
                    bool_mask[i * N + j] = j < VALID,
                                      add_mask[i * N + j] = j < VALID ? 0.0f : -INFINITY;
            const void *mask = additive ? (const void *)add_mask : (const void *)bool_mask;
            CU_ASSERT_EQUAL_FATAL(clattn_attention(h, &desc, q, k, v, mask, o, lse),
                                  CLATTN_SUCCESS);
            CU_ASSERT_EQUAL_FATAL(clattn_ref_attention(&desc, q, k0, v0, mask, want, lse_want),
                                  CLATTN_SUCCESS);
            CU_ASSERT(test_close(o, want, HQ * M * D, 1e-5, 1e-4, "masked garbage: O"));
            CU_ASSERT(test_close(lse, lse_want, HQ * M, 1e-5, 1e-4, "masked garbage: LSE"));
        }
    }
}

/* The enqueue form: a user event gates the start, guards around O in one buffer stay, the
 * returned event completes, and a NULL event is allowed. */
static void enqueue_contract(void) {
    const size_t M = 50, N = 70, D = 32, GUARDS = 64;
    for (int vi = 0; vi < 2; vi++) {
        clattn_handle *h = test_handle(test_variants[vi]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        cl_context ctx = clattn_handle_context(h);
        cl_command_queue queue = clattn_handle_queue(h);
        clattn_attention_desc desc;
        clattn_attention_desc_init(&desc, 1, 1, 1, M, N, D, D);
        desc.o.offset = GUARDS;
        float q[50 * 32], k[70 * 32], v[70 * 32], o[50 * 32 + 2 * 64], ref[50 * 32];
        uint64_t seed = 11;
        test_fill(q, M * D, &seed, -1, 1);
        test_fill(k, N * D, &seed, -1, 1);
        test_fill(v, N * D, &seed, -1, 1);
        for (size_t i = 0; i < M * D + 2 * GUARDS; i++)
            o[i] = GUARD;
        cl_int err;
        cl_mem qb = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof q, q, &err);
        cl_mem kb = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof k, k, &err);
        cl_mem vb = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof v, v, &err);
        cl_mem ob =
            clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof o, o, &err);
        cl_event gate = clCreateUserEvent(ctx, &err);
        cl_event done = NULL;
        CU_ASSERT_EQUAL_FATAL(
            clattn_enqueue_attention(h, NULL, &desc, qb, kb, vb, NULL, ob, NULL, 1, &gate, &done),
            CLATTN_SUCCESS);
        cl_int state = 0;
        clGetEventInfo(done, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof state, &state, NULL);
        CU_ASSERT(state != CL_COMPLETE); /* still waiting for the gate */
        clSetUserEventStatus(gate, CL_COMPLETE);
        CU_ASSERT_EQUAL(clWaitForEvents(1, &done), CL_SUCCESS);
        CU_ASSERT_EQUAL(clEnqueueReadBuffer(queue, ob, CL_TRUE, 0, sizeof o, o, 0, NULL, NULL),
                        CL_SUCCESS);
        clattn_attention_desc ref_desc = desc;
        ref_desc.o.offset = 0;
        CU_ASSERT_EQUAL(clattn_ref_attention(&ref_desc, q, k, v, NULL, ref, NULL), CLATTN_SUCCESS);
        CU_ASSERT(test_close(o + GUARDS, ref, M * D, tolerance_atol(N), 1e-4, "enqueue O"));
        for (size_t i = 0; i < GUARDS; i++) {
            CU_ASSERT_EQUAL(o[i], GUARD);
            CU_ASSERT_EQUAL(o[GUARDS + M * D + i], GUARD);
        }
        /* No event requested. */
        CU_ASSERT_EQUAL(
            clattn_enqueue_attention(h, NULL, &desc, qb, kb, vb, NULL, ob, NULL, 0, NULL, NULL),
            CLATTN_SUCCESS);
        CU_ASSERT_EQUAL(clFinish(queue), CL_SUCCESS);
        clReleaseEvent(done);
        clReleaseEvent(gate);
        clReleaseMemObject(qb), clReleaseMemObject(kb), clReleaseMemObject(vb),
            clReleaseMemObject(ob);
    }
}

/* Two calls that share the handle's scratch memory (repacked K/V, split partials) on an
 * out-of-order queue: the second must wait for the first through events alone. */
static void out_of_order_queue(void) {
    const size_t M = 3, N = 300, D = 16;
    for (int vi = 0; vi < 2; vi++) {
        clattn_handle *h = test_handle(test_variants[vi]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        cl_context ctx = clattn_handle_context(h);
        cl_int err;
        cl_command_queue queue = clCreateCommandQueue(ctx, clattn_handle_device(h),
                                                      CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
        CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
        clattn_attention_desc desc;
        clattn_attention_desc_init(&desc, 1, 1, 1, M, N, D, D);
        desc.kv_splits = 4;
        float q[2][3 * 16], k[2][300 * 16], v[2][300 * 16], o[2][3 * 16], ref[3 * 16];
        uint64_t seed = 21;
        cl_mem bufs[2][4];
        cl_event done[2] = {NULL, NULL};
        for (int c = 0; c < 2; c++) {
            test_fill(q[c], M * D, &seed, -1, 1);
            test_fill(k[c], N * D, &seed, -1, 1);
            test_fill(v[c], N * D, &seed, -1, 1);
            const cl_mem_flags in = CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
            bufs[c][0] = clCreateBuffer(ctx, in, sizeof q[c], q[c], &err);
            bufs[c][1] = clCreateBuffer(ctx, in, sizeof k[c], k[c], &err);
            bufs[c][2] = clCreateBuffer(ctx, in, sizeof v[c], v[c], &err);
            bufs[c][3] = clCreateBuffer(ctx, CL_MEM_READ_WRITE, sizeof o[c], NULL, &err);
            CU_ASSERT_EQUAL(clattn_enqueue_attention(h, queue, &desc, bufs[c][0], bufs[c][1],
                                                     bufs[c][2], NULL, bufs[c][3], NULL, 0, NULL,
                                                     &done[c]),
                            CLATTN_SUCCESS);
        }
        for (int c = 0; c < 2; c++) {
            CU_ASSERT_EQUAL(clEnqueueReadBuffer(queue, bufs[c][3], CL_TRUE, 0, sizeof o[c], o[c], 1,
                                                &done[c], NULL),
                            CL_SUCCESS);
            CU_ASSERT_EQUAL(clattn_ref_attention(&desc, q[c], k[c], v[c], NULL, ref, NULL),
                            CLATTN_SUCCESS);
            CU_ASSERT(test_close(o[c], ref, M * D, tolerance_atol(N), 1e-4, "out-of-order O"));
            clReleaseEvent(done[c]);
            for (int i = 0; i < 4; i++)
                clReleaseMemObject(bufs[c][i]);
        }
        clReleaseCommandQueue(queue);
    }
}

/* Every invalid argument gets its status, and nothing is enqueued. */
static void invalid_arguments(void) {
    clattn_handle *h = test_handle(CLATTN_VARIANT_AUTO);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    cl_context ctx = clattn_handle_context(h);
    cl_int err;
    const size_t M = 8, N = 8, D = 16;
    cl_mem big = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4096 * sizeof(float), NULL, &err);
    cl_mem small = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 16 * sizeof(float), NULL, &err);
    cl_mem bytes = clCreateBuffer(ctx, CL_MEM_READ_WRITE, M * N - 1, NULL, &err);
    clattn_attention_desc good, d;
    clattn_attention_desc_init(&good, 1, 2, 1, M, N, D, D);
#define EXPECT(expr, status) CU_ASSERT_EQUAL((expr), (status))
#define ENQ(desc_ptr, q, k, v, mask, o, lse)                                                       \
    clattn_enqueue_attention(h, NULL, desc_ptr, q, k, v, mask, o, lse, 0, NULL, NULL)
    /* Q, K and V may share a buffer; O may not overlap them (its own buffer here). */
    cl_mem out = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4096 * sizeof(float), NULL, &err);
    EXPECT(ENQ(&good, big, big, big, NULL, out, NULL), CLATTN_SUCCESS);
    EXPECT(ENQ(&good, big, big, big, NULL, big, NULL), CLATTN_ERROR_INVALID_VALUE);
    EXPECT(
        clattn_enqueue_attention(NULL, NULL, &good, big, big, big, NULL, big, NULL, 0, NULL, NULL),
        CLATTN_ERROR_NULL_POINTER);
    EXPECT(ENQ(NULL, big, big, big, NULL, big, NULL), CLATTN_ERROR_NULL_POINTER);
    EXPECT(ENQ(&good, NULL, big, big, NULL, big, NULL), CLATTN_ERROR_NULL_POINTER);
    EXPECT(ENQ(&good, big, big, big, NULL, NULL, NULL), CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_enqueue_attention(h, NULL, &good, big, big, big, NULL, big, NULL, 1, NULL, NULL),
           CLATTN_ERROR_NULL_POINTER);
    d = good, d.mask_kind = CLATTN_MASK_ADDITIVE;
    EXPECT(ENQ(&d, big, big, big, NULL, big, NULL), CLATTN_ERROR_NULL_POINTER);
    d = good, d.q_heads = 3, d.kv_heads = 2;
    EXPECT(ENQ(&d, big, big, big, NULL, big, NULL), CLATTN_ERROR_INVALID_SHAPE);
    d = good, d.d = 0;
    EXPECT(ENQ(&d, big, big, big, NULL, big, NULL), CLATTN_ERROR_INVALID_SIZE);
    d = good, d.m = 0;
    EXPECT(ENQ(&d, big, big, big, NULL, big, NULL), CLATTN_ERROR_INVALID_SIZE);
    clattn_attention_desc_init(&d, 1, 1, 1, 2, 2, 257, 16);
    EXPECT(ENQ(&d, big, big, big, NULL, big, NULL), CLATTN_ERROR_INVALID_SIZE);
    clattn_attention_desc_init(&d, 1, 1, 1, 2, 2, 16, 257);
    EXPECT(ENQ(&d, big, big, big, NULL, big, NULL), CLATTN_ERROR_INVALID_SIZE);
    d = good, d.norm = CLATTN_NORM_NONE;
    EXPECT(ENQ(&d, big, big, big, NULL, big, NULL), CLATTN_ERROR_INVALID_VALUE);
    d = good, d.causal = (clattn_causal)7;
    EXPECT(ENQ(&d, big, big, big, NULL, big, NULL), CLATTN_ERROR_INVALID_VALUE);
    d = good, d.mask_kind = (clattn_mask_kind)9;
    EXPECT(ENQ(&d, big, big, big, big, big, NULL), CLATTN_ERROR_INVALID_VALUE);
    d = good, d.scale = NAN;
    EXPECT(ENQ(&d, big, big, big, NULL, big, NULL), CLATTN_ERROR_INVALID_VALUE);
    /* Rows overlapping within a head, and output heads on top of each other. */
    d = good, d.k.stride[2] = D - 1;
    EXPECT(ENQ(&d, big, big, big, NULL, big, NULL), CLATTN_ERROR_INVALID_SHAPE);
    d = good, d.o.stride[1] = 0;
    EXPECT(ENQ(&d, big, big, big, NULL, big, NULL), CLATTN_ERROR_INVALID_SHAPE);
    d = good, d.lse.stride[2] = 0;
    EXPECT(ENQ(&d, big, big, big, NULL, big, big), CLATTN_ERROR_INVALID_SHAPE);
    d = good, d.mask_kind = CLATTN_MASK_ADDITIVE, d.mask.stride[2] = N - 1;
    EXPECT(ENQ(&d, big, big, big, big, big, NULL), CLATTN_ERROR_INVALID_SHAPE);
    /* Buffers too small, by an offset or a boolean mask one byte short. */
    EXPECT(ENQ(&good, big, small, big, NULL, big, NULL), CLATTN_ERROR_BUFFER_TOO_SMALL);
    d = good, d.v.offset = 4096 - N * D + 1;
    EXPECT(ENQ(&d, big, big, big, NULL, big, NULL), CLATTN_ERROR_BUFFER_TOO_SMALL);
    d = good, d.mask_kind = CLATTN_MASK_BOOLEAN;
    EXPECT(ENQ(&d, big, big, big, bytes, big, NULL), CLATTN_ERROR_BUFFER_TOO_SMALL);
    d = good, d.o.offset = SIZE_MAX - 8;
    EXPECT(ENQ(&d, big, big, big, NULL, big, NULL), CLATTN_ERROR_SIZE_OVERFLOW);
    /* Blocking form and reference validate the same way. */
    float x[4096];
    memset(x, 0, sizeof x);
    d = good, d.q_heads = 3, d.kv_heads = 2;
    EXPECT(clattn_attention(h, &d, x, x, x, NULL, x, NULL), CLATTN_ERROR_INVALID_SHAPE);
    EXPECT(clattn_ref_attention(&d, x, x, x, NULL, x, NULL), CLATTN_ERROR_INVALID_SHAPE);
    EXPECT(clattn_attention(h, &good, x, NULL, x, NULL, x, NULL), CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_ref_attention(&good, x, x, NULL, NULL, x, NULL), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT(strlen(clattn_last_error_message()) > 0);
    clFinish(clattn_handle_queue(h));
    clFinish(clattn_handle_queue(h));
    clReleaseMemObject(big), clReleaseMemObject(small), clReleaseMemObject(bytes);
    clReleaseMemObject(out);
#undef ENQ
#undef EXPECT
}

static void desc_defaults(void) {
    clattn_attention_desc d;
    clattn_attention_desc_init(&d, 2, 4, 2, 5, 6, 16, 8);
    CU_ASSERT_DOUBLE_EQUAL(d.scale, 0.25, 1e-7);
    CU_ASSERT_EQUAL(d.norm, CLATTN_NORM_SOFTMAX);
    CU_ASSERT_EQUAL(d.causal, CLATTN_CAUSAL_NONE);
    CU_ASSERT_EQUAL(d.mask_kind, CLATTN_MASK_NONE);
    CU_ASSERT_EQUAL(d.kv_splits, 0);
    CU_ASSERT_EQUAL(d.q.stride[0], 4 * 5 * 16);
    CU_ASSERT_EQUAL(d.k.stride[1], 6 * 16);
    CU_ASSERT_EQUAL(d.v.stride[2], 8);
    CU_ASSERT_EQUAL(d.o.stride[0], 4 * 5 * 8);
    CU_ASSERT_EQUAL(d.mask.stride[0], 0);
    CU_ASSERT_EQUAL(d.mask.stride[2], 6);
    CU_ASSERT_EQUAL(d.lse.stride[1], 5);
}

/* Every kernel path at tiny sizes, for running under Oclgrind --data-races (the
 * oclgrind_attention CTest test): both shapes, causal both ways, both masks with a fully
 * masked row, GQA, strides, SUM, LSE, and split-KV with its merge kernel. */
static void small(void) {
    static const attn_case cases[] = {
        {1, 2, 1, 5, 19, 8, 8, CLATTN_CAUSAL_TOP_LEFT, CLATTN_MASK_BOOLEAN, SM, 1, true, true},
        {1, 1, 1, 7, 5, 3, 5, CLATTN_CAUSAL_BOTTOM_RIGHT, CLATTN_MASK_ADDITIVE, SM, 1, false, true},
        {1, 1, 1, 2, 70, 16, 16, 0, 0, SM, 3, false, false},
        {1, 1, 1, 3, 9, 4, 4, CLATTN_CAUSAL_TOP_LEFT, 0, CLATTN_NORM_SUM, 1, false, false},
        {1, 2, 1, 3, 40, 16, 32, 0, CLATTN_MASK_BOOLEAN, SM, 2, true, true}, /* K, V in place */
        /* Several key tiles per work-group (GPU shape: up to 64 keys per tile). */
        {1, 1, 1, 3, 150, 4, 4, CLATTN_CAUSAL_BOTTOM_RIGHT, 0, SM, 1, false, false},
        /* GPU shape: D = 256 in the decoding tile (GQA rows of 2 heads) and in the main one
         * (a block of rows spanning two heads), odd Dv, split-KV. */
        {1, 4, 2, 3, 21, 256, 256, CLATTN_CAUSAL_BOTTOM_RIGHT, 0, SM, 2, false, false},
        {2, 2, 1, 19, 37, 33, 250, CLATTN_CAUSAL_TOP_LEFT, CLATTN_MASK_ADDITIVE, SM, 1, true, true},
    };
    run_cases(cases, COUNT(cases), true);
}

/* Cases for the model variants, all at D = Dv = 64 (each variant is its own program, so
 * few head dims keep the cold compiles few): odd sizes, GQA (6 query heads: ALiBi's
 * non-power-of-two slopes), both causal alignments, masks, strides, M > N, split-KV, and
 * decoding-like rows (the CPU shape reads K and V in place). */
static const attn_case variant_cases[] = {
    {2, 4, 2, 113, 200, 64, 64, CLATTN_CAUSAL_TOP_LEFT, 0, SM, 1, false, false},
    {1, 2, 1, 113, 300, 64, 64, CLATTN_CAUSAL_BOTTOM_RIGHT, CLATTN_MASK_BOOLEAN, SM, 3, false,
     true},
    {1, 6, 2, 7, 1000, 64, 64, CLATTN_CAUSAL_BOTTOM_RIGHT, 0, SM, 4, false, false},
    {2, 1, 1, 97, 61, 64, 64, 0, CLATTN_MASK_ADDITIVE, SM, 1, true, true},
};

static void run_with(attn_extras e, size_t count) {
    extras = e;
    run_cases(variant_cases, count, true);
    extras = (attn_extras){0.0f, 0, 0, 0, 0};
}

/* A softcap that bends the scores (|s| up to ~4 here). */
static void softcap(void) {
    run_with((attn_extras){1.5f, 0, 0, 0, 0}, COUNT(variant_cases));
}

/* A window inside a key block and one across several blocks with a right side (one-sided
 * and empty-row windows are in test_cpu and cli_attend_check: each variant here is a cold
 * compile per kernel shape). */
static void sliding_window(void) {
    run_with((attn_extras){0.0f, 0, 1, 5, 0}, COUNT(variant_cases));
    run_with((attn_extras){0.0f, 0, 1, 70, 3}, COUNT(variant_cases));
}

static void alibi(void) {
    run_with((attn_extras){0.0f, 1, 0, 0, 0}, COUNT(variant_cases));
}

static void combined(void) {
    run_with((attn_extras){2.0f, 1, 1, 33, 9}, 3);
}

static void add_suites(void) {
    /* Several suites, each its own CTest test (tests/CMakeLists.txt): cold kernel compiles
     * make the whole program too slow for one test's timeout. */
    static const test_case head_dim_cases[] = {
        {"desc defaults", desc_defaults}, {"head dims", head_dims}, {NULL, NULL}};
    static const test_case layouts[] = {{"long sequences", long_sequences},
                                        {"grouped heads", grouped_heads},
                                        {"strided layouts", strided_layouts},
                                        {NULL, NULL}};
    static const test_case masking[] = {{"causal", causal},
                                        {"masks and fully masked rows", masks},
                                        {"NaN propagation", nan_propagation},
                                        {"masked garbage", masked_garbage},
                                        {NULL, NULL}};
    static const test_case splits[] = {{"split-KV", split_kv},
                                       {"SUM normalisation", sum_norm},
                                       {"fused QKV buffer", fused_qkv},
                                       {NULL, NULL}};
    static const test_case contract[] = {{"enqueue contract", enqueue_contract},
                                         {"out-of-order queue", out_of_order_queue},
                                         {"invalid arguments", invalid_arguments},
                                         {NULL, NULL}};
    test_add_suite("attention_head_dims", head_dim_cases);
    test_add_suite("attention_layouts", layouts);
    test_add_suite("attention_masks", masking);
    test_add_suite("attention_splits", splits);
    test_add_suite("attention_contract", contract);
    static const test_case variant_tests[] = {{"softcap", softcap},
                                              {"sliding window", sliding_window},
                                              {"ALiBi", alibi},
                                              {"softcap, ALiBi and window", combined},
                                              {NULL, NULL}};
    test_add_suite("attention_variants", variant_tests);
    static const test_case small_cases[] = {
        {"small cases", small}, {"masked garbage", masked_garbage}, {NULL, NULL}};
    test_add_suite("attention_small", small_cases);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
