/* Internal helpers of the attention-weights path (weights.c, weights_desc.c,
 * reference_weights.c). */
#ifndef CLATTN_WEIGHTS_H
#define CLATTN_WEIGHTS_H

#include "clattn.h"

#include <stdbool.h>
#include <stdint.h>

/* Element extent of a tensor [batch, heads, rows, cols] in layout l: one past its last
 * element (offset + last index + 1). Returns false when that overflows size_t. */
bool clattn__layout_extent(const clattn_layout *l, size_t batch, size_t heads, size_t rows,
                           size_t cols, size_t *extent);

/* What a validated weights desc implies. */
typedef struct clattn_weights_plan {
    size_t q_extent, k_extent; /* floats */
    size_t mask_extent;        /* elements of the mask's type (floats or bytes), 0 if none */
    size_t count;              /* B * Hq * M * N, the packed weights */
    size_t rows;               /* B * Hq * M, the rows of the weights */
} clattn_weights_plan;

/* Validates a desc for the weights path (dv, v, o and lse are not used) and fills *plan. */
clattn_status clattn__check_weights_desc(const clattn_attention_desc *desc,
                                         clattn_weights_plan *plan);

#endif
