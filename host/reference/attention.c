/* CPU reference of the fused attention: plain C, double accumulation, one row at a time.
 * The oracle of the tests: simple and exact rather than fast. */
#include "status.h"
#include "attention_desc.h"
#include "varlen.h"
#include "paged.h"
#include "philox.h"

#include <math.h>
#include <stdlib.h>

/* Element index of key j's row of head hk of sequence b in K or V (layout l): dense, or in
 * its page of a paged KV cache. */
static size_t key_row(const clattn_attention_desc *a, const clattn_layout *l,
                      const int32_t *block_table, size_t b, size_t hk, size_t j) {
    if (!a->page_size) return l->offset + b * l->stride[0] + hk * l->stride[1] + j * l->stride[2];
    const size_t page = (size_t)block_table[b * a->max_pages + j / a->page_size];
    return l->offset + page * l->stride[0] + hk * l->stride[1] + (j % a->page_size) * l->stride[2];
}

/* Scores of row (b, h, i) in double: scale * q.k + mask, -inf where masked out. For a paged
 * KV cache, a has sequence b's n. */
static void row_scores(const clattn_attention_desc *a, const float *q, const float *k,
                       const int32_t *block_table, const void *mask, size_t b, size_t h, size_t i,
                       double *s) {
    const size_t hk = h / (a->q_heads / a->kv_heads);
    const float *qr =
        q + a->q.offset + b * a->q.stride[0] + h * a->q.stride[1] + i * a->q.stride[2];
    long long begin, end;
    clattn__attention_key_range(a, i, &begin, &end);
    const long long diag = (long long)i + clattn__attention_offset(a);
    const double slope = a->alibi ? clattn__alibi_slope(h, a->q_heads) : 0.0;
    const size_t mrow =
        a->mask.offset + b * a->mask.stride[0] + h * a->mask.stride[1] + i * a->mask.stride[2];
    for (size_t j = 0; j < a->n; j++) {
        if (!clattn__attention_key_visible(a, begin, end, (long long)j)) {
            s[j] = -INFINITY;
            continue;
        }
        const float *kr = k + key_row(a, &a->k, block_table, b, hk, j);
        double dot = 0.0;
        for (size_t c = 0; c < a->d; c++)
            dot += (double)qr[c] * (double)kr[c];
        s[j] = (double)a->scale * dot;
        if (a->softcap > 0.0f) s[j] = a->softcap * tanh(s[j] / a->softcap);
        if (a->alibi) s[j] += slope * (double)((long long)j - diag);
        if (a->mask_kind == CLATTN_MASK_ADDITIVE) { /* -inf hides the key, even a NaN dot */
            const double mv = ((const float *)mask)[mrow + j];
            s[j] = mv == -INFINITY ? -INFINITY : s[j] + mv;
        }
        if (a->mask_kind == CLATTN_MASK_BOOLEAN && !((const unsigned char *)mask)[mrow + j])
            s[j] = -INFINITY;
    }
}

static clattn_status compute(const clattn_attention_desc *desc, const clattn_attention_arrays *t);

clattn_status clattn_ref_attention(const clattn_attention_desc *desc, const float *q,
                                   const float *k, const float *v, const void *mask, float *o,
                                   float *lse) {
    const clattn_attention_arrays t = {.q = q, .k = k, .v = v, .mask = mask, .o = o, .lse = lse};
    return clattn_ref_attention_ex(desc, &t);
}

clattn_status clattn_ref_attention_ex(const clattn_attention_desc *desc,
                                      const clattn_attention_arrays *t) {
    if (!t) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "attention: tensors is NULL");
    clattn_status status = clattn__attention_check(desc, t->lse ? CLATTN_DESC_LSE : 0u, NULL);
    if (!status) status = clattn__attention_extras_check(desc, clattn__attention_arrays_given(t));
    if (!status) status = clattn__paged_check_arrays(desc, t->block_table, t->seqlens_k);
    if (status) return status;
    if (!t->q || !t->k || !t->v || !t->o)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "attention: q, k, v and o are required");
    if (desc->mask_kind != CLATTN_MASK_NONE && !t->mask)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER,
                            "attention: mask_kind is set but mask is NULL");
    status = desc->varlen ? clattn__varlen_run(desc, t, compute) : compute(desc, t);
    if (!status) clattn__clear_error();
    return status;
}

/* The attention of an ordinary (not varlen) desc that passed validation, dense or paged. */
static clattn_status compute(const clattn_attention_desc *desc, const clattn_attention_arrays *t) {
    const float *q = t->q, *k = t->k, *v = t->v;
    const void *mask = t->mask;
    float *o = t->o, *lse = t->lse;
    clattn_attention_desc seq = *desc; /* a paged sequence's desc: its own n */
    const clattn_attention_desc *a = &seq;
    double *s = malloc(a->n * sizeof *s), *acc = malloc(a->dv * sizeof *acc);
    if (!s || !acc) {
        free(s);
        free(acc);
        return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    const size_t group = a->q_heads / a->kv_heads;
    const uint32_t threshold = philox_dropout_threshold(a->dropout);
    for (size_t b = 0; b < a->batch; b++) {
        if (desc->page_size) seq.n = (size_t)t->seqlens_k[b];
        for (size_t h = 0; h < a->q_heads; h++)
            for (size_t i = 0; i < a->m; i++) {
                row_scores(a, q, k, t->block_table, mask, b, h, i, s);
                /* Attended keys are those whose score is not -inf. NaN compares false, so
                 * it is skipped by the maximum but reaches the sums below. */
                /* The sink logit joins the maximum and the denominator, not the values. */
                const double sink = a->sinks ? (double)t->sinks[h] : -INFINITY;
                double max = sink;
                bool attended = false;
                for (size_t j = 0; j < a->n; j++) {
                    if (s[j] != -INFINITY) attended = true;
                    if (s[j] > max) max = s[j];
                }
                const double shift = max == -INFINITY ? 0.0 : max;
                double sum_exp = sink == -INFINITY ? 0.0 : exp(sink - shift), sum = 0.0;
                for (size_t c = 0; c < a->dv; c++)
                    acc[c] = 0.0;
                const uint64_t stream = a->dropout_offset + b * a->q_heads + h;
                for (size_t j = 0; j < a->n; j++) {
                    if (s[j] == -INFINITY) continue;
                    const double e = exp(s[j] - shift);
                    double w = a->norm == CLATTN_NORM_SUM ? s[j] : e;
                    sum_exp += e;
                    sum += s[j];
                    if (a->dropout != 0.0f) /* the sums above keep the dropped weights */
                        w = philox_dropout_keep(a->dropout_seed, stream, i, j, threshold)
                                ? w / (1.0 - (double)a->dropout)
                                : 0.0;
                    const float *vr = v + key_row(a, &a->v, t->block_table, b, h / group, j);
                    for (size_t c = 0; c < a->dv; c++)
                        acc[c] += w * (double)vr[c];
                }
                const double denom = a->norm == CLATTN_NORM_SUM ? sum : sum_exp;
                float *orow =
                    o + a->o.offset + b * a->o.stride[0] + h * a->o.stride[1] + i * a->o.stride[2];
                for (size_t c = 0; c < a->dv; c++)
                    orow[c] = attended ? (float)(acc[c] / denom) : 0.0f;
                /* With a sink, a fully masked row's LSE is the sink logit itself. */
                if (lse)
                    lse[a->lse.offset + b * a->lse.stride[0] + h * a->lse.stride[1] +
                        i * a->lse.stride[2]] =
                        attended || sink != -INFINITY ? (float)(shift + log(sum_exp)) : -INFINITY;
            }
    }
    free(s);
    free(acc);
    return CLATTN_SUCCESS;
}
