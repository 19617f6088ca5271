#include "mha_variants.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Odd sizes: T = 37 crosses the CPU kernel's 8-row and 32-key tiles, 3 heads (ALiBi's
 * non-power-of-two slopes) of 16. */
static const mcase base_case = {2, 37, 20, 48, 3, 0, 1};

/* A key-padding mask [B, T] for base_case: batch 1 has its last 11 tokens padded. */
static unsigned char *padding_mask(void) {
    unsigned char *m = malloc(base_case.b * base_case.t);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    for (size_t b = 0; b < base_case.b; b++)
        for (size_t j = 0; j < base_case.t; j++)
            m[b * base_case.t + j] = b == 0 || j < base_case.t - 11;
    return m;
}

typedef struct variant_case {
    const char *what;
    int causal;
    float softcap;
    int alibi, window;
    long left, right;
    size_t sink_keys;
    bool sinks, padding;
    float dropout;
    bool on_device; /* also run on the OpenCL kernels */
} variant_case;

/* Each set of variants is its own kernel program, and a cold build of one takes seconds on
 * a CPU runtime (CI may run these with a cold cache), so the OpenCL kernels run only the
 * last case, which has them all; each variant alone runs on the CPU backend (no builds). */
static const variant_case variant_cases[] = {
    {"softcap", 0, 0.5f, 0, 0, 0, 0, 0, false, false, 0.0f, false},
    {"alibi causal", 1, 0.0f, 1, 0, 0, 0, 0, false, false, 0.0f, false},
    {"window 5,3", 0, 0.0f, 0, 1, 5, 3, 0, false, false, 0.0f, false},
    {"window 5,3 + sink keys", 0, 0.0f, 0, 1, 5, 3, 3, false, false, 0.0f, false},
    {"sinks", 0, 0.0f, 0, 0, 0, 0, 0, true, false, 0.0f, false},
    {"dropout", 0, 0.0f, 0, 0, 0, 0, 0, false, false, 0.3f, false},
    {"window 4,-1 + sinks + sink keys + dropout + padding, causal", 1, 0.0f, 0, 1, 4, -1, 2, true,
     true, 0.3f, false},
    {"softcap + alibi + window 4,-1 + sinks + sink keys + dropout + padding, causal", 1, 0.5f, 1, 1,
     4, -1, 2, true, true, 0.3f, true},
};
#define ALL_VARIANTS (&variant_cases[sizeof variant_cases / sizeof variant_cases[0] - 1])

static clattn_mha_desc desc_of(const variant_case *v) {
    mcase c = base_case;
    c.causal = v->causal;
    clattn_mha_desc d = mha_desc_of(&c);
    d.softcap = v->softcap;
    d.alibi = v->alibi;
    d.window = v->window;
    d.window_left = v->left;
    d.window_right = v->right;
    d.sink_keys = v->sink_keys;
    d.dropout = v->dropout;
    d.dropout_seed = 0x1234abcdull;
    d.dropout_offset = 5;
    if (v->padding) {
        d.mask_kind = CLATTN_MASK_BOOLEAN;
        d.mask_shape = CLATTN_MHA_MASK_KEY_PADDING;
    }
    return d;
}

/* The largest absolute difference. */
static double max_diff(const float *a, const float *b, size_t n) {
    double worst = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)a[i] - (double)b[i]) > worst) worst = fabs((double)a[i] - (double)b[i]);
    return worst;
}

/* The case with each of its variants turned off in turn: each must change the reference's
 * output by far more than the tolerance, or the comparison would not test it. */
static void check_each_matters(const variant_case *v, const model *m, const float *sinks,
                               const unsigned char *padding, const float *want, float *other) {
    const size_t on = base_case.b * base_case.t * base_case.d_out;
    for (int part = 0; part < 7; part++) {
        variant_case u = *v;
        bool *flags[2] = {&u.sinks, &u.padding};
        const bool set[7] = {u.softcap != 0.0f, u.alibi != 0,      u.window != 0, u.sinks,
                             u.sink_keys != 0,  u.dropout != 0.0f, u.padding};
        if (!set[part]) continue;
        if (part == 0) u.softcap = 0.0f;
        if (part == 1) u.alibi = 0;
        if (part == 2) u.window = 0;
        if (part == 3 || part == 6) *flags[part == 6] = false;
        if (part == 4) u.sink_keys = 0;
        if (part == 5) u.dropout = 0.0f;
        const clattn_mha_desc d = desc_of(&u);
        clattn_mha_weights w = m->w;
        w.sinks = u.sinks ? sinks : NULL;
        CU_ASSERT_EQUAL_FATAL(
            clattn_ref_mha_forward_masked(&d, &w, m->x, u.padding ? padding : NULL, other), 0);
        if (max_diff(want, other, on) < 100 * mha_tolerance(&base_case)) {
            fprintf(stderr, "    mha %s: variant %d does not change the output\n", v->what, part);
            CU_FAIL("variant without effect");
        }
    }
}

void check_mha_variants(mha_forward_fn fn, void *backend, const char *name, bool opencl) {
    model m;
    make_model(&base_case, &m, 0x7a41a7105ull);
    const float sinks[3] = {0.4f, -0.3f, 1.1f}; /* of the order of the scores */
    unsigned char *padding = padding_mask();
    const size_t on = base_case.b * base_case.t * base_case.d_out;
    float *got = malloc(on * sizeof *got), *want = malloc(on * sizeof *want);
    float *plain = malloc(on * sizeof *plain);
    CU_ASSERT_FATAL(got && want && plain);
    const double tol = mha_tolerance(&base_case);
    for (size_t i = 0; i < sizeof variant_cases / sizeof variant_cases[0]; i++) {
        const variant_case *v = &variant_cases[i];
        if (opencl && !v->on_device) continue;
        const clattn_mha_desc desc = desc_of(v);
        clattn_mha_weights w = m.w;
        w.sinks = v->sinks ? sinks : NULL;
        const void *mask = v->padding ? padding : NULL;
        CU_ASSERT_EQUAL_FATAL(clattn_ref_mha_forward_masked(&desc, &w, m.x, mask, want), 0);
        memset(got, 0xff, on * sizeof *got);
        const clattn_status status = fn(backend, &desc, &w, m.x, mask, got);
        if (status) fprintf(stderr, "\n    %s\n", clattn_last_error_message());
        CU_ASSERT_EQUAL(status, CLATTN_SUCCESS);
        char what[128];
        snprintf(what, sizeof what, "%s mha %s", name, v->what);
        if (!status) CU_ASSERT(test_close(got, want, on, tol, 0, what));
        check_each_matters(v, &m, sinks, padding, want, plain);
    }
    free(got), free(want), free(plain), free(padding);
    free_model(&m);
}

void check_mha_dropout(mha_forward_fn fn, void *backend, const char *name) {
    model m;
    make_model(&base_case, &m, 0xd50ull);
    const float sinks[3] = {-0.2f, 0.6f, 0.1f};
    unsigned char *padding = padding_mask();
    const size_t on = base_case.b * base_case.t * base_case.d_out;
    float *got = malloc(on * sizeof *got), *want = malloc(on * sizeof *want);
    float *again = malloc(on * sizeof *again);
    CU_ASSERT_FATAL(got && want && again);
    /* With all the variants (the program check_mha_variants builds on the kernels). */
    clattn_mha_desc desc = desc_of(ALL_VARIANTS);
    desc.dropout_seed = 42;
    clattn_mha_weights w = m.w;
    w.sinks = sinks;
    char what[96];
    /* One weight of a row is about 1/T of it: a weight dropped on one side only moves the
     * output by ~1e-2, three orders above the tolerance. */
    for (uint64_t offset = 0; offset <= 6; offset += 6) { /* B * H = 6: the next call's */
        desc.dropout_offset = offset;
        CU_ASSERT_EQUAL_FATAL(clattn_ref_mha_forward_masked(&desc, &w, m.x, padding, want), 0);
        CU_ASSERT_EQUAL_FATAL(fn(backend, &desc, &w, m.x, padding, got), CLATTN_SUCCESS);
        snprintf(what, sizeof what, "%s mha dropout 0.3 offset %llu", name,
                 (unsigned long long)offset);
        CU_ASSERT(test_close(got, want, on, mha_tolerance(&base_case), 0, what));
        if (offset) CU_ASSERT(max_diff(got, again, on) > 1e-3); /* a fresh mask */
        memcpy(again, got, on * sizeof *got);
    }
    /* Deterministic: the same call gives the same output. */
    CU_ASSERT_EQUAL_FATAL(fn(backend, &desc, &w, m.x, padding, got), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(memcmp(got, again, on * sizeof *got), 0);
    free(got), free(want), free(again), free(padding);
    free_model(&m);
}

void check_mha_variants_invalid(mha_forward_fn fn, void *backend) {
    model m;
    make_model(&base_case, &m, 0x1badull);
    const size_t on = base_case.b * base_case.t * base_case.d_out;
    float *got = malloc(on * sizeof *got), *want = malloc(on * sizeof *want);
    CU_ASSERT_FATAL(got && want);
    const clattn_mha_desc ok = mha_desc_of(&base_case);
    static const struct {
        float softcap;
        long left, right;
        float dropout;
        const char *message; /* the attention's */
    } bad_cases[] = {{-1.0f, 0, 0, 0.0f, "softcap must be finite"},
                     {INFINITY, 0, 0, 0.0f, "softcap must be finite"},
                     {0.0f, -2, 0, 0.0f, "window sizes must be >= 0 or -1"},
                     {0.0f, 3, -5, 0.0f, "window sizes must be >= 0 or -1"},
                     {0.0f, 0, 0, 1.0f, "dropout must be in [0, 1)"},
                     {0.0f, 0, 0, -0.1f, "dropout must be in [0, 1)"},
                     {0.0f, 0, 0, NAN, "dropout must be in [0, 1)"}};
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        clattn_mha_desc bad = ok;
        bad.softcap = bad_cases[i].softcap;
        bad.window = bad_cases[i].left || bad_cases[i].right;
        bad.window_left = bad_cases[i].left;
        bad.window_right = bad_cases[i].right;
        bad.dropout = bad_cases[i].dropout;
        CU_ASSERT_EQUAL(fn(backend, &bad, &m.w, m.x, NULL, got), CLATTN_ERROR_INVALID_VALUE);
        CU_ASSERT_PTR_NOT_NULL(strstr(clattn_last_error_message(), bad_cases[i].message));
        CU_ASSERT_EQUAL(clattn_ref_mha_forward(&bad, &m.w, m.x, want), CLATTN_ERROR_INVALID_VALUE);
        CU_ASSERT_PTR_NOT_NULL(strstr(clattn_last_error_message(), bad_cases[i].message));
    }
    /* A window flag of 0 ignores the sizes, as in attention (the validation every backend
     * shares; the reference saves a program build). */
    clattn_mha_desc ignored = ok;
    ignored.window_left = -7;
    CU_ASSERT_EQUAL(clattn_ref_mha_forward(&ignored, &m.w, m.x, want), CLATTN_SUCCESS);
    /* With all the variants (check_mha_variants' program): NULL sinks are no sinks, as in the
     * reference; given ones count; logits far below every score take no share. */
    const clattn_mha_desc all = desc_of(ALL_VARIANTS);
    unsigned char *padding = padding_mask();
    float *with = malloc(on * sizeof *with);
    CU_ASSERT_FATAL(with != NULL);
    clattn_mha_weights w = m.w;
    w.sinks = NULL;
    CU_ASSERT_EQUAL_FATAL(clattn_ref_mha_forward_masked(&all, &w, m.x, padding, want), 0);
    CU_ASSERT_EQUAL_FATAL(fn(backend, &all, &w, m.x, padding, got), CLATTN_SUCCESS);
    CU_ASSERT(test_close(got, want, on, mha_tolerance(&base_case), 0, "mha NULL sinks"));
    const float given[3] = {0.4f, -0.3f, 1.1f}, far[3] = {-1e4f, -1e4f, -1e4f};
    w.sinks = given;
    CU_ASSERT_EQUAL_FATAL(fn(backend, &all, &w, m.x, padding, with), CLATTN_SUCCESS);
    CU_ASSERT(max_diff(with, got, on) > 100 * mha_tolerance(&base_case));
    w.sinks = far;
    CU_ASSERT_EQUAL_FATAL(fn(backend, &all, &w, m.x, padding, with), CLATTN_SUCCESS);
    CU_ASSERT(test_close(with, got, on, 2 * mha_tolerance(&base_case), 0, "mha far sinks"));
    free(with), free(padding);
    free(got), free(want);
    free_model(&m);
}
