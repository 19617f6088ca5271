/* Validation of clattn_attention_desc and the extents of its tensors: the one validator of
 * the fused attention, the attention-weights path, their blocking forms, the CPU backend and
 * the reference (which share this contract, never the computation). Not installed. */
#ifndef CLATTN_ATTENTION_DESC_H
#define CLATTN_ATTENTION_DESC_H

#include "clattn.h"

#include <stdbool.h>
#include <stdint.h>

/* The largest head dim (D and Dv) the fused attention kernels support. */
#define CLATTN_MAX_HEAD_DIM 256

/* What a call uses of the desc (flags for clattn__attention_check). */
enum clattn_desc_use {
    CLATTN_DESC_LSE = 1u, /* the LSE layout is written */
    /* The materialised attention-weights path: reads Q, K and the mask only (dv, v, o, lse
     * and kv_splits are ignored), accepts norm NONE, and d has no upper limit. */
    CLATTN_DESC_WEIGHTS = 2u
};

/* For each tensor, the number of elements from the start of the buffer to one past the
 * last element it touches (offset included): the size a buffer must have. mask is in
 * elements of its kind (floats or bytes); 0 for tensors not used. For the weights path,
 * weights = B * Hq * M * N (the packed output) in weight_rows = B * Hq * M rows. */
typedef struct clattn_attention_extents {
    size_t q, k, v, o, mask, lse;
    size_t weights, weight_rows;
} clattn_attention_extents;

/* Bytes per mask element: 1 for a boolean (uint8) mask, the mask_dtype's size for an additive
 * mask. */
static inline size_t clattn__mask_element_size(const clattn_attention_desc *desc) {
    return desc->mask_kind == CLATTN_MASK_BOOLEAN ? 1 : clattn_dtype_size(desc->mask_dtype);
}

/* Whether every tensor of desc is stored as float32 (the paths that take no other dtype). */
static inline bool clattn__attention_all_f32(const clattn_attention_desc *desc) {
    return desc->q_dtype == CLATTN_F32 && desc->k_dtype == CLATTN_F32 &&
           desc->v_dtype == CLATTN_F32 && desc->o_dtype == CLATTN_F32 &&
           desc->mask_dtype == CLATTN_F32;
}

/* Element extent of a tensor [batch, heads, rows, cols] in layout l: one past its last
 * element (offset + last index + 1). Returns false when that overflows size_t. */
bool clattn__layout_extent(const clattn_layout *l, size_t batch, size_t heads, size_t rows,
                           size_t cols, size_t *extent);

/* Checks sizes, enums, scale and strides (rows of an input must not overlap; no two output
 * elements may share an address) and computes the extents (extents may be NULL). uses: a
 * combination of clattn_desc_use. Statuses: NULL_POINTER, INVALID_SIZE, INVALID_VALUE,
 * INVALID_SHAPE, SIZE_OVERFLOW. */
clattn_status clattn__attention_check(const clattn_attention_desc *desc, unsigned uses,
                                      clattn_attention_extents *extents);

/* The causal alignment offset: N - M under CLATTN_CAUSAL_BOTTOM_RIGHT, else 0 (also the
 * sliding window's and ALiBi's). */
long long clattn__attention_offset(const clattn_attention_desc *desc);

/* The keys row i attends under causal masking and the sliding window: [*begin, *end), both
 * within [0, N] and begin <= end (the mask may hide more). */
void clattn__attention_key_range(const clattn_attention_desc *desc, size_t i, long long *begin,
                                 long long *end);

/* Whether key j (0 <= j < N) is visible to a row whose range is [begin, end) (from
 * clattn__attention_key_range): inside it, or one of the desc's first sink_keys keys before
 * its end (StreamingLLM's sink keys stay visible left of the window). */
bool clattn__attention_key_visible(const clattn_attention_desc *desc, long long begin,
                                   long long end, long long j);

/* The tensors beyond Q, K, V, the mask, O and the LSE that a call was given (non-NULL members
 * of clattn_attention_buffers / clattn_attention_arrays). */
enum clattn_attention_extra {
    CLATTN_EXTRA_SINKS = 1u,
    CLATTN_EXTRA_CU_SEQLENS_Q = 2u,
    CLATTN_EXTRA_CU_SEQLENS_K = 4u,
    CLATTN_EXTRA_BLOCK_TABLE = 8u,
    CLATTN_EXTRA_SEQLENS_K = 16u
};

/* Checks that the extra tensors given (a combination of clattn_attention_extra) are exactly
 * those the desc's features read: a missing one is NULL_POINTER, one no feature reads is
 * INVALID_VALUE (a tensor silently ignored would be a wrong answer). */
clattn_status clattn__attention_extras_check(const clattn_attention_desc *desc, unsigned given);

/* The extra tensors given as host arrays. */
static inline unsigned clattn__attention_arrays_given(const clattn_attention_arrays *t) {
    return (t->sinks ? CLATTN_EXTRA_SINKS : 0u) |
           (t->cu_seqlens_q ? CLATTN_EXTRA_CU_SEQLENS_Q : 0u) |
           (t->cu_seqlens_k ? CLATTN_EXTRA_CU_SEQLENS_K : 0u) |
           (t->block_table ? CLATTN_EXTRA_BLOCK_TABLE : 0u) |
           (t->seqlens_k ? CLATTN_EXTRA_SEQLENS_K : 0u);
}

/* ALiBi's standard slope of query head h out of `heads` (see clattn_attention_desc). */
double clattn__alibi_slope(size_t h, size_t heads);

#endif
