/* Validation of a multi-head attention desc, shared by the device and reference paths. */
#include "mha.h"

clattn_status clattn__check_mha_desc(const clattn_mha_desc *desc, clattn_mha_plan *plan) {
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
    clattn_mha_plan p;
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
    *plan = p;
    return CLATTN_SUCCESS;
}
