/* clattn_attention_desc_init: defaults for packed tensors (see include/clattn.h). */
#include "internal.h"

#include <math.h>
#include <string.h>

void clattn_attention_desc_init(clattn_attention_desc *desc, size_t batch, size_t q_heads,
                                size_t kv_heads, size_t m, size_t n, size_t d, size_t dv) {
    if (!desc) return;
    memset(desc, 0, sizeof *desc);
    desc->batch = batch;
    desc->q_heads = q_heads;
    desc->kv_heads = kv_heads;
    desc->m = m;
    desc->n = n;
    desc->d = d;
    desc->dv = dv;
    desc->scale = d ? (float)(1.0 / sqrt((double)d)) : 1.0f;
    desc->norm = CLATTN_NORM_SOFTMAX;
    desc->causal = CLATTN_CAUSAL_NONE;
    desc->mask_kind = CLATTN_MASK_NONE;
    /* Packed strides; products may wrap for absurd sizes, which validation then rejects. */
    desc->q = (clattn_layout){0, {q_heads * m * d, m * d, d}};
    desc->k = (clattn_layout){0, {kv_heads * n * d, n * d, d}};
    desc->v = (clattn_layout){0, {kv_heads * n * dv, n * dv, dv}};
    desc->o = (clattn_layout){0, {q_heads * m * dv, m * dv, dv}};
    desc->mask = (clattn_layout){0, {0, 0, n}};
    desc->lse = (clattn_layout){0, {q_heads * m, m, 1}};
    desc->kv_splits = 0;
}
