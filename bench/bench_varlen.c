/* A variable-length batch (desc.varlen, packed sequences with cu_seqlens) against the same
 * sequences padded to the longest one with a key-padding mask [B, N]: varlen computes each
 * sequence's rows and keys only, the padded batch computes B x max_len rows over max_len keys
 * and hides the padding. Causal (each sequence aligned at its own start).
 *
 *   bench_varlen [B] [MIN_LEN] [MAX_LEN] [H] [D] [REPS]   (defaults 8 64 1024 8 64 7)
 *
 * Sequence lengths spread evenly over MIN_LEN..MAX_LEN. The two forms run alternately (after
 * one warm-up of each), so that load from other processes falls on both alike. One row per
 * backend (the fast CPU backend; OpenCL on the default device): the median and range of each
 * form's milliseconds, the ratio of the medians (padded / varlen) and the max abs difference
 * between their outputs on the real rows (should be ~1e-7). */
#include "bench.h"
#include "clattn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_REPS 64

typedef struct form {
    clattn_handle *handle; /* NULL: the fast CPU backend */
    const clattn_attention_desc *desc;
    clattn_attention_arrays arrays;
} form;

static int run_form(const void *p) {
    const form *f = p;
    return f->handle ? (int)clattn_attention_ex(f->handle, f->desc, &f->arrays)
                     : (int)clattn_cpu_attention_ex(f->desc, &f->arrays);
}

int main(int argc, char **argv) {
    const size_t batch = argc > 1 ? strtoul(argv[1], NULL, 10) : 8;
    const size_t min_len = argc > 2 ? strtoul(argv[2], NULL, 10) : 64;
    const size_t max_len = argc > 3 ? strtoul(argv[3], NULL, 10) : 1024;
    const size_t heads = argc > 4 ? strtoul(argv[4], NULL, 10) : 8;
    const size_t d = argc > 5 ? strtoul(argv[5], NULL, 10) : 64;
    const int reps = argc > 6 ? atoi(argv[6]) : 7;
    if (!batch || !min_len || min_len > max_len || !heads || !d || reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "usage: bench_varlen [B] [MIN_LEN] [MAX_LEN] [H] [D] [REPS <= 64]\n");
        return 1;
    }
    int32_t *cu = malloc((batch + 1) * sizeof *cu);
    size_t *len = malloc(batch * sizeof *len);
    if (!cu || !len) return 1;
    cu[0] = 0;
    for (size_t b = 0; b < batch; b++) {
        len[b] = batch > 1 ? min_len + (max_len - min_len) * b / (batch - 1) : max_len;
        cu[b + 1] = cu[b] + (int32_t)len[b];
    }
    const size_t total = (size_t)cu[batch], row = heads * d;
    const size_t padded = batch * heads * max_len * d;
    float *q = malloc(total * row * sizeof *q), *k = malloc(total * row * sizeof *k);
    float *v = malloc(total * row * sizeof *v), *o = malloc(total * row * sizeof *o);
    float *pq = calloc(padded, sizeof *pq), *pk = calloc(padded, sizeof *pk);
    float *pv = calloc(padded, sizeof *pv), *po = malloc(padded * sizeof *po);
    unsigned char *mask = malloc(batch * max_len);
    if (!q || !k || !v || !o || !pq || !pk || !pv || !po || !mask) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    unsigned long long seed = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < total * row; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        const float x = (float)(seed >> 40) / (float)(1ull << 24) * 2.0f - 1.0f;
        q[i] = x;
        k[(i * 7) % (total * row)] = -x;
        v[(i * 13) % (total * row)] = 0.5f * x;
    }
    /* Packed [total, H, D] -> padded [B, H, max_len, D]; the key-padding mask [B, max_len]. */
    for (size_t b = 0; b < batch; b++) {
        for (size_t j = 0; j < max_len; j++)
            mask[b * max_len + j] = j < len[b];
        for (size_t h = 0; h < heads; h++)
            for (size_t t = 0; t < len[b]; t++) {
                const size_t from = ((size_t)cu[b] + t) * row + h * d;
                const size_t to = ((b * heads + h) * max_len + t) * d;
                memcpy(pq + to, q + from, d * sizeof *q);
                memcpy(pk + to, k + from, d * sizeof *k);
                memcpy(pv + to, v + from, d * sizeof *v);
            }
    }
    clattn_attention_desc var, pad;
    clattn_attention_desc_init(&var, batch, heads, heads, max_len, max_len, d, d);
    var.causal = CLATTN_CAUSAL_TOP_LEFT;
    var.varlen = 1;
    const clattn_layout packed = {0, {0, d, row}};
    var.q = var.k = var.v = var.o = packed;
    clattn_attention_desc_init(&pad, batch, heads, heads, max_len, max_len, d, d);
    pad.causal = CLATTN_CAUSAL_TOP_LEFT;
    pad.mask_kind = CLATTN_MASK_BOOLEAN;
    pad.mask.stride[0] = max_len; /* key padding: [B, N] broadcast over heads and rows */
    pad.mask.stride[1] = pad.mask.stride[2] = 0;
    form forms[2] = {
        {NULL, &var, {.q = q, .k = k, .v = v, .o = o, .cu_seqlens_q = cu, .cu_seqlens_k = cu}},
        {NULL, &pad, {.q = pq, .k = pk, .v = pv, .mask = mask, .o = po}}};

    clattn_handle *device = NULL;
    if (clattn_handle_create(NULL, &device)) {
        fprintf(stderr, "no OpenCL device: %s\n", clattn_last_error_message());
        device = NULL;
    }
    printf("backend;B;lengths;H;D;varlen_ms;varlen_range;padded_ms;padded_range;"
           "padded_over_varlen;max_abs_diff\n");
    for (int backend = 0; backend < 2; backend++) {
        clattn_handle *handle = backend ? device : NULL;
        if (backend && !device) break;
        forms[0].handle = forms[1].handle = handle;
        const void *problems[2] = {&forms[0], &forms[1]};
        double t[2 * MAX_REPS]; /* t[f * reps + r], sorted per form */
        if (bench_alternate_ms(run_form, problems, 2, reps, t)) {
            fprintf(stderr, "attention failed: %s\n", clattn_last_error_message());
            return 1;
        }
        double diff = 0.0;
        for (size_t b = 0; b < batch; b++)
            for (size_t h = 0; h < heads; h++)
                for (size_t i = 0; i < len[b]; i++)
                    for (size_t c = 0; c < d; c++)
                        diff =
                            fmax(diff, fabs((double)o[((size_t)cu[b] + i) * row + h * d + c] -
                                            (double)po[((b * heads + h) * max_len + i) * d + c]));
        printf("%s;%zu;%zu..%zu;%zu;%zu;%.1f;%.1f-%.1f;%.1f;%.1f-%.1f;%.2f;%.2e\n",
               backend ? "opencl" : "cpu", batch, min_len, max_len, heads, d, t[reps / 2], t[0],
               t[reps - 1], t[reps + reps / 2], t[reps], t[2 * reps - 1],
               t[reps + reps / 2] / t[reps / 2], diff);
        fflush(stdout);
    }
    clattn_handle_destroy(device);
    free(cu), free(len), free(q), free(k), free(v), free(o), free(pq), free(pk), free(pv), free(po),
        free(mask);
    return 0;
}
