/* Variable-length batches (clattn_attention_desc.varlen): what the desc must satisfy, the
 * validation of host-side cumulative offsets, and each sequence as an ordinary desc of batch 1
 * (how the reference and the CPU backend compute them). Not installed. */
#ifndef CLATTN_VARLEN_H
#define CLATTN_VARLEN_H

#include "clattn.h"
#include "attention_desc.h"

#include <stdbool.h>
#include <stdint.h>

/* What varlen needs of the desc (called by clattn__attention_check): no mask, not the
 * attention-weights path (INVALID_VALUE), and row strides that keep the packed tokens apart
 * (Q, K, V, O: >= the row length; LSE: >= 1; INVALID_SHAPE). */
clattn_status clattn__varlen_desc_check(const clattn_attention_desc *d, bool weights);

/* Host offsets cu_q, cu_k ([B + 1] each): first 0, non-decreasing, each length <= m (n)
 * and totals that fit an int32 (INVALID_VALUE otherwise). *total_q, *total_k receive
 * cu[B]. */
clattn_status clattn__varlen_check_offsets(const clattn_attention_desc *d, const int32_t *cu_q,
                                           const int32_t *cu_k, size_t *total_q, size_t *total_k);

/* The extents of a varlen call's tensors holding total_q query and total_k key rows: the
 * layouts checked as one batch of that many rows (so the host forms check overlap and size
 * with the real totals). uses as for clattn__attention_check. */
clattn_status clattn__varlen_extents(const clattn_attention_desc *d, size_t total_q, size_t total_k,
                                     unsigned uses, clattn_attention_extents *e);

/* Sequence b of a varlen desc whose offsets passed clattn__varlen_check_offsets, as an
 * ordinary desc of batch 1 (varlen 0) with m = its query rows, n = its keys (either may be 0:
 * the caller skips an empty sequence and writes zeros and an LSE of -inf for queries with no
 * keys), every layout's offset moved to the sequence's first row and the dropout offset
 * advanced by b * Hq (the same Philox stream as sequence b in the kernels). */
void clattn__varlen_sequence(const clattn_attention_desc *d, const int32_t *cu_q,
                             const int32_t *cu_k, size_t b, clattn_attention_desc *seq);

/* Writes the result of query rows that have no keys: O rows of zeros, LSE -inf (lse may be
 * NULL), or with attention sinks (sinks: the [Hq] logits, else NULL) the head's sink logit,
 * for seq (a clattn__varlen_sequence desc with n = 0). */
void clattn__varlen_write_empty(const clattn_attention_desc *seq, const float *sinks, float *o,
                                float *lse);

/* Computes one sequence of batch 1 (a clattn__varlen_sequence desc with m, n > 0) on t. */
typedef clattn_status (*clattn__varlen_sequence_fn)(const clattn_attention_desc *seq,
                                                    const clattn_attention_arrays *t);

/* A varlen call on host arrays that passed validation: checks the offsets and the tensors'
 * extents with the real totals, then runs each sequence as an ordinary problem of batch 1
 * (sequences without keys written by clattn__varlen_write_empty, empty ones skipped). The
 * reference and the CPU backend share it, passing their own compute. */
clattn_status clattn__varlen_run(const clattn_attention_desc *d, const clattn_attention_arrays *t,
                                 clattn__varlen_sequence_fn compute);

#endif
