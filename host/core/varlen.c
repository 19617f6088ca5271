/* Variable-length batches: desc checks, host offsets, per-sequence descs (varlen.h). */
#include "varlen.h"
#include "status.h"

#include <math.h>

clattn_status clattn__varlen_desc_check(const clattn_attention_desc *d, bool weights) {
    if (weights)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "attention weights: varlen is not supported");
    if (d->mask_kind != CLATTN_MASK_NONE)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "attention: a mask is not supported with varlen (each sequence is "
                            "its own problem: use causal masking or the window)");
    const struct {
        const char *name;
        size_t stride, cols;
    } rows[] = {{"q", d->q.stride[2], d->d},
                {"k", d->k.stride[2], d->d},
                {"v", d->v.stride[2], d->dv},
                {"o", d->o.stride[2], d->dv},
                {"lse", d->lse.stride[2], 1}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].stride < rows[i].cols)
            return clattn__fail(CLATTN_ERROR_INVALID_SHAPE,
                                "attention: varlen needs the %s row stride (%zu) >= its row "
                                "length (%zu): the packed tokens are rows",
                                rows[i].name, rows[i].stride, rows[i].cols);
    return CLATTN_SUCCESS;
}

static clattn_status check_one(const char *name, const int32_t *cu, size_t batch, size_t max_len,
                               size_t *total) {
    if (cu[0] != 0)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "attention: %s[0] must be 0, got %d", name,
                            (int)cu[0]);
    for (size_t b = 0; b < batch; b++) {
        if (cu[b + 1] < cu[b])
            return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                                "attention: %s must be non-decreasing (%s[%zu] = %d > %s[%zu] = "
                                "%d)",
                                name, name, b, (int)cu[b], name, b + 1, (int)cu[b + 1]);
        const size_t len = (size_t)((int64_t)cu[b + 1] - (int64_t)cu[b]);
        if (len > max_len)
            return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                                "attention: sequence %zu has %zu rows in %s, more than the "
                                "desc's maximum %zu (m or n)",
                                b, len, name, max_len);
    }
    *total = (size_t)cu[batch];
    return CLATTN_SUCCESS;
}

clattn_status clattn__varlen_check_offsets(const clattn_attention_desc *d, const int32_t *cu_q,
                                           const int32_t *cu_k, size_t *total_q, size_t *total_k) {
    clattn_status status = check_one("cu_seqlens_q", cu_q, d->batch, d->m, total_q);
    if (!status) status = check_one("cu_seqlens_k", cu_k, d->batch, d->n, total_k);
    return status;
}

clattn_status clattn__varlen_extents(const clattn_attention_desc *d, size_t total_q, size_t total_k,
                                     unsigned uses, clattn_attention_extents *e) {
    clattn_attention_desc flat = *d;
    flat.varlen = 0;
    flat.batch = 1;
    flat.m = total_q ? total_q : 1; /* no rows at all: the arrays still hold one */
    flat.n = total_k ? total_k : 1;
    flat.causal = CLATTN_CAUSAL_NONE; /* only the layouts matter here */
    return clattn__attention_check(&flat, uses, e);
}

void clattn__varlen_sequence(const clattn_attention_desc *d, const int32_t *cu_q,
                             const int32_t *cu_k, size_t b, clattn_attention_desc *seq) {
    const size_t q0 = (size_t)cu_q[b], k0 = (size_t)cu_k[b];
    *seq = *d;
    seq->varlen = 0;
    seq->batch = 1;
    seq->m = (size_t)cu_q[b + 1] - q0;
    seq->n = (size_t)cu_k[b + 1] - k0;
    seq->q.offset += q0 * d->q.stride[2];
    seq->o.offset += q0 * d->o.stride[2];
    seq->lse.offset += q0 * d->lse.stride[2];
    seq->k.offset += k0 * d->k.stride[2];
    seq->v.offset += k0 * d->v.stride[2];
    seq->dropout_offset += b * d->q_heads; /* the kernels' Philox stream b * Hq + h */
}

void clattn__varlen_write_empty(const clattn_attention_desc *seq, const float *sinks, float *o,
                                float *lse) {
    for (size_t h = 0; h < seq->q_heads; h++)
        for (size_t i = 0; i < seq->m; i++) {
            float *row = o + seq->o.offset + h * seq->o.stride[1] + i * seq->o.stride[2];
            for (size_t c = 0; c < seq->dv; c++)
                row[c] = 0.0f;
            if (lse)
                lse[seq->lse.offset + h * seq->lse.stride[1] + i * seq->lse.stride[2]] =
                    sinks ? sinks[h] : -INFINITY;
        }
}

clattn_status clattn__varlen_run(const clattn_attention_desc *d, const clattn_attention_arrays *t,
                                 clattn__varlen_sequence_fn compute) {
    size_t total_q, total_k;
    clattn_status status =
        clattn__varlen_check_offsets(d, t->cu_seqlens_q, t->cu_seqlens_k, &total_q, &total_k);
    if (!status)
        status = clattn__varlen_extents(d, total_q, total_k, t->lse ? CLATTN_DESC_LSE : 0u, NULL);
    for (size_t b = 0; b < d->batch && !status; b++) {
        clattn_attention_desc seq;
        clattn__varlen_sequence(d, t->cu_seqlens_q, t->cu_seqlens_k, b, &seq);
        if (seq.m && !seq.n)
            clattn__varlen_write_empty(&seq, d->sinks ? t->sinks : NULL, t->o, t->lse);
        else if (seq.m)
            status = compute(&seq, t);
    }
    return status;
}
