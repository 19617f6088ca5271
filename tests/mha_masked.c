#include "mha_masked.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a padded batch of sentences ---------------------------------------------------- */

enum { BATCH = 4, TOKENS = 13 };
typedef struct sentence {
    size_t length;
    bool left_padded; /* real tokens at the end */
} sentence;
static const sentence sentences[BATCH] = {{13, false}, {8, false}, {5, true}, {1, false}};

static size_t first_token(const sentence *s) {
    return s->left_padded ? TOKENS - s->length : 0;
}

static bool is_real(size_t b, size_t j) {
    const size_t start = first_token(&sentences[b]);
    return j >= start && j < start + sentences[b].length;
}

/* The key-padding mask [B, T] of the batch: 1 / 0 or 0 / -inf. */
static void *key_padding_mask(clattn_mask_kind kind) {
    unsigned char *bytes = malloc(BATCH * TOKENS);
    float *floats = malloc(BATCH * TOKENS * sizeof *floats);
    CU_ASSERT_FATAL(bytes && floats);
    for (size_t b = 0; b < BATCH; b++)
        for (size_t j = 0; j < TOKENS; j++) {
            bytes[b * TOKENS + j] = is_real(b, j);
            floats[b * TOKENS + j] = is_real(b, j) ? 0.0f : -INFINITY;
        }
    if (kind == CLATTN_MASK_BOOLEAN) return free(floats), bytes;
    return free(bytes), floats;
}

/* Runs each sentence alone (no padding, no mask) and compares its rows of got. */
static bool matches_alone(mha_forward_fn fn, void *backend, const mcase *c, const model *m,
                          const float *x, const float *got, const char *name) {
    bool ok = true;
    float *alone = malloc(TOKENS * c->d_out * sizeof *alone);
    CU_ASSERT_FATAL(alone != NULL);
    for (size_t b = 0; b < BATCH; b++) {
        const sentence *s = &sentences[b];
        mcase one = *c;
        one.b = 1, one.t = s->length;
        const clattn_mha_desc desc = mha_desc_of(&one);
        const size_t start = first_token(s);
        const float *xs = x + (b * TOKENS + start) * c->d_in;
        CU_ASSERT_EQUAL_FATAL(fn(backend, &desc, &m->w, xs, NULL, alone), CLATTN_SUCCESS);
        const float *rows = got + (b * TOKENS + start) * c->d_out;
        /* Two float32 results, each within the tolerance of the exact one. */
        if (!test_close(rows, alone, s->length * c->d_out, 2 * mha_tolerance(c), 0, name)) {
            fprintf(stderr, "    %s: sentence %zu (length %zu) differs from its run alone\n", name,
                    b, s->length);
            ok = false;
        }
    }
    free(alone);
    return ok;
}

/* Rows that attend nothing (left padding before the first real token, causal) are bo. */
static bool empty_rows_are_bo(const mcase *c, const model *m, const float *got) {
    bool ok = true;
    for (size_t b = 0; b < BATCH; b++)
        for (size_t i = 0; i < first_token(&sentences[b]); i++)
            for (size_t col = 0; col < c->d_out; col++)
                ok &= got[(b * TOKENS + i) * c->d_out + col] == m->bo[col];
    return ok;
}

void check_mha_padded_batch(mha_forward_fn fn, void *backend, const char *name) {
    const mcase c = {BATCH, TOKENS, 20, 24, 4, 0, 1};
    model m;
    make_model(&c, &m, 0x5e7e4ce5ull);
    const size_t xn = c.b * c.t * c.d_in, on = c.b * c.t * c.d_out;
    float *x = malloc(xn * sizeof *x), *got = malloc(on * sizeof *got);
    float *want = malloc(on * sizeof *want);
    CU_ASSERT_FATAL(x && got && want);
    for (int causal = 0; causal <= 1; causal++)
        for (int kind = CLATTN_MASK_ADDITIVE; kind <= CLATTN_MASK_BOOLEAN; kind++)
            for (int nan_padding = 0; nan_padding <= 1; nan_padding++) {
                /* Padding tokens hold whatever the batch had there: here random values or
                 * NaN, which must not reach a real token's output. */
                memcpy(x, m.x, xn * sizeof *x);
                for (size_t b = 0; nan_padding && b < BATCH; b++)
                    for (size_t j = 0; j < TOKENS; j++)
                        for (size_t col = 0; !is_real(b, j) && col < c.d_in; col++)
                            x[(b * TOKENS + j) * c.d_in + col] = NAN;
                mcase cc = c;
                cc.causal = causal;
                clattn_mha_desc desc = mha_desc_of(&cc);
                desc.mask_kind = (clattn_mask_kind)kind;
                desc.mask_shape = CLATTN_MHA_MASK_KEY_PADDING;
                void *mask = key_padding_mask(desc.mask_kind);
                memset(got, 0xff, on * sizeof *got);
                clattn_status status = fn(backend, &desc, &m.w, x, mask, got);
                if (status) fprintf(stderr, "\n    %s\n", clattn_last_error_message());
                CU_ASSERT_EQUAL_FATAL(status, CLATTN_SUCCESS);
                char what[96];
                snprintf(what, sizeof what, "%s padded batch causal %d kind %d nan %d", name,
                         causal, kind, nan_padding);
                if (!nan_padding) { /* the padded rows are defined too: as the reference */
                    CU_ASSERT_EQUAL_FATAL(clattn_ref_mha_forward_masked(&desc, &m.w, x, mask, want),
                                          0);
                    CU_ASSERT(test_close(got, want, on, mha_tolerance(&cc), 0, what));
                }
                CU_ASSERT(matches_alone(fn, backend, &cc, &m, x, got, what));
                if (causal) CU_ASSERT(empty_rows_are_bo(&cc, &m, got));
                free(mask);
            }
    free(x), free(got), free(want);
    free_model(&m);
}

/* ---- every shape and kind against the reference ------------------------------------- */

/* A random mask of count elements: boolean with about 3 in 4 attended, or additive in
 * [-2, 1) with about 1 in 5 at -inf (some rows end up fully masked either way). */
static void *random_mask(clattn_mask_kind kind, size_t count, uint64_t seed) {
    float *u = malloc(count * sizeof *u), *v = malloc(count * sizeof *v);
    CU_ASSERT_FATAL(u && v);
    test_fill(u, count, &seed, 0, 1);
    test_fill(v, count, &seed, -2, 1);
    if (kind == CLATTN_MASK_ADDITIVE) {
        for (size_t i = 0; i < count; i++)
            v[i] = u[i] < 0.2f ? -INFINITY : v[i];
        return free(u), v;
    }
    unsigned char *bytes = malloc(count);
    CU_ASSERT_FATAL(bytes != NULL);
    for (size_t i = 0; i < count; i++)
        bytes[i] = u[i] < 0.75f;
    return free(u), free(v), bytes;
}

static size_t mask_count(const mcase *c, clattn_mha_mask_shape shape) {
    if (shape == CLATTN_MHA_MASK_KEY_PADDING) return c->b * c->t;
    return c->b * (shape == CLATTN_MHA_MASK_PER_HEAD ? c->heads : 1) * c->t * c->t;
}

void check_mha_mask_shapes(mha_forward_fn fn, void *backend, const char *name) {
    /* Head dims 5 and 16, T across the CPU kernel's 8-row and 32-key tiles. */
    const mcase cases[] = {{2, 9, 12, 15, 3, 0, 1}, {3, 37, 16, 32, 2, 1, 0}};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        model m;
        make_model(&cases[ci], &m, 777 + ci);
        const size_t on = cases[ci].b * cases[ci].t * cases[ci].d_out;
        float *got = malloc(on * sizeof *got), *want = malloc(on * sizeof *want);
        CU_ASSERT_FATAL(got && want);
        for (int causal = 0; causal <= 1; causal++)
            for (int shape = 0; shape <= CLATTN_MHA_MASK_KEY_PADDING; shape++)
                for (int kind = CLATTN_MASK_ADDITIVE; kind <= CLATTN_MASK_BOOLEAN; kind++) {
                    mcase c = cases[ci];
                    c.causal = causal;
                    clattn_mha_desc desc = mha_desc_of(&c);
                    desc.mask_kind = (clattn_mask_kind)kind;
                    desc.mask_shape = (clattn_mha_mask_shape)shape;
                    void *mask = random_mask(desc.mask_kind, mask_count(&c, desc.mask_shape),
                                             31 + ci * 100 + causal * 10 + shape * 3 + kind);
                    CU_ASSERT_EQUAL_FATAL(
                        clattn_ref_mha_forward_masked(&desc, &m.w, m.x, mask, want), 0);
                    memset(got, 0xff, on * sizeof *got);
                    clattn_status status = fn(backend, &desc, &m.w, m.x, mask, got);
                    if (status) fprintf(stderr, "\n    %s\n", clattn_last_error_message());
                    CU_ASSERT_EQUAL(status, CLATTN_SUCCESS);
                    char what[96];
                    snprintf(what, sizeof what, "%s mask t%zu causal %d shape %d kind %d", name,
                             c.t, causal, shape, kind);
                    if (!status) CU_ASSERT(test_close(got, want, on, mha_tolerance(&c), 0, what));
                    free(mask);
                }
        free(got), free(want);
        free_model(&m);
    }
}

/* ---- bad masks ---------------------------------------------------------------------- */

void check_mha_mask_invalid(mha_forward_fn fn, void *backend,
                            clattn_status (*plain)(void *backend, const clattn_mha_desc *desc,
                                                   const clattn_mha_weights *weights,
                                                   const float *x, float *out)) {
    float a[64] = {0}, out[64];
    unsigned char mask[64] = {0};
    const clattn_mha_weights w = {a, a, a, a, NULL, NULL, NULL, NULL, NULL};
    const clattn_mha_desc ok = {.batch = 1,
                                .tokens = 2,
                                .d_in = 4,
                                .d_out = 4,
                                .heads = 2,
                                .mask_kind = CLATTN_MASK_BOOLEAN,
                                .mask_shape = CLATTN_MHA_MASK_KEY_PADDING};
    clattn_mha_desc bad;
    CU_ASSERT_EQUAL(fn(backend, &ok, &w, a, mask, out), CLATTN_SUCCESS);
    /* All keys masked: a zero context, out = bo = 0. */
    for (int i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(out[i], 0.0f);
    CU_ASSERT_EQUAL(fn(backend, &ok, &w, a, NULL, out), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_ref_mha_forward_masked(&ok, &w, a, NULL, out),
                    CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(plain(backend, &ok, &w, a, out), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT(strstr(clattn_last_error_message(), "masked") != NULL);
    bad = ok, bad.mask_kind = (clattn_mask_kind)7;
    CU_ASSERT_EQUAL(fn(backend, &bad, &w, a, mask, out), CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_ref_mha_forward_masked(&bad, &w, a, mask, out),
                    CLATTN_ERROR_INVALID_VALUE);
    bad = ok, bad.mask_shape = (clattn_mha_mask_shape)3;
    CU_ASSERT_EQUAL(fn(backend, &bad, &w, a, mask, out), CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_ref_mha_forward_masked(&bad, &w, a, mask, out),
                    CLATTN_ERROR_INVALID_VALUE);
    /* Without a mask kind the mask and its shape are ignored. */
    bad = ok, bad.mask_kind = CLATTN_MASK_NONE, bad.mask_shape = (clattn_mha_mask_shape)3;
    CU_ASSERT_EQUAL(fn(backend, &bad, &w, a, NULL, out), CLATTN_SUCCESS);
    /* B * H * T * T overflows while the rest of the layer's sizes fit. */
    bad = ok, bad.tokens = (size_t)1 << 24, bad.d_in = 1, bad.d_out = bad.heads = (size_t)1 << 16;
    bad.mask_shape = CLATTN_MHA_MASK_PER_HEAD;
    CU_ASSERT_EQUAL(fn(backend, &bad, &w, a, mask, out), CLATTN_ERROR_SIZE_OVERFLOW);
    CU_ASSERT_EQUAL(clattn_ref_mha_forward_masked(&bad, &w, a, mask, out),
                    CLATTN_ERROR_SIZE_OVERFLOW);
}
