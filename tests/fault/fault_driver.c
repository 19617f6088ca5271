/* One operation run under the fault shim (fault_shim.c), checked for what a failing OpenCL call
 * must never do: crash, hang, leak, return success with a wrong result, fail without a message,
 * half-write an output, or leave the handle unusable.
 *
 *   fault_driver OP      OP: demo, seed_context, normalize, context, attention_mask_lse,
 *                        attention_split_kv, attention_multi_rows, attention_multi_keys
 *                        (clattn_attention_multi on the handle twice), mha;
 *                        CLATTN_FAULT_VARIANT=gpu for GPU-shaped kernels
 *
 * Exits 0 when the run (with or without an injected failure) met every rule, 1 otherwise. Inputs
 * are large enough that their kernels are still running when a later call fails, and they are
 * freed and unmapped as soon as the call returns: a call that returned while its kernels still
 * read them crashes here. */
#include "clattn.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENTINEL -12345.0f

typedef struct output {
    const char *name;
    float *got;
    float *want;
    size_t count;
} output;

typedef struct scenario {
    const char *name;
    /* Computes the references once; then runs on h into the outputs (freshly allocated,
     * filled with SENTINEL) and frees every input before returning the status. */
    void (*setup)(void);
    clattn_status (*run)(clattn_handle *h, output *outs);
    int outputs;
    double atol;
} scenario;

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float *random_array(size_t n, float lo, float hi) {
    float *a = malloc(n * sizeof *a);
    if (!a) abort();
    for (size_t i = 0; i < n; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        a[i] = lo + (hi - lo) * (float)((rng >> 40) * (1.0 / 16777216.0));
    }
    return a;
}
/* A copy of src that the scenario may free: inputs are remade for every run. */
static float *copy(const float *src, size_t n) {
    float *a = malloc(n * sizeof *a);
    if (!a) abort();
    memcpy(a, src, n * sizeof *a);
    return a;
}

/* ---- demo: the seed's 6 x 3 example (the one-launch path) ---- */
static const float seed_x[18] = {0.43f, 0.15f, 0.89f, 0.55f, 0.87f, 0.66f, 0.57f, 0.85f, 0.64f,
                                 0.22f, 0.58f, 0.33f, 0.77f, 0.25f, 0.10f, 0.05f, 0.80f, 0.55f};
static float demo_ref[6 + 6 + 3];
static void demo_setup(void) {
    clattn_ref_scores(6, 3, 1.0f, seed_x, seed_x + 3, demo_ref);
    clattn_ref_normalize(CLATTN_NORM_SUM, 6, demo_ref, demo_ref + 6);
    clattn_ref_context(6, 3, demo_ref + 6, seed_x, demo_ref + 12);
}
static clattn_status demo_run(clattn_handle *h, output *o) {
    o[0].want = demo_ref, o[1].want = demo_ref + 6, o[2].want = demo_ref + 12;
    o[0].count = 6, o[1].count = 6, o[2].count = 3;
    o[0].name = "scores", o[1].name = "weights", o[2].name = "context";
    if (!h) return 0;
    return clattn_query_attention(h, 6, 3, seed_x, seed_x + 3, NULL, 1.0f, CLATTN_NORM_SUM,
                                  o[0].got, o[1].got, o[2].got);
}

/* ---- seed op with context at a size past the one-launch path: scores, normalize, context ---- */
enum { SN = 65536, SD = 64 };
static float *sc_x, *sc_q, *sc_ref;
static void seed_context_setup(void) {
    sc_x = random_array((size_t)SN * SD, -1, 1);
    sc_q = random_array(SD, -1, 1);
    sc_ref = malloc((2 * SN + SD) * sizeof *sc_ref);
    clattn_ref_scores(SN, SD, 0.125f, sc_x, sc_q, sc_ref);
    clattn_ref_normalize(CLATTN_NORM_SOFTMAX, SN, sc_ref, sc_ref + SN);
    clattn_ref_context(SN, SD, sc_ref + SN, sc_x, sc_ref + 2 * SN);
}
static clattn_status seed_context_run(clattn_handle *h, output *o) {
    o[0].want = sc_ref, o[1].want = sc_ref + SN, o[2].want = sc_ref + 2 * SN;
    o[0].count = SN, o[1].count = SN, o[2].count = SD;
    o[0].name = "scores", o[1].name = "weights", o[2].name = "context";
    if (!h) return 0;
    float *x = copy(sc_x, (size_t)SN * SD), *q = copy(sc_q, SD);
    clattn_status st = clattn_query_attention(h, SN, SD, x, q, NULL, 0.125f, CLATTN_NORM_SOFTMAX,
                                              o[0].got, o[1].got, o[2].got);
    free(x), free(q);
    return st;
}

/* ---- normalize and context alone (their blocking forms) ---- */
enum { NN = 1 << 20 };
static float *nz_s, *nz_ref;
static void normalize_setup(void) {
    nz_s = random_array(NN, -4, 4);
    nz_ref = malloc(NN * sizeof *nz_ref);
    clattn_ref_normalize(CLATTN_NORM_SOFTMAX, NN, nz_s, nz_ref);
}
static clattn_status normalize_run(clattn_handle *h, output *o) {
    o[0].want = nz_ref, o[0].count = NN, o[0].name = "weights";
    if (!h) return 0;
    float *s = copy(nz_s, NN);
    clattn_status st = clattn_normalize(h, CLATTN_NORM_SOFTMAX, NN, s, o[0].got);
    free(s);
    return st;
}
enum { CN = 65536, CD = 256 };
static float *cx_w, *cx_v, *cx_ref;
static void context_setup(void) {
    cx_w = random_array(CN, 0, 1.0f / CN);
    cx_v = random_array((size_t)CN * CD, -1, 1);
    cx_ref = malloc(CD * sizeof *cx_ref);
    clattn_ref_context(CN, CD, cx_w, cx_v, cx_ref);
}
static clattn_status context_run(clattn_handle *h, output *o) {
    o[0].want = cx_ref, o[0].count = CD, o[0].name = "context";
    if (!h) return 0;
    float *w = copy(cx_w, CN), *v = copy(cx_v, (size_t)CN * CD);
    clattn_status st = clattn_context(h, CN, CD, w, v, o[0].got);
    free(w), free(v);
    return st;
}

/* ---- fused attention: a boolean mask and the LSE; split-KV with causal masking ---- */
typedef struct attn_case {
    clattn_attention_desc desc;
    float *q, *k, *v, *o_ref, *lse_ref;
    unsigned char *mask;
    size_t nq, nk, nv, no, nl, nm;
} attn_case;
static attn_case ac;
static void attn_setup(size_t b, size_t hq, size_t hk, size_t m, size_t n, size_t d, bool mask,
                       bool causal, size_t splits) {
    clattn_attention_desc_init(&ac.desc, b, hq, hk, m, n, d, d);
    ac.nq = b * hq * m * d, ac.nk = ac.nv = b * hk * n * d, ac.no = b * hq * m * d;
    ac.nl = b * hq * m, ac.nm = m * n;
    ac.q = random_array(ac.nq, -1, 1), ac.k = random_array(ac.nk, -1, 1);
    ac.v = random_array(ac.nv, -1, 1);
    if (mask) {
        ac.desc.mask_kind = CLATTN_MASK_BOOLEAN;
        ac.mask = malloc(ac.nm);
        for (size_t i = 0; i < ac.nm; i++)
            ac.mask[i] = (unsigned char)((i * 7 + i / n) % 5 != 0);
    }
    if (causal) ac.desc.causal = CLATTN_CAUSAL_TOP_LEFT;
    ac.desc.kv_splits = splits;
    ac.o_ref = malloc(ac.no * sizeof(float)), ac.lse_ref = malloc(ac.nl * sizeof(float));
    clattn_ref_attention(&ac.desc, ac.q, ac.k, ac.v, ac.mask, ac.o_ref, ac.lse_ref);
}
static void attention_mask_lse_setup(void) {
    attn_setup(2, 4, 2, 200, 300, 64, true, false, 1);
}
static void attention_split_kv_setup(void) {
    attn_setup(1, 2, 1, 3, 4096, 64, false, true, 4);
}
static clattn_status attention_run(clattn_handle *h, output *o) {
    o[0].want = ac.o_ref, o[0].count = ac.no, o[0].name = "O";
    o[1].want = ac.lse_ref, o[1].count = ac.nl, o[1].name = "LSE";
    if (!h) return 0;
    float *q = copy(ac.q, ac.nq), *k = copy(ac.k, ac.nk), *v = copy(ac.v, ac.nv);
    unsigned char *mask = NULL;
    if (ac.mask) {
        mask = malloc(ac.nm);
        memcpy(mask, ac.mask, ac.nm);
    }
    clattn_status st = clattn_attention(h, &ac.desc, q, k, v, mask, o[0].got, o[1].got);
    free(q), free(k), free(v), free(mask);
    return st;
}

/* The same problems split across the handle twice (rows for the first, keys for the second):
 * a failure in any part leaves both outputs untouched. */
static clattn_status attention_multi_run(clattn_handle *h, output *o) {
    o[0].want = ac.o_ref, o[0].count = ac.no, o[0].name = "O";
    o[1].want = ac.lse_ref, o[1].count = ac.nl, o[1].name = "LSE";
    if (!h) return 0;
    float *q = copy(ac.q, ac.nq), *k = copy(ac.k, ac.nk), *v = copy(ac.v, ac.nv);
    unsigned char *mask = NULL;
    if (ac.mask) {
        mask = malloc(ac.nm);
        memcpy(mask, ac.mask, ac.nm);
    }
    clattn_handle *const group[2] = {h, h};
    const float shares[2] = {1, 2};
    clattn_status st =
        clattn_attention_multi(group, 2, shares, &ac.desc, q, k, v, mask, o[0].got, o[1].got);
    free(q), free(k), free(v), free(mask);
    return st;
}

/* ---- multi-head attention with projections ---- */
static clattn_mha_desc md = {
    .batch = 2, .tokens = 33, .d_in = 48, .d_out = 64, .heads = 4, .causal = 1};
static float *mx, *mw[4], *mb[4], *m_ref;
static void mha_setup(void) {
    mx = random_array(md.batch * md.tokens * md.d_in, -1, 1);
    for (int i = 0; i < 4; i++) {
        mw[i] = random_array(md.d_out * (i == 3 ? md.d_out : md.d_in), -0.2f, 0.2f);
        mb[i] = random_array(md.d_out, -0.1f, 0.1f);
    }
    m_ref = malloc(md.batch * md.tokens * md.d_out * sizeof *m_ref);
    clattn_mha_weights w = {mw[0], mw[1], mw[2], mw[3], mb[0], mb[1], mb[2], mb[3], NULL};
    clattn_ref_mha_forward(&md, &w, mx, m_ref);
}
static clattn_status mha_run(clattn_handle *h, output *o) {
    o[0].want = m_ref, o[0].count = md.batch * md.tokens * md.d_out, o[0].name = "out";
    if (!h) return 0;
    clattn_mha_weights w = {mw[0], mw[1], mw[2], mw[3], mb[0], mb[1], mb[2], mb[3], NULL};
    float *x = copy(mx, md.batch * md.tokens * md.d_in);
    clattn_status st = clattn_mha_forward(h, &md, &w, x, o[0].got);
    free(x);
    return st;
}

static const scenario scenarios[] = {
    {"demo", demo_setup, demo_run, 3, 1e-5},
    {"seed_context", seed_context_setup, seed_context_run, 3, 1e-5},
    {"normalize", normalize_setup, normalize_run, 1, 1e-6},
    {"context", context_setup, context_run, 1, 1e-5},
    {"attention_mask_lse", attention_mask_lse_setup, attention_run, 2, 1e-4},
    {"attention_split_kv", attention_split_kv_setup, attention_run, 2, 1e-4},
    {"attention_multi_rows", attention_mask_lse_setup, attention_multi_run, 2, 1e-4},
    {"attention_multi_keys", attention_split_kv_setup, attention_multi_run, 2, 1e-4},
    {"mha", mha_setup, mha_run, 1, 1e-4},
};

/* "untouched", "complete" (matches the reference) or "wrong". */
static const char *judge(const output *o, double atol) {
    bool untouched = true, complete = true;
    for (size_t i = 0; i < o->count; i++) {
        const float g = o->got[i], w = o->want[i];
        if (g != SENTINEL) untouched = false;
        if (!(fabs((double)g - (double)w) <= atol + 1e-4 * fabs((double)w)) &&
            !(isnan(g) && isnan(w)) && !(isinf(g) && g == w))
            complete = false;
    }
    return untouched ? "untouched" : complete ? "complete" : "wrong";
}

/* Runs the scenario once on h; returns the status and whether every rule held. */
static bool run_once(const scenario *s, clattn_handle *h, clattn_status *status) {
    output outs[3] = {{0}};
    s->run(NULL, outs); /* sizes and references */
    for (int i = 0; i < s->outputs; i++) {
        outs[i].got = malloc(outs[i].count * sizeof(float));
        for (size_t j = 0; j < outs[i].count; j++)
            outs[i].got[j] = SENTINEL;
    }
    *status = s->run(h, outs);
    bool ok = true;
    if (*status) {
        const char *msg = clattn_last_error_message();
        if (!msg || !*msg) {
            fprintf(stderr, "FAIL %s: status %d without a message\n", s->name, (int)*status);
            ok = false;
        } else {
            fprintf(stderr, "%s: %s: %s\n", s->name, clattn_status_string(*status), msg);
        }
    }
    for (int i = 0; i < s->outputs; i++) {
        const char *verdict = judge(&outs[i], s->atol);
        if (strcmp(verdict, "complete") != 0 && (!*status || strcmp(verdict, "untouched") != 0)) {
            fprintf(stderr, "FAIL %s: status %d and output %s is %s\n", s->name, (int)*status,
                    outs[i].name, verdict);
            ok = false;
        }
        free(outs[i].got);
    }
    return ok;
}

int main(int argc, char **argv) {
    const scenario *s = NULL;
    for (size_t i = 0; argc == 2 && i < sizeof scenarios / sizeof scenarios[0]; i++)
        if (strcmp(argv[1], scenarios[i].name) == 0) s = &scenarios[i];
    if (!s) {
        fprintf(stderr, "usage: fault_driver OP (demo, seed_context, normalize, context, "
                        "attention_mask_lse, attention_split_kv, mha)\n");
        return 2;
    }
    s->setup();
    clattn_options options; /* CLATTN_FAULT_VARIANT=gpu: the GPU-shaped kernels */
    clattn_options_init(&options);
    const char *variant = getenv("CLATTN_FAULT_VARIANT");
    if (variant && strcmp(variant, "gpu") == 0) {
        options.variant = CLATTN_VARIANT_GPU;
        options.max_work_group_size = 256;
    }
    clattn_handle *h = NULL;
    clattn_status st = clattn_handle_create(&options, &h);
    if (st) {
        const char *msg = clattn_last_error_message();
        fprintf(stderr, "%s: handle: %s: %s\n", s->name, clattn_status_string(st), msg);
        if (!msg || !*msg || h) return 1;
        /* The failure was in creating the handle: a second one must work. */
        if ((st = clattn_handle_create(&options, &h))) {
            fprintf(stderr, "FAIL %s: a second handle failed too\n", s->name);
            return 1;
        }
    }
    bool ok = run_once(s, h, &st);
    if (st) { /* the handle must still work once the fault has passed */
        clattn_status again;
        ok = run_once(s, h, &again) && ok;
        if (again) {
            fprintf(stderr, "FAIL %s: the handle is unusable after a failure (%s)\n", s->name,
                    clattn_status_string(again));
            ok = false;
        }
    }
    clattn_handle_destroy(h);
    return ok ? 0 : 1;
}
