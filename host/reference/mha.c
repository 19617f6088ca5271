/* CPU references of the linear layer and multi-head attention: plain C, double
 * accumulation, no OpenCL (independent of the attention reference on purpose). */
#include "status.h"
#include "size.h"
#include "mha_desc.h"
#include "mha_dtype.h"
#include "linear_dtype.h"
#include "philox.h"

#include <math.h>
#include <stdlib.h>

/* y = x W^T + bias in double; x and y are [rows, k] and [rows, cols]. */
static void linear_double(size_t rows, size_t cols, size_t k, const double *x, const float *w,
                          const float *bias, double *y) {
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            double acc = bias ? (double)bias[c] : 0.0;
            for (size_t i = 0; i < k; i++)
                acc += x[r * k + i] * (double)w[c * k + i];
            y[r * cols + c] = acc;
        }
}

clattn_status clattn_ref_linear(size_t rows, size_t cols, size_t k, const float *x, const float *w,
                                const float *bias, float *y) {
    if (!x || !w || !y) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "linear: NULL pointer");
    if (!rows || !cols || !k)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE, "linear: sizes must be > 0");
    size_t xn, wn;
    if (!clattn__mul_size(rows, k, &xn) || !clattn__mul_size(cols, k, &wn))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "linear: sizes overflow size_t");
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            double acc = bias ? (double)bias[c] : 0.0;
            for (size_t i = 0; i < k; i++)
                acc += (double)x[r * k + i] * (double)w[c * k + i];
            y[r * cols + c] = (float)acc;
        }
    clattn__clear_error();
    return CLATTN_SUCCESS;
}

/* 2-byte tensors widen exactly to float32, so the double sums are those of the stored
 * values; y is rounded to float32 and then to its dtype. */
clattn_status clattn_ref_linear_ex(size_t rows, size_t cols, size_t k, const float *x,
                                   const float *w, const float *bias, float *y,
                                   const clattn_linear_dtypes *dtypes) {
    clattn_linear_dtypes d;
    clattn_status status = clattn__linear_dtypes_check(dtypes, &d);
    if (status) return status;
    if (clattn__linear_dtypes_all_f32(&d)) return clattn_ref_linear(rows, cols, k, x, w, bias, y);
    if (!x || !w || !y) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "linear: NULL pointer");
    if (!rows || !cols || !k)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE, "linear: sizes must be > 0");
    size_t xn, wn, yn;
    if (!clattn__mul_size(rows, k, &xn) || !clattn__mul_size(cols, k, &wn) ||
        !clattn__mul_size(rows, cols, &yn))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "linear: sizes overflow size_t");
    clattn_linear_widened lw;
    if ((status = clattn__linear_widen(rows, cols, k, x, w, bias, y, &d, &lw))) return status;
    status = clattn_ref_linear(rows, cols, k, lw.x, lw.w, lw.bias, lw.y);
    clattn__linear_narrow(&lw, !status);
    return status;
}

/* What one (batch, head) attention needs beyond Q, K, V: the mask read through the
 * contract's index of the desc's shape, and the model variants of the desc (the same
 * meaning as clattn_attention_desc's, written out here independently of the attention
 * reference; only the ALiBi slope and the Philox generator are shared). */
typedef struct head_params {
    const clattn_mha_desc *desc; /* mask_kind NONE: no mask */
    const void *mask;
    size_t b, h;
    double slope;       /* ALiBi's, 0 when off */
    double sink;        /* the sink logit, -inf without sinks */
    uint64_t stream;    /* the dropout stream: dropout_offset + b * heads + h */
    uint32_t threshold; /* drop when the Philox word is below it */
} head_params;

/* Whether query i may attend key j under causal masking, the sliding window (top-left,
 * M = N: off = 0) with its sink keys, and the mask; *add receives the additive term. */
static bool key_allowed(const head_params *m, size_t i, size_t j, double *add) {
    const clattn_mha_desc *d = m->desc;
    const long long li = (long long)i, lj = (long long)j;
    *add = 0.0;
    if (d->causal && j > i) return false;
    if (d->window && d->window_right >= 0 && lj > li + d->window_right) return false;
    if (d->window && d->window_left >= 0 && lj < li - d->window_left && j >= d->sink_keys)
        return false;
    const clattn_mask_kind kind = d->mask_kind;
    if (kind == CLATTN_MASK_NONE) return true;
    const size_t at = clattn__mha_mask_index(d, m->b, m->h, i, j);
    if (kind == CLATTN_MASK_BOOLEAN) return ((const unsigned char *)m->mask)[at] != 0;
    *add = ((const float *)m->mask)[at];
    return *add != -INFINITY;
}

/* Softmax attention of one head: ctx rows (stride ld) from q, k, v rows (stride ld). Masked
 * keys take no part; a row with no allowed key gets a zero context. The scaled score is
 * softcapped, then ALiBi and the additive mask are added; the sink logit joins the maximum
 * and the denominator only; dropout zeroes weights after the normalisation. */
static void attend_head(size_t t, size_t hd, size_t ld, const head_params *m, const double *q,
                        const double *k, const double *v, double *ctx, double *s, bool *allowed) {
    const clattn_mha_desc *d = m->desc;
    const double scale = 1.0 / sqrt((double)hd), cap = d->softcap;
    const double keep_scale = 1.0 / (1.0 - (double)d->dropout);
    for (size_t i = 0; i < t; i++) {
        double max = m->sink, sum = 0.0;
        size_t count = 0;
        for (size_t j = 0; j < t; j++) {
            double add;
            if (!(allowed[j] = key_allowed(m, i, j, &add))) continue;
            double dot = 0.0;
            for (size_t c = 0; c < hd; c++)
                dot += q[i * ld + c] * k[j * ld + c];
            s[j] = scale * dot;
            if (cap > 0.0) s[j] = cap * tanh(s[j] / cap);
            s[j] += m->slope * ((double)j - (double)i) + add;
            if (s[j] > max || isnan(s[j])) max = s[j];
            count++;
        }
        if (m->sink != -INFINITY) sum = exp(m->sink - max);
        for (size_t j = 0; j < t; j++)
            if (allowed[j]) sum += s[j] = exp(s[j] - max);
        for (size_t j = 0; j < t && d->dropout != 0.0f; j++)
            if (allowed[j]) /* the sum above keeps the dropped weights */
                s[j] = philox_dropout_keep(d->dropout_seed, m->stream, i, j, m->threshold)
                           ? s[j] * keep_scale
                           : 0.0;
        for (size_t c = 0; c < hd; c++) {
            double acc = 0.0;
            for (size_t j = 0; j < t; j++)
                if (allowed[j]) acc += s[j] * v[j * ld + c];
            ctx[i * ld + c] = count ? acc / sum : 0.0;
        }
    }
}

clattn_status clattn_ref_mha_forward(const clattn_mha_desc *desc, const clattn_mha_weights *weights,
                                     const float *x, float *out) {
    return clattn_ref_mha_forward_masked(desc, weights, x, NULL, out);
}

clattn_status clattn_ref_mha_forward_masked(const clattn_mha_desc *desc,
                                            const clattn_mha_weights *weights, const float *x,
                                            const void *mask, float *out) {
    clattn_mha_shape p;
    clattn_status status = clattn__check_mha_call(desc, weights, x, mask, out, &p);
    if (status) return status;
    if (!clattn__mha_all_f32(desc)) { /* 2-byte tensors: as float32 copies */
        clattn_mha_widened w;
        if ((status = clattn__mha_widen(desc, &p, weights, x, out, &w))) return status;
        status = clattn_ref_mha_forward_masked(&w.desc, &w.weights, w.x, mask, w.out);
        clattn__mha_narrow(&w, !status);
        return status;
    }
    const size_t t = desc->tokens, d_out = desc->d_out, hd = p.head_dim;
    double *xd = malloc(p.x_count * sizeof *xd), *q = malloc(p.out_count * sizeof *q);
    double *k = malloc(p.out_count * sizeof *k), *v = malloc(p.out_count * sizeof *v);
    double *ctx = malloc(p.out_count * sizeof *ctx), *s = malloc(t * sizeof *s);
    bool *allowed = malloc(t * sizeof *allowed);
    if (!xd || !q || !k || !v || !ctx || !s || !allowed) {
        status = clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
        goto out;
    }
    for (size_t i = 0; i < p.x_count; i++)
        xd[i] = x[i];
    linear_double(p.rows, d_out, desc->d_in, xd, weights->wq, weights->bq, q);
    linear_double(p.rows, d_out, desc->d_in, xd, weights->wk, weights->bk, k);
    linear_double(p.rows, d_out, desc->d_in, xd, weights->wv, weights->bv, v);
    for (size_t b = 0; b < desc->batch; b++)
        for (size_t h = 0; h < desc->heads; h++) {
            const size_t at = b * t * d_out + h * hd; /* head h of batch b, row stride d_out */
            const head_params m = {.desc = desc,
                                   .mask = mask,
                                   .b = b,
                                   .h = h,
                                   .slope = desc->alibi ? clattn__alibi_slope(h, desc->heads) : 0.0,
                                   .sink = weights->sinks ? (double)weights->sinks[h] : -INFINITY,
                                   .stream = desc->dropout_offset + b * desc->heads + h,
                                   .threshold = philox_dropout_threshold(desc->dropout)};
            attend_head(t, hd, d_out, &m, q + at, k + at, v + at, ctx + at, s, allowed);
        }
    linear_double(p.rows, d_out, d_out, ctx, weights->wo, weights->bo, q);
    for (size_t i = 0; i < p.out_count; i++)
        out[i] = (float)q[i];
    clattn__clear_error();
out:
    free(xd), free(q), free(k), free(v), free(ctx), free(s), free(allowed);
    return status;
}
