/* How one attention problem is cut across devices (split.c): pure arithmetic, no OpenCL, so
 * that multi-device attention and ring attention share the row/key splitting and the causal
 * bookkeeping. */
#ifndef CLATTN_MULTI_SPLIT_H
#define CLATTN_MULTI_SPLIT_H

#include "clattn.h"

#include <stddef.h>

typedef enum clattn_split_axis {
    CLATTN_SPLIT_ROWS = 0, /* each device: some query rows against all the keys they see */
    CLATTN_SPLIT_KEYS = 1  /* each device: every query row against a chunk of keys, then a merge */
} clattn_split_axis;

/* A sub-problem: rows [row0, row0 + rows) of every batch and query head against keys
 * [key0, key0 + keys), with causal NONE or BOTTOM_RIGHT. Bottom-right on the sub-problem hides
 * exactly the keys the whole problem's causal mask hides from those rows. */
typedef struct clattn_attention_piece {
    size_t row0, rows, key0, keys;
    clattn_causal causal;
} clattn_attention_piece;

/* The axis that moves less data: KEYS when Q, O and the LSE are smaller than K and V (few
 * query rows: decoding), ROWS otherwise and always for norm SUM (its partials cannot be merged
 * by LSE). CLATTN_MULTI_SPLIT=rows|keys overrides (keys is ignored for SUM). */
clattn_split_axis clattn__split_axis(const clattn_attention_desc *desc);

/* Cuts the axis (M rows or N keys) into count contiguous ranges, range d = [bounds[d],
 * bounds[d + 1]) (bounds has count + 1 entries), each holding a share of the work proportional
 * to weights[d] (non-negative, positive sum). Work counts the keys each row attends, so causal
 * triangles are balanced by work, not by length. A zero weight gives an empty range. */
void clattn__split_bounds(const clattn_attention_desc *desc, clattn_split_axis axis, size_t count,
                          const double *weights, size_t *bounds);

/* The pieces that compute rows [row0, row1) against keys [key0, key1) under desc's causal
 * masking: at most two (rows that see part of the keys, bottom-right; rows that see all of
 * them, no causal). Rows that see none of the keys get no piece: their partial result is O = 0
 * with LSE -inf. Returns the number of pieces written to out. */
size_t clattn__split_pieces(const clattn_attention_desc *desc, size_t row0, size_t row1,
                            size_t key0, size_t key1, clattn_attention_piece out[2]);

#endif
