/* Exact merge of softmax attention results computed over disjoint sets of keys (lse_merge.c):
 * the split-KV merge that multi-device and ring attention build on. */
#ifndef CLATTN_CORE_LSE_MERGE_H
#define CLATTN_CORE_LSE_MERGE_H

#include <stddef.h>

/* acc <- merge(acc, part) for `rows` rows of `dv` floats (both packed [rows, dv]), each row a
 * softmax attention output over its own keys with its natural-log log-sum-exp (packed [rows]).
 * Overflow-safe: each side is weighted by exp(lse - max lse), so any finite LSEs merge. A row
 * whose part LSE is -inf (no attended key) leaves acc as it was; a row whose acc LSE is -inf
 * takes the part; a NaN LSE on either side makes the merged row and its LSE NaN. Merging in
 * any order gives the same result up to rounding. */
void clattn__lse_merge_into(size_t rows, size_t dv, float *acc_o, float *acc_lse,
                            const float *part_o, const float *part_lse);

#endif
