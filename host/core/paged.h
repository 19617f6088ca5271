/* The paged KV cache's contract (clattn_attention_desc's page fields, clattn_kv_append_desc):
 * validation of the host arrays and of the append's desc, shared by every backend. Not
 * installed. */
#ifndef CLATTN_PAGED_H
#define CLATTN_PAGED_H

#include "clattn.h"

#include <stdint.h>

/* Host arrays of a paged attention call: every seqlens_k[b] within [0, n] and every page id
 * of block_table that sequence b's keys use within [0, num_pages) (INVALID_VALUE naming the
 * first bad entry). Does nothing when the desc is not paged. */
clattn_status clattn__paged_check_arrays(const clattn_attention_desc *desc,
                                         const int32_t *block_table, const int32_t *seqlens_k);

/* Element extents of the append's tensors (as clattn_attention_extents). */
typedef struct clattn_kv_append_extents {
    size_t k_new, v_new, k_pages, v_pages, block_table, seqlens_k;
} clattn_kv_append_extents;

/* Sizes > 0 (INVALID_SIZE), row strides and page aliasing (INVALID_SHAPE), overflow
 * (SIZE_OVERFLOW); fills the extents (may be NULL). */
clattn_status clattn__kv_append_check(const clattn_kv_append_desc *desc,
                                      clattn_kv_append_extents *extents);

/* Host arrays of an append: every position seqlens_k[b] + t within [0, max_pages * P) and
 * every page id written within [0, num_pages) (INVALID_VALUE). */
clattn_status clattn__kv_append_check_arrays(const clattn_kv_append_desc *desc,
                                             const int32_t *block_table, const int32_t *seqlens_k);

#endif
