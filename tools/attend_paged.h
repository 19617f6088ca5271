/* clattn attend with a paged KV cache (--block-table T.npy --page-size P --seqlens-k L.npy). */
#ifndef CLATTN_ATTEND_PAGED_H
#define CLATTN_ATTEND_PAGED_H

#include "clattn.h"
#include "npy.h"

/* Loads the block table [B, max_pages] and seqlens_k [B] for Q's batch B and makes desc
 * (batch, heads, m, d, dv set) a paged one over K/V pages [num_pages, Hkv, page_size, D]:
 * k_rows, the pages' rows, must equal page_size. Returns 0 or a cli_error code; the arrays
 * are owned by the caller (free their data) even on failure. */
int attend_paged_load(const char *table_path, const char *seqlens_path, size_t page_size,
                      size_t num_pages, size_t k_rows, clattn_attention_desc *desc,
                      npy_int32_array *table, npy_int32_array *seqlens);

#endif
