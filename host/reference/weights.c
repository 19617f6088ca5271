/* clattn_ref_attention_weights: the CPU oracle of the weights path, double accumulation.
 * A masked score (causal, boolean false or additive -inf) is -inf and never attended; a
 * row with none attended gives zeros; a NaN among a row's attended scores makes the whole
 * row NaN. */
#include "status.h"
#include "attention_desc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static bool causal_masked(clattn_causal causal, size_t i, size_t j, size_t m, size_t n) {
    if (causal == CLATTN_CAUSAL_TOP_LEFT) return j > i;
    if (causal == CLATTN_CAUSAL_BOTTOM_RIGHT) return j + m > i + n; /* j > i + n - m */
    return false;
}

/* Normalises one row of scores (as doubles) into out. */
static void normalize_row(clattn_norm norm, size_t n, const double *s, float *out) {
    if (norm == CLATTN_NORM_NONE) {
        for (size_t j = 0; j < n; j++)
            out[j] = (float)s[j];
        return;
    }
    double max = -INFINITY, sum = 0.0;
    bool has_nan = false;
    for (size_t j = 0; j < n; j++) {
        if (isnan(s[j]))
            has_nan = true;
        else if (s[j] > max)
            max = s[j];
    }
    for (size_t j = 0; j < n && max != -INFINITY; j++)
        if (s[j] != -INFINITY) sum += norm == CLATTN_NORM_SOFTMAX ? exp(s[j] - max) : s[j];
    for (size_t j = 0; j < n; j++) {
        if (has_nan)
            out[j] = NAN;
        else if (s[j] == -INFINITY || max == -INFINITY)
            out[j] = 0.0f;
        else if (norm == CLATTN_NORM_SOFTMAX)
            out[j] = (float)(exp(s[j] - max) / sum);
        else
            out[j] = (float)(s[j] / sum);
    }
}

clattn_status clattn_ref_attention_weights(const clattn_attention_desc *desc, const float *q,
                                           const float *k, const void *mask, float *weights) {
    clattn_status status = clattn__attention_check(desc, CLATTN_DESC_WEIGHTS, NULL);
    if (status) return status;
    if (!q || !k || !weights || (desc->mask_kind != CLATTN_MASK_NONE && !mask))
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "attention weights: NULL pointer");
    double *s = malloc(desc->n * sizeof *s);
    if (!s) return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    const size_t group = desc->q_heads / desc->kv_heads;
    const clattn_layout *ql = &desc->q, *kl = &desc->k, *ml = &desc->mask;
    float *w = weights;
    for (size_t b = 0; b < desc->batch; b++) {
        for (size_t h = 0; h < desc->q_heads; h++) {
            const float *qh = q + ql->offset + b * ql->stride[0] + h * ql->stride[1];
            const float *kh = k + kl->offset + b * kl->stride[0] + (h / group) * kl->stride[1];
            const size_t mh = ml->offset + b * ml->stride[0] + h * ml->stride[1];
            for (size_t i = 0; i < desc->m; i++, w += desc->n) {
                const float *qi = qh + i * ql->stride[2];
                const size_t mi = mh + i * ml->stride[2];
                for (size_t j = 0; j < desc->n; j++) {
                    if (causal_masked(desc->causal, i, j, desc->m, desc->n) ||
                        (desc->mask_kind == CLATTN_MASK_BOOLEAN &&
                         !((const uint8_t *)mask)[mi + j])) {
                        s[j] = -INFINITY;
                        continue;
                    }
                    const float *kj = kh + j * kl->stride[2];
                    double dot = 0.0;
                    for (size_t c = 0; c < desc->d; c++)
                        dot += (double)qi[c] * (double)kj[c];
                    s[j] = (double)desc->scale * dot;
                    if (desc->mask_kind == CLATTN_MASK_ADDITIVE) { /* -inf hides even NaN */
                        const double mv = ((const float *)mask)[mi + j];
                        s[j] = mv == -INFINITY ? -INFINITY : s[j] + mv;
                    }
                }
                normalize_row(desc->norm, desc->n, s, w);
            }
        }
    }
    free(s);
    clattn__clear_error();
    return CLATTN_SUCCESS;
}
