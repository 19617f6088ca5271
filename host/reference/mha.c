/* CPU references of the linear layer and multi-head attention: plain C, double
 * accumulation, no OpenCL (independent of the attention reference on purpose). */
#include "status.h"
#include "size.h"
#include "mha_desc.h"

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

/* The mask of one (batch, head), read through the contract's index of the desc's shape. */
typedef struct head_mask {
    const clattn_mha_desc *desc; /* mask_kind NONE: no mask */
    const void *mask;
    size_t b, h;
} head_mask;

/* Whether query i may attend key j, and the additive term of its score. */
static bool key_allowed(const head_mask *m, bool causal, size_t i, size_t j, double *add) {
    *add = 0.0;
    if (causal && j > i) return false;
    const clattn_mask_kind kind = m->desc->mask_kind;
    if (kind == CLATTN_MASK_NONE) return true;
    const size_t at = clattn__mha_mask_index(m->desc, m->b, m->h, i, j);
    if (kind == CLATTN_MASK_BOOLEAN) return ((const unsigned char *)m->mask)[at] != 0;
    *add = ((const float *)m->mask)[at];
    return *add != -INFINITY;
}

/* Softmax attention of one head: ctx rows (stride ld) from q, k, v rows (stride ld). Masked
 * keys take no part; a row with no allowed key gets a zero context. */
static void attend_head(size_t t, size_t hd, size_t ld, bool causal, const head_mask *m,
                        const double *q, const double *k, const double *v, double *ctx, double *s,
                        bool *allowed) {
    const double scale = 1.0 / sqrt((double)hd);
    for (size_t i = 0; i < t; i++) {
        double max = -INFINITY, sum = 0.0;
        size_t count = 0;
        for (size_t j = 0; j < t; j++) {
            double add;
            if (!(allowed[j] = key_allowed(m, causal, i, j, &add))) continue;
            double dot = 0.0;
            for (size_t c = 0; c < hd; c++)
                dot += q[i * ld + c] * k[j * ld + c];
            s[j] = scale * dot + add;
            if (s[j] > max || isnan(s[j])) max = s[j];
            count++;
        }
        for (size_t j = 0; j < t; j++)
            if (allowed[j]) sum += s[j] = exp(s[j] - max);
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
            const head_mask m = {desc, mask, b, h};
            attend_head(t, hd, d_out, desc->causal != 0, &m, q + at, k + at, v + at, ctx + at, s,
                        allowed);
        }
    linear_double(p.rows, d_out, d_out, ctx, weights->wo, weights->bo, q);
    for (size_t i = 0; i < p.out_count; i++)
        out[i] = (float)q[i];
    clattn__clear_error();
out:
    free(xd), free(q), free(k), free(v), free(ctx), free(s), free(allowed);
    return status;
}
