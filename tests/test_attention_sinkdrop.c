/* Attention sinks (a per-head sink logit, keep-first-k sink keys) and dropout (Philox
 * 4x32-10) on both kernel shapes and the fast CPU path, against the double-precision
 * reference; plus the generator's known answers, the kept fraction, the invalid values and
 * both features per sequence of a varlen batch and of a paged KV cache.
 *
 * Tolerance as in test_attention.c (every output row a convex combination of V rows with
 * |v| <= 1; the sink only adds to the denominator; dropout scales kept weights by at most
 * 1 / (1 - p) = 2 here): atol = 2e-5 + 64 u sqrt(N), rtol = 1e-4. The dropout mask itself is
 * compared exactly: V is one-hot (V[j][c] = j == c), so O[i][j] is weight (i, j), exactly 0
 * where dropped and never 0 where kept (weights are exp of bounded scores). */
#include "test_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "philox.h"

static double atol_for(size_t n) {
    return 2e-5 + 64.0 * TEST_U * sqrt((double)n);
}

typedef struct sd_case {
    size_t batch, hq, hkv, m, n, d, dv;
    clattn_causal causal;
    bool bool_mask; /* a boolean mask with row m / 2 fully masked */
    size_t splits;  /* desc.kv_splits */
    bool sinks;     /* desc.sinks with logits around the scores, one head's far above */
    size_t sink_keys;
    long left, right; /* the window (left < -1: none) */
    float dropout;
    bool one_hot_v; /* V[j][c] = (j == c) (needs dv >= n) */
    clattn_norm norm;
} sd_case;

typedef struct sd_data {
    clattn_attention_desc desc;
    float *q, *k, *v, *sinks, *o_ref, *lse_ref;
    unsigned char *mask;
    size_t no, nl;
} sd_data;

static void sd_free(sd_data *t) {
    free(t->q);
    free(t->k);
    free(t->v);
    free(t->sinks);
    free(t->o_ref);
    free(t->lse_ref);
    free(t->mask);
}

/* Builds the case's data and its reference result; false on failure. */
static bool sd_prepare(const sd_case *c, uint64_t seed, sd_data *t) {
    memset(t, 0, sizeof *t);
    clattn_attention_desc *desc = &t->desc;
    clattn_attention_desc_init(desc, c->batch, c->hq, c->hkv, c->m, c->n, c->d, c->dv);
    desc->causal = c->causal;
    desc->kv_splits = c->splits;
    desc->norm = c->norm ? c->norm : CLATTN_NORM_SOFTMAX;
    desc->sinks = c->sinks;
    desc->sink_keys = c->sink_keys;
    desc->dropout = c->dropout;
    desc->dropout_seed = 0x0123456789abcdefull ^ seed;
    desc->dropout_offset = 5;
    if (c->left >= -1) {
        desc->window = 1;
        desc->window_left = c->left;
        desc->window_right = c->right;
    }
    if (c->bool_mask) desc->mask_kind = CLATTN_MASK_BOOLEAN;
    const size_t nq = c->batch * c->hq * c->m * c->d, nk = c->batch * c->hkv * c->n * c->d;
    const size_t nv = c->batch * c->hkv * c->n * c->dv;
    t->no = c->batch * c->hq * c->m * c->dv;
    t->nl = c->batch * c->hq * c->m;
    t->q = malloc(nq * sizeof(float));
    t->k = malloc(nk * sizeof(float));
    t->v = malloc(nv * sizeof(float));
    t->sinks = malloc(c->hq * sizeof(float));
    t->o_ref = malloc(t->no * sizeof(float));
    t->lse_ref = malloc(t->nl * sizeof(float));
    t->mask = malloc(c->m * c->n);
    if (!t->q || !t->k || !t->v || !t->sinks || !t->o_ref || !t->lse_ref || !t->mask) return false;
    const float lo = desc->norm == CLATTN_NORM_SUM ? 0.0f : -1.0f;
    test_fill(t->q, nq, &seed, lo, 1.0f);
    test_fill(t->k, nk, &seed, lo, 1.0f);
    test_fill(t->v, nv, &seed, -1.0f, 1.0f);
    if (c->one_hot_v)
        for (size_t r = 0; r < c->batch * c->hkv * c->n; r++)
            for (size_t x = 0; x < c->dv; x++)
                t->v[r * c->dv + x] = (float)(r % c->n == x);
    test_fill(t->sinks, c->hq, &seed, -2.0f, 2.0f);
    t->sinks[c->hq - 1] = 9.0f; /* dominates its rows: the sink takes most of the weight */
    float *u = malloc(c->m * c->n * sizeof *u);
    if (!u) return false;
    test_fill(u, c->m * c->n, &seed, 0.0f, 1.0f);
    for (size_t i = 0; i < c->m * c->n; i++)
        t->mask[i] = u[i] < 0.7f && i / c->n != c->m / 2;
    free(u);
    const clattn_attention_arrays ref = {.q = t->q,
                                         .k = t->k,
                                         .v = t->v,
                                         .mask = c->bool_mask ? t->mask : NULL,
                                         .o = t->o_ref,
                                         .lse = t->lse_ref,
                                         .sinks = c->sinks ? t->sinks : NULL};
    const clattn_status status = clattn_ref_attention_ex(desc, &ref);
    if (status) {
        fprintf(stderr, "\n    reference: %s: %s\n", clattn_status_string(status),
                clattn_last_error_message());
        return false;
    }
    return true;
}

/* Same zeros (the dropped weights, masked keys) in got and want. */
static bool same_zeros(const float *got, const float *want, size_t n, const char *what) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if ((got[i] == 0.0f) != (want[i] == 0.0f) && bad++ < 4)
            fprintf(stderr, "\n    %s: element %zu is %g, reference %g", what, i, (double)got[i],
                    (double)want[i]);
    return bad == 0;
}

/* Runs the case on the fast CPU path and (paths 3) on both kernel shapes; all must match the
 * reference (and, with dropout, drop exactly the same weights). */
static void sd_run_paths(const sd_case *c, uint64_t seed, int paths) {
    sd_data t;
    const bool prepared = sd_prepare(c, seed, &t);
    CU_ASSERT_TRUE_FATAL(prepared);
    float *o = malloc(t.no * sizeof *o), *lse = malloc(t.nl * sizeof *lse);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lse);
    const clattn_attention_arrays arrays = {.q = t.q,
                                            .k = t.k,
                                            .v = t.v,
                                            .mask = c->bool_mask ? t.mask : NULL,
                                            .o = o,
                                            .lse = lse,
                                            .sinks = c->sinks ? t.sinks : NULL};
    const double atol = atol_for(c->n);
    for (int path = 0; path < paths; path++) {
        const char *name = path == 0 ? "cpu backend" : test_variant_name(test_variants[path - 1]);
        clattn_status status;
        if (path == 0) {
            status = clattn_cpu_attention_ex(&t.desc, &arrays);
        } else {
            clattn_handle *h = test_handle(test_variants[path - 1]);
            CU_ASSERT_PTR_NOT_NULL_FATAL(h);
            status = clattn_attention_ex(h, &t.desc, &arrays);
        }
        if (status)
            fprintf(stderr, "\n    %s: %s: %s\n", name, clattn_status_string(status),
                    clattn_last_error_message());
        CU_ASSERT_EQUAL(status, CLATTN_SUCCESS);
        if (status) continue;
        char what[96];
        snprintf(what, sizeof what, "%s O (m %zu, n %zu)", name, c->m, c->n);
        CU_ASSERT_TRUE(test_close(o, t.o_ref, t.no, atol, 1e-4, what));
        if (c->dropout > 0.0f) CU_ASSERT_TRUE(same_zeros(o, t.o_ref, t.no, what));
        snprintf(what, sizeof what, "%s LSE (m %zu, n %zu)", name, c->m, c->n);
        CU_ASSERT_TRUE(test_close(lse, t.lse_ref, t.nl, atol, 1e-4, what));
    }
    free(o);
    free(lse);
    sd_free(&t);
}

static void sd_run(const sd_case *c, uint64_t seed) {
    sd_run_paths(c, seed, 3);
}

#define NO_WINDOW (-2L)

/* Every device case uses D = 16, Dv = 64, 33-64 rows and 4-6 row tasks, and the sink logits
 * (the GPU shape builds them in), so that the cases share their kernel programs: plain, and
 * DROPOUT with a window, on both shapes, and the merge: 5 programs, each a cold compile of
 * seconds on PoCL. (Dropout without sinks is the same code; the CPU path checks it.) */
static void sinks_prefill(void) {
    /* GQA, odd sizes, top-left causal, a boolean mask with a fully masked row. */
    const sd_case c = {2,    2, 1,         37, 53, 16,    64, CLATTN_CAUSAL_TOP_LEFT, true, 1,
                       true, 0, NO_WINDOW, 0,  0,  false, 0};
    sd_run(&c, 11);
}

static void sinks_split_kv(void) {
    /* Long N, bottom-right causal, forced splits: the sink joins once, at the merge. */
    const sd_case c = {1,    4, 2,         37, 700, 16,    64, CLATTN_CAUSAL_BOTTOM_RIGHT, false, 3,
                       true, 0, NO_WINDOW, 0,  0,   false, 0};
    sd_run(&c, 12);
    const sd_case masked = {2,    2, 1,         40, 300, 16,    64, CLATTN_CAUSAL_NONE, true, 4,
                            true, 0, NO_WINDOW, 0,  0,   false, 0};
    sd_run(&masked, 13);
}

/* A fully masked row with a sink: O = 0, LSE = the sink logit (checked directly). */
static void sinks_masked_row(void) {
    sd_data t;
    const sd_case c = {1,    4, 2,         33, 7, 16,    64, CLATTN_CAUSAL_NONE, true, 1,
                       true, 0, NO_WINDOW, 0,  0, false, 0};
    CU_ASSERT_TRUE_FATAL(sd_prepare(&c, 14, &t));
    for (size_t h = 0; h < c.hq; h++) {
        const size_t row = h * c.m + c.m / 2;
        CU_ASSERT_EQUAL(t.lse_ref[row], t.sinks[h]);
        for (size_t x = 0; x < c.dv; x++)
            CU_ASSERT_EQUAL(t.o_ref[row * c.dv + x], 0.0f);
    }
    sd_free(&t);
    sd_run(&c, 14);
}

static void sink_keys_window(void) {
    /* StreamingLLM: a causal window of 40 keys plus the first 4, with sink logits (and
     * dropout, which shares the program of the dropout cases below). */
    const sd_case c = {1,    4, 1,  37, 150,  16,    64, CLATTN_CAUSAL_BOTTOM_RIGHT, false, 1,
                       true, 4, 40, 0,  0.2f, false, 0};
    sd_run(&c, 15);
    /* A mask, split, sink keys past a key block boundary. */
    const sd_case d = {2,    2,  2,  40, 211,  16,    64, CLATTN_CAUSAL_BOTTOM_RIGHT, true, 2,
                       true, 70, 40, 0,  0.2f, false, 0};
    sd_run(&d, 16);
}

/* Random123's known answers for philox4x32-10 (kat_vectors). */
static void philox_known_answers(void) {
    philox4 z = {{0, 0, 0, 0}};
    philox4 r = philox4x32_10(z, 0, 0);
    CU_ASSERT_EQUAL(r.x[0], 0x6627e8d5u);
    CU_ASSERT_EQUAL(r.x[1], 0xe169c58du);
    CU_ASSERT_EQUAL(r.x[2], 0xbc57ac4cu);
    CU_ASSERT_EQUAL(r.x[3], 0x9b00dbd8u);
    philox4 f = {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}};
    r = philox4x32_10(f, 0xffffffffu, 0xffffffffu);
    CU_ASSERT_EQUAL(r.x[0], 0x408f276du);
    CU_ASSERT_EQUAL(r.x[1], 0x41c83b0eu);
    CU_ASSERT_EQUAL(r.x[2], 0xa20bc7c6u);
    CU_ASSERT_EQUAL(r.x[3], 0x6d5451fdu);
    philox4 pi = {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
    r = philox4x32_10(pi, 0xa4093822u, 0x299f31d0u);
    CU_ASSERT_EQUAL(r.x[0], 0xd16cfe09u);
    CU_ASSERT_EQUAL(r.x[1], 0x94fdccebu);
    CU_ASSERT_EQUAL(r.x[2], 0x5001e420u);
    CU_ASSERT_EQUAL(r.x[3], 0x24126ea1u);
    CU_ASSERT_EQUAL(philox_dropout_threshold(0.0f), 0u);
    CU_ASSERT_EQUAL(philox_dropout_threshold(0.5f), 0x80000000u);
}

static void dropout_exact_mask(void) {
    /* One-hot V: O holds the weights; both causal alignments, GQA, a mask, split. */
    const sd_case c = {2,    2, 1,  64, 64,   16,   64, CLATTN_CAUSAL_TOP_LEFT, false, 1,
                       true, 0, 40, 0,  0.3f, true, 0};
    sd_run(&c, 21);
    const sd_case s = {1,    4, 4,  40, 64,   16,   64, CLATTN_CAUSAL_BOTTOM_RIGHT, true, 2,
                       true, 3, 40, 0,  0.5f, true, 0};
    sd_run(&s, 22);
}

static void dropout_sum(void) {
    /* SUM normalisation: dropout scales its weights too; no window. */
    const sd_case c = {1, 4,     2, 37,        64, 16,    64,   CLATTN_CAUSAL_NONE, false,
                       1, false, 0, NO_WINDOW, 0,  0.25f, true, CLATTN_NORM_SUM};
    sd_run(&c, 23);
}

/* The kept fraction over 2 x 2 x 256 x 256 = 262144 weights is 1 - p within 5 sigma, on the
 * fast CPU path (the exact agreement with the devices is tested above); the LSE is the one
 * without dropout; another seed gives another mask. */
static void dropout_kept_fraction(void) {
    const float p = 0.3f;
    sd_data t;
    const sd_case c = {2,     2, 1,         256, 256, 8,    256, CLATTN_CAUSAL_NONE, false, 1,
                       false, 0, NO_WINDOW, 0,   p,   true, 0};
    CU_ASSERT_TRUE_FATAL(sd_prepare(&c, 31, &t));
    size_t kept = 0;
    for (size_t i = 0; i < t.no; i++)
        kept += t.o_ref[i] != 0.0f;
    const double n = (double)t.no, want = n * (1.0 - p), sigma = sqrt(n * p * (1.0 - p));
    if (fabs((double)kept - want) > 5.0 * sigma)
        fprintf(stderr, "\n    kept %zu of %.0f weights, expected %.0f +- 5 x %.1f", kept, n, want,
                sigma);
    CU_ASSERT(fabs((double)kept - want) <= 5.0 * sigma);

    float *o = malloc(t.no * sizeof *o), *lse = malloc(t.nl * sizeof *lse);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lse);
    clattn_attention_desc plain = t.desc;
    plain.dropout = 0.0f;
    const clattn_attention_arrays a = {.q = t.q, .k = t.k, .v = t.v, .o = o, .lse = lse};
    CU_ASSERT_EQUAL(clattn_cpu_attention_ex(&plain, &a), CLATTN_SUCCESS);
    CU_ASSERT_TRUE(test_close(lse, t.lse_ref, t.nl, 1e-5, 1e-5, "LSE without dropout"));
    clattn_attention_desc other = t.desc;
    other.dropout_seed ^= 1;
    CU_ASSERT_EQUAL(clattn_cpu_attention_ex(&other, &a), CLATTN_SUCCESS);
    size_t differ = 0;
    for (size_t i = 0; i < t.no; i++)
        differ += (o[i] == 0.0f) != (t.o_ref[i] == 0.0f);
    CU_ASSERT(differ > t.no / 4); /* independent masks differ in 2 p (1 - p) = 42% */
    /* The offset addresses head streams: batch 1 of this call is batch 0 at offset + Hq. */
    clattn_attention_desc shifted = t.desc;
    shifted.batch = 1;
    shifted.dropout_offset += c.hq;
    const size_t per_batch_q = c.hq * c.m * c.d, per_batch_kv = c.hkv * c.n * c.d;
    const clattn_attention_arrays b1 = {.q = t.q + per_batch_q,
                                        .k = t.k + per_batch_kv,
                                        .v = t.v + c.hkv * c.n * c.dv,
                                        .o = o,
                                        .lse = lse};
    CU_ASSERT_EQUAL(clattn_cpu_attention_ex(&shifted, &b1), CLATTN_SUCCESS);
    CU_ASSERT_TRUE(same_zeros(o, t.o_ref + t.no / 2, t.no / 2, "batch 1 at offset + Hq"));
    free(o);
    free(lse);
    sd_free(&t);
}

static void invalid_values(void) {
    clattn_attention_desc desc; /* the shape of the cases above: no program of its own */
    clattn_attention_desc_init(&desc, 1, 4, 1, 33, 6, 16, 64);
    float *q = calloc(4 * 33 * 16, sizeof *q), *k = calloc(6 * 16, sizeof *k);
    float *v = calloc(6 * 64, sizeof *v), *o = calloc(4 * 33 * 64, sizeof *o);
    float *w = calloc(4 * 33 * 6, sizeof *w), sinks[4] = {0, 0, 0, 0};
    CU_ASSERT_FATAL(q && k && v && o && w);
    clattn_attention_arrays a = {.q = q, .k = k, .v = v, .o = o};
    clattn_handle *h = test_handle(test_variants[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    /* sinks set without the tensor, the tensor without the flag, sinks with SUM */
    desc.sinks = 1;
    CU_ASSERT_EQUAL(clattn_ref_attention_ex(&desc, &a), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_cpu_attention_ex(&desc, &a), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_attention_ex(h, &desc, &a), CLATTN_ERROR_NULL_POINTER);
    desc.sinks = 0;
    a.sinks = sinks;
    CU_ASSERT_EQUAL(clattn_attention_ex(h, &desc, &a), CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_cpu_attention_ex(&desc, &a), CLATTN_ERROR_INVALID_VALUE);
    desc.sinks = 1;
    desc.norm = CLATTN_NORM_SUM;
    CU_ASSERT_EQUAL(clattn_attention_ex(h, &desc, &a), CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_PTR_NOT_NULL(strstr(clattn_last_error_message(), "SOFTMAX"));
    CU_ASSERT_EQUAL(clattn_ref_attention_ex(&desc, &a), CLATTN_ERROR_INVALID_VALUE);
    desc.norm = CLATTN_NORM_SOFTMAX;
    CU_ASSERT_EQUAL(clattn_attention_ex(h, &desc, &a), CLATTN_SUCCESS);
    desc.sinks = 0;
    a.sinks = NULL;
    /* dropout outside [0, 1) */
    const float bad[] = {1.0f, 1.5f, -0.1f, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        desc.dropout = bad[i];
        CU_ASSERT_EQUAL(clattn_attention_ex(h, &desc, &a), CLATTN_ERROR_INVALID_VALUE);
        CU_ASSERT_EQUAL(clattn_cpu_attention_ex(&desc, &a), CLATTN_ERROR_INVALID_VALUE);
        CU_ASSERT_EQUAL(clattn_ref_attention_ex(&desc, &a), CLATTN_ERROR_INVALID_VALUE);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(clattn_last_error_message(), "dropout"));
    /* the weights path takes neither feature */
    desc.dropout = 0.5f;
    CU_ASSERT_EQUAL(clattn_attention_weights(h, &desc, q, k, NULL, w), CLATTN_ERROR_INVALID_VALUE);
    desc.dropout = 0.0f;
    desc.sink_keys = 2;
    CU_ASSERT_EQUAL(clattn_attention_weights(h, &desc, q, k, NULL, w), CLATTN_ERROR_INVALID_VALUE);
    free(q);
    free(k);
    free(v);
    free(o);
    free(w);
}

/* ---- with varlen and a paged KV cache: per sequence ------------------------------------
 * Sinks, sink keys and dropout are per-row features: sequence b of a varlen or paged batch
 * is the dense problem of its own rows and keys with the dropout stream offset + b * Hq. The
 * reference is checked against exactly that, sequence by sequence, then the CPU backend and
 * both kernel shapes against the reference (dropping the same weights). One case each, with
 * the window, sink keys, sinks and dropout of sink_keys_window (its programs on the CPU
 * shape; the GPU shape builds its -DPAGED=1 program). */
#define COMPOSE_HQ  4
#define COMPOSE_HKV 2
#define COMPOSE_D   16
#define COMPOSE_DV  64

static void compose_desc(clattn_attention_desc *desc, size_t batch, size_t m, size_t n) {
    clattn_attention_desc_init(desc, batch, COMPOSE_HQ, COMPOSE_HKV, m, n, COMPOSE_D, COMPOSE_DV);
    desc->causal = CLATTN_CAUSAL_BOTTOM_RIGHT;
    desc->window = 1;
    desc->window_left = 40;
    desc->window_right = 0;
    desc->sinks = 1;
    desc->sink_keys = 4;
    desc->dropout = 0.2f;
    desc->dropout_seed = 0x0123456789abcdefull;
    desc->dropout_offset = 5;
}

/* Sequence b's rows of o / lse (layouts of desc) against the dense batch-1 reference `seq`
 * computed into o_seq / lse_seq (the same layouts, offsets moved to the sequence), or, with
 * no keys, O = 0 and LSE = the sink logit. */
static void compose_check_sequence(const clattn_attention_desc *seq, size_t n_b, const float *q,
                                   const float *k, const float *v, const float *sinks,
                                   const float *o, const float *lse, float *o_seq, float *lse_seq,
                                   size_t b) {
    char what[64];
    for (size_t h = 0; h < COMPOSE_HQ; h++)
        for (size_t i = 0; i < seq->m; i++) {
            const float *orow = o + seq->o.offset + h * seq->o.stride[1] + i * seq->o.stride[2];
            const float l = lse[seq->lse.offset + h * seq->lse.stride[1] + i * seq->lse.stride[2]];
            if (!n_b) {
                CU_ASSERT_EQUAL(l, sinks[h]);
                for (size_t c = 0; c < COMPOSE_DV; c++)
                    CU_ASSERT_EQUAL(orow[c], 0.0f);
            }
        }
    if (!n_b) return;
    const clattn_attention_arrays t = {
        .q = q, .k = k, .v = v, .o = o_seq, .lse = lse_seq, .sinks = sinks};
    CU_ASSERT_EQUAL_FATAL(clattn_ref_attention_ex(seq, &t), CLATTN_SUCCESS);
    for (size_t h = 0; h < COMPOSE_HQ; h++)
        for (size_t i = 0; i < seq->m; i++) {
            const size_t orow = seq->o.offset + h * seq->o.stride[1] + i * seq->o.stride[2];
            const size_t lrow = seq->lse.offset + h * seq->lse.stride[1] + i * seq->lse.stride[2];
            snprintf(what, sizeof what, "sequence %zu head %zu row %zu", b, h, i);
            CU_ASSERT_TRUE(test_close(o + orow, o_seq + orow, COMPOSE_DV, 1e-6, 1e-6, what));
            CU_ASSERT_TRUE(test_close(lse + lrow, lse_seq + lrow, 1, 1e-6, 1e-6, what));
        }
}

/* The CPU backend and both kernel shapes against the reference result o_ref / lse_ref. */
static void compose_run_paths(const clattn_attention_desc *desc, clattn_attention_arrays t,
                              const float *o_ref, const float *lse_ref, size_t no, size_t nl,
                              const char *label) {
    for (int path = 0; path < 3; path++) {
        const char *name = path == 0 ? "cpu backend" : test_variant_name(test_variants[path - 1]);
        memset(t.o, 0xff, no * sizeof(float)); /* NaN: every element must be written */
        memset(t.lse, 0xff, nl * sizeof(float));
        clattn_status status;
        if (path == 0) {
            status = clattn_cpu_attention_ex(desc, &t);
        } else {
            clattn_handle *h = test_handle(test_variants[path - 1]);
            CU_ASSERT_PTR_NOT_NULL_FATAL(h);
            status = clattn_attention_ex(h, desc, &t);
        }
        if (status)
            fprintf(stderr, "\n    %s %s: %s: %s\n", label, name, clattn_status_string(status),
                    clattn_last_error_message());
        CU_ASSERT_EQUAL(status, CLATTN_SUCCESS);
        if (status) continue;
        char what[96];
        snprintf(what, sizeof what, "%s %s O", label, name);
        CU_ASSERT_TRUE(test_close(t.o, o_ref, no, atol_for(desc->n), 1e-4, what));
        CU_ASSERT_TRUE(same_zeros(t.o, o_ref, no, what));
        snprintf(what, sizeof what, "%s %s LSE", label, name);
        CU_ASSERT_TRUE(test_close(t.lse, lse_ref, nl, atol_for(desc->n), 1e-4, what));
    }
}

static void compose_varlen(void) {
    /* Sequence 1 has no rows, sequence 2 no keys (O = 0, LSE = the sink). */
    enum { B = 4 };
    const int32_t cu_q[B + 1] = {0, 37, 37, 57, 70}, cu_k[B + 1] = {0, 150, 159, 159, 219};
    const size_t tq = 70, tk = 219, hq = COMPOSE_HQ, hkv = COMPOSE_HKV;
    const size_t d = COMPOSE_D, dv = COMPOSE_DV;
    clattn_attention_desc desc;
    compose_desc(&desc, B, 37, 150);
    desc.varlen = 1;
    desc.q = (clattn_layout){0, {0, d, hq * d}};
    desc.k = (clattn_layout){0, {0, d, hkv * d}};
    desc.v = (clattn_layout){0, {0, dv, hkv * dv}};
    desc.o = (clattn_layout){0, {0, dv, hq * dv}};
    desc.lse = (clattn_layout){0, {0, tq, 1}};
    const size_t no = tq * hq * dv, nl = hq * tq;
    float *q = malloc(tq * hq * d * sizeof *q), *k = malloc(tk * hkv * d * sizeof *k);
    float *v = malloc(tk * hkv * dv * sizeof *v), sinks[COMPOSE_HQ];
    float *o_ref = malloc(no * sizeof *o_ref), *lse_ref = malloc(nl * sizeof *lse_ref);
    float *o = malloc(no * sizeof *o), *lse = malloc(nl * sizeof *lse);
    CU_ASSERT_FATAL(q && k && v && o_ref && lse_ref && o && lse);
    uint64_t seed = 41;
    test_fill(q, tq * hq * d, &seed, -1.0f, 1.0f);
    test_fill(k, tk * hkv * d, &seed, -1.0f, 1.0f);
    test_fill(v, tk * hkv * dv, &seed, -1.0f, 1.0f);
    test_fill(sinks, hq, &seed, -2.0f, 2.0f);
    const clattn_attention_arrays t = {.q = q,
                                       .k = k,
                                       .v = v,
                                       .o = o_ref,
                                       .lse = lse_ref,
                                       .sinks = sinks,
                                       .cu_seqlens_q = cu_q,
                                       .cu_seqlens_k = cu_k};
    CU_ASSERT_EQUAL_FATAL(clattn_ref_attention_ex(&desc, &t), CLATTN_SUCCESS);
    for (size_t b = 0; b < B; b++) {
        const size_t m_b = (size_t)(cu_q[b + 1] - cu_q[b]), n_b = (size_t)(cu_k[b + 1] - cu_k[b]);
        if (!m_b) continue;
        clattn_attention_desc seq = desc;
        compose_desc(&seq, 1, m_b, n_b ? n_b : 1);
        seq.dropout_offset += b * hq;
        seq.q = (clattn_layout){(size_t)cu_q[b] * hq * d, {0, d, hq * d}};
        seq.k = (clattn_layout){(size_t)cu_k[b] * hkv * d, {0, d, hkv * d}};
        seq.v = (clattn_layout){(size_t)cu_k[b] * hkv * dv, {0, dv, hkv * dv}};
        seq.o = (clattn_layout){(size_t)cu_q[b] * hq * dv, {0, dv, hq * dv}};
        seq.lse = (clattn_layout){(size_t)cu_q[b], {0, tq, 1}};
        compose_check_sequence(&seq, n_b, q, k, v, sinks, o_ref, lse_ref, o, lse, b);
    }
    clattn_attention_arrays run = t;
    run.o = o, run.lse = lse;
    compose_run_paths(&desc, run, o_ref, lse_ref, no, nl, "varlen");
    free(q), free(k), free(v), free(o_ref), free(lse_ref), free(o), free(lse);
}

static void compose_paged(void) {
    /* Prefill of M = 5 rows against the cache (the last 5 positions), pages in a shuffled
     * order; sequence 2 has no keys (O = 0, LSE = the sink); split-KV (the merge adds the
     * sink). */
    enum { B = 3, M = 5, P = 16, MAXP = 10, NP = 16 };
    const int32_t seqlens[B] = {150, 37, 0};
    int32_t table[B * MAXP] = {0};
    const int32_t order[NP] = {7, 3, 12, 0, 9, 14, 5, 1, 10, 15, 2, 8, 13, 4, 11, 6};
    for (size_t b = 0, at = 0; b < B; b++)
        for (size_t x = 0; x < ((size_t)seqlens[b] + P - 1) / P; x++)
            table[b * MAXP + x] = order[at++];
    const size_t hq = COMPOSE_HQ, hkv = COMPOSE_HKV, d = COMPOSE_D, dv = COMPOSE_DV;
    clattn_attention_desc desc;
    compose_desc(&desc, B, M, 1);
    clattn_attention_desc_paged(&desc, P, NP, MAXP);
    desc.kv_splits = 2;
    const size_t nq = B * hq * M * d, nk = NP * hkv * P * d, nv = NP * hkv * P * dv;
    const size_t no = B * hq * M * dv, nl = B * hq * M;
    float *q = malloc(nq * sizeof *q), *k = malloc(nk * sizeof *k), *v = malloc(nv * sizeof *v);
    float *kd = malloc(hkv * desc.n * d * sizeof *kd), *vd = malloc(hkv * desc.n * dv * sizeof *vd);
    float *o_ref = malloc(no * sizeof *o_ref), *lse_ref = malloc(nl * sizeof *lse_ref);
    float *o = malloc(no * sizeof *o), *lse = malloc(nl * sizeof *lse), sinks[COMPOSE_HQ];
    CU_ASSERT_FATAL(q && k && v && kd && vd && o_ref && lse_ref && o && lse);
    uint64_t seed = 42;
    test_fill(q, nq, &seed, -1.0f, 1.0f);
    test_fill(k, nk, &seed, -1.0f, 1.0f);
    test_fill(v, nv, &seed, -1.0f, 1.0f);
    test_fill(sinks, hq, &seed, -2.0f, 2.0f);
    const clattn_attention_arrays t = {.q = q,
                                       .k = k,
                                       .v = v,
                                       .o = o_ref,
                                       .lse = lse_ref,
                                       .sinks = sinks,
                                       .block_table = table,
                                       .seqlens_k = seqlens};
    CU_ASSERT_EQUAL_FATAL(clattn_ref_attention_ex(&desc, &t), CLATTN_SUCCESS);
    for (size_t b = 0; b < B; b++) {
        const size_t n_b = (size_t)seqlens[b];
        for (size_t hk = 0; hk < hkv; hk++) /* the sequence's keys, gathered dense */
            for (size_t j = 0; j < n_b; j++) {
                const size_t page = (size_t)table[b * MAXP + j / P];
                memcpy(kd + (hk * n_b + j) * d, k + ((page * hkv + hk) * P + j % P) * d,
                       d * sizeof *kd);
                memcpy(vd + (hk * n_b + j) * dv, v + ((page * hkv + hk) * P + j % P) * dv,
                       dv * sizeof *vd);
            }
        clattn_attention_desc seq;
        compose_desc(&seq, 1, M, n_b ? n_b : 1);
        seq.dropout_offset += b * hq;
        seq.q.offset = b * hq * M * d;
        seq.o.offset = b * hq * M * dv;
        seq.lse.offset = b * hq * M;
        compose_check_sequence(&seq, n_b, q, kd, vd, sinks, o_ref, lse_ref, o, lse, b);
    }
    clattn_attention_arrays run = t;
    run.o = o, run.lse = lse;
    compose_run_paths(&desc, run, o_ref, lse_ref, no, nl, "paged");
    free(q), free(k), free(v), free(kd), free(vd), free(o_ref), free(lse_ref), free(o), free(lse);
}

static void add_suites(void) {
    static const test_case sinks[] = {
        {"prefill, GQA, mask", sinks_prefill},  {"split-KV", sinks_split_kv},
        {"fully masked row", sinks_masked_row}, {"sink keys with a window", sink_keys_window},
        {"invalid values", invalid_values},     {NULL, NULL}};
    test_add_suite("attention_sinks", sinks);
    static const test_case dropout[] = {{"Philox known answers", philox_known_answers},
                                        {"exact mask on every path", dropout_exact_mask},
                                        {"SUM norm", dropout_sum},
                                        {"kept fraction", dropout_kept_fraction},
                                        {NULL, NULL}};
    test_add_suite("attention_dropout", dropout);
    static const test_case compose[] = {
        {"varlen batch", compose_varlen}, {"paged KV cache", compose_paged}, {NULL, NULL}};
    test_add_suite("sinkdrop_compose", compose);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
