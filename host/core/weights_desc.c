/* Validation of an attention desc for the materialising weights path. */
#include "weights_desc.h"
#include "status.h"
#include "size.h"

#include <math.h>

bool clattn__layout_extent(const clattn_layout *l, size_t batch, size_t heads, size_t rows,
                           size_t cols, size_t *extent) {
    size_t a, b, c, end = l->offset;
    if (!clattn__mul_size(batch - 1, l->stride[0], &a) ||
        !clattn__mul_size(heads - 1, l->stride[1], &b) ||
        !clattn__mul_size(rows - 1, l->stride[2], &c))
        return false;
    const size_t parts[4] = {a, b, c, cols};
    for (int i = 0; i < 4; i++) {
        if (end > SIZE_MAX - parts[i]) return false;
        end += parts[i];
    }
    *extent = end;
    return true;
}

/* The row stride must keep rows apart; other strides are free (0 repeats a tensor). */
static clattn_status check_layout(const clattn_layout *l, const char *name, size_t batch,
                                  size_t heads, size_t rows, size_t cols, size_t *extent) {
    if (rows > 1 && l->stride[2] < cols)
        return clattn__fail(CLATTN_ERROR_INVALID_SHAPE,
                            "%s: row stride %zu is smaller than the row length %zu", name,
                            l->stride[2], cols);
    if (!clattn__layout_extent(l, batch, heads, rows, cols, extent))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "%s: offset + strides overflow size_t",
                            name);
    return CLATTN_SUCCESS;
}

clattn_status clattn__check_weights_desc(const clattn_attention_desc *desc,
                                         clattn_weights_plan *plan) {
    if (!desc) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "desc is NULL");
    if (!desc->batch || !desc->q_heads || !desc->kv_heads || !desc->m || !desc->n || !desc->d)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE,
                            "attention weights: batch (%zu), q_heads (%zu), kv_heads (%zu), m "
                            "(%zu), n (%zu) and d (%zu) must be > 0",
                            desc->batch, desc->q_heads, desc->kv_heads, desc->m, desc->n, desc->d);
    if (desc->q_heads % desc->kv_heads)
        return clattn__fail(CLATTN_ERROR_INVALID_SHAPE,
                            "q_heads (%zu) must be a multiple of kv_heads (%zu)", desc->q_heads,
                            desc->kv_heads);
    if (desc->norm != CLATTN_NORM_NONE && desc->norm != CLATTN_NORM_SUM &&
        desc->norm != CLATTN_NORM_SOFTMAX)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "unknown normalisation %d",
                            (int)desc->norm);
    if (desc->causal != CLATTN_CAUSAL_NONE && desc->causal != CLATTN_CAUSAL_TOP_LEFT &&
        desc->causal != CLATTN_CAUSAL_BOTTOM_RIGHT)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "unknown causal mode %d",
                            (int)desc->causal);
    if (desc->mask_kind != CLATTN_MASK_NONE && desc->mask_kind != CLATTN_MASK_ADDITIVE &&
        desc->mask_kind != CLATTN_MASK_BOOLEAN)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "unknown mask kind %d",
                            (int)desc->mask_kind);
    if (!isfinite(desc->scale))
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "attention weights: scale must be finite");
    clattn_weights_plan p = {0};
    if (!clattn__mul_size(desc->batch, desc->q_heads, &p.rows) ||
        !clattn__mul_size(p.rows, desc->m, &p.rows) || !clattn__mul_size(p.rows, desc->n, &p.count))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW,
                            "attention weights: B * Hq * M * N overflows size_t");
    clattn_status status;
    if ((status = check_layout(&desc->q, "q", desc->batch, desc->q_heads, desc->m, desc->d,
                               &p.q_extent)) ||
        (status = check_layout(&desc->k, "k", desc->batch, desc->kv_heads, desc->n, desc->d,
                               &p.k_extent)))
        return status;
    if (desc->mask_kind != CLATTN_MASK_NONE &&
        (status = check_layout(&desc->mask, "mask", desc->batch, desc->q_heads, desc->m, desc->n,
                               &p.mask_extent)))
        return status;
    *plan = p;
    return CLATTN_SUCCESS;
}
