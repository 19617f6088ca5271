/* Validation of a multi-head attention desc, shared by the device, CPU and reference paths,
 * and the attention desc over the heads of the projected QKV buffer. */
#include "mha_desc.h"
#include "status.h"
#include "size.h"
#include "attention_desc.h"
#include "dtype.h"

#include <math.h>

/* The mask's kind and shape, and its size in elements (p->rows = B * T is known). */
static clattn_status check_mask(const clattn_mha_desc *desc, clattn_mha_shape *p) {
    p->mask_count = 0;
    p->mask_elem = 0;
    if (desc->mask_kind == CLATTN_MASK_NONE) return CLATTN_SUCCESS;
    if (desc->mask_kind != CLATTN_MASK_BOOLEAN && desc->mask_kind != CLATTN_MASK_ADDITIVE)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "mha: unknown mask kind %d",
                            (int)desc->mask_kind);
    size_t per_key_row; /* mask rows of T keys per (batch, token): one per head, one, or none */
    switch (desc->mask_shape) {
    case CLATTN_MHA_MASK_PER_HEAD:
        per_key_row = desc->heads;
        break;
    case CLATTN_MHA_MASK_PER_BATCH:
        per_key_row = 1;
        break;
    case CLATTN_MHA_MASK_KEY_PADDING:
        per_key_row = 0; /* [B, T]: one row of keys per batch */
        break;
    default:
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "mha: unknown mask shape %d",
                            (int)desc->mask_shape);
    }
    p->mask_elem = desc->mask_kind == CLATTN_MASK_BOOLEAN ? 1 : sizeof(float);
    size_t square, bytes;
    if (!per_key_row)
        p->mask_count = p->rows; /* no larger than out_count, whose bytes fit */
    else if (!clattn__mul_size(p->rows, desc->tokens, &square) ||
             !clattn__mul_size(square, per_key_row, &p->mask_count) ||
             !clattn__mul_size(p->mask_count, p->mask_elem, &bytes))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "mha: the mask's size overflows size_t");
    return CLATTN_SUCCESS;
}

size_t clattn__mha_mask_index(const clattn_mha_desc *desc, size_t b, size_t h, size_t i, size_t j) {
    const size_t t = desc->tokens;
    switch (desc->mask_shape) {
    case CLATTN_MHA_MASK_PER_HEAD:
        return ((b * desc->heads + h) * t + i) * t + j;
    case CLATTN_MHA_MASK_PER_BATCH:
        return (b * t + i) * t + j;
    default: /* KEY_PADDING */
        return b * t + j;
    }
}

clattn_status clattn__check_mha_desc(const clattn_mha_desc *desc, clattn_mha_shape *plan) {
    if (!desc) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "mha: desc is NULL");
    if (!desc->batch || !desc->tokens || !desc->d_in || !desc->d_out || !desc->heads)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE,
                            "mha: batch (%zu), tokens (%zu), d_in (%zu), d_out (%zu) and heads "
                            "(%zu) must be > 0",
                            desc->batch, desc->tokens, desc->d_in, desc->d_out, desc->heads);
    if (desc->d_out % desc->heads)
        return clattn__fail(CLATTN_ERROR_INVALID_SHAPE,
                            "mha: d_out (%zu) must be a multiple of heads (%zu)", desc->d_out,
                            desc->heads);
    clattn_mha_shape p;
    p.head_dim = desc->d_out / desc->heads;
    if (p.head_dim > CLATTN_MAX_HEAD_DIM)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE,
                            "mha: head dimension d_out / heads = %zu exceeds %d", p.head_dim,
                            CLATTN_MAX_HEAD_DIM);
    size_t three;
    if (!clattn__mul_size(desc->batch, desc->tokens, &p.rows) ||
        !clattn__mul_size(p.rows, desc->d_in, &p.x_count) ||
        !clattn__mul_size(p.rows, desc->d_out, &p.out_count) ||
        !clattn__mul_size(p.out_count, 3 * sizeof(float), &three) ||
        !clattn__mul_size(desc->d_out, desc->d_in, &p.w_count) ||
        !clattn__mul_size(desc->d_out, desc->d_out, &p.wo_count) ||
        !clattn__mul_size(p.x_count, sizeof(float), &three) ||
        !clattn__mul_size(p.w_count, sizeof(float), &three) ||
        !clattn__mul_size(p.wo_count, sizeof(float), &three))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "mha: sizes overflow size_t");
    clattn_status status = check_mask(desc, &p);
    if (status) return status;
    if (!clattn__dtype_valid(desc->x_dtype) || !clattn__dtype_valid(desc->weight_dtype))
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "mha: unknown dtype (x_dtype %d, weight_dtype %d)", (int)desc->x_dtype,
                            (int)desc->weight_dtype);
    /* The variants: the attention's checks on the attention these heads become. */
    clattn_attention_desc ad;
    clattn__mha_attention_desc(desc, p.head_dim, false, &ad);
    if ((status = clattn__attention_check(&ad, 0u, NULL))) return status;
    *plan = p;
    return CLATTN_SUCCESS;
}

/* The attention over heads of the projected buffers: element (b, h, i, c) of Q is at
 * b * T * 3 d_out + i * 3 d_out + h * hd + c of the QKV buffer, K and V d_out and 2 d_out
 * further; O goes to b * T * d_out + i * d_out + h * hd + c of the context. */
void clattn__mha_attention_desc(const clattn_mha_desc *desc, size_t hd, bool sinks,
                                clattn_attention_desc *ad) {
    const size_t t = desc->tokens, d_out = desc->d_out, ld = 3 * d_out;
    clattn_attention_desc_init(ad, desc->batch, desc->heads, desc->heads, t, t, hd, hd);
    ad->scale = (float)(1.0 / sqrt((double)hd));
    ad->causal = desc->causal ? CLATTN_CAUSAL_TOP_LEFT : CLATTN_CAUSAL_NONE;
    ad->q = (clattn_layout){0, {t * ld, hd, ld}};
    ad->k = (clattn_layout){d_out, {t * ld, hd, ld}};
    ad->v = (clattn_layout){2 * d_out, {t * ld, hd, ld}};
    ad->o = (clattn_layout){0, {t * d_out, hd, d_out}};
    ad->softcap = desc->softcap;
    ad->alibi = desc->alibi;
    ad->window = desc->window;
    ad->window_left = desc->window_left;
    ad->window_right = desc->window_right;
    ad->sinks = sinks;
    ad->sink_keys = desc->sink_keys;
    ad->dropout = desc->dropout;
    ad->dropout_seed = desc->dropout_seed;
    ad->dropout_offset = desc->dropout_offset;
    ad->mask_kind = desc->mask_kind;
    switch (desc->mask_shape) { /* the packed layouts of clattn__mha_mask_index */
    case CLATTN_MHA_MASK_PER_HEAD:
        ad->mask = (clattn_layout){0, {desc->heads * t * t, t * t, t}};
        break;
    case CLATTN_MHA_MASK_PER_BATCH:
        ad->mask = (clattn_layout){0, {t * t, 0, t}};
        break;
    default: /* KEY_PADDING: one row of keys per sentence, for every head and query row */
        ad->mask = (clattn_layout){0, {t, 0, 0}};
        break;
    }
}

clattn_status clattn__check_mha_call(const clattn_mha_desc *desc, const clattn_mha_weights *weights,
                                     const float *x, const void *mask, const float *out,
                                     clattn_mha_shape *shape) {
    clattn_status status = clattn__check_mha_desc(desc, shape);
    if (status) return status;
    if (!weights || !weights->wq || !weights->wk || !weights->wv || !weights->wo || !x || !out)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "mha: NULL pointer");
    if (desc->mask_kind != CLATTN_MASK_NONE && !mask)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER,
                            "mha: mask_kind is set but the mask is NULL (pass it to the "
                            "*_mha_forward_masked call)");
    return CLATTN_SUCCESS;
}

clattn_linear_dtypes clattn__mha_projection_dtypes(const clattn_mha_desc *desc, bool output) {
    const clattn_linear_dtypes d = {.x = output ? CLATTN_F32 : desc->x_dtype,
                                    .w = desc->weight_dtype,
                                    .bias = desc->weight_dtype,
                                    .y = output ? desc->x_dtype : CLATTN_F32};
    return d;
}
