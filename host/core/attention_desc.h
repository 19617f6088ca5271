/* Validation of clattn_attention_desc and the extents of its tensors, shared by the
 * attention operations, their blocking forms and the CPU reference. Not installed. */
#ifndef CLATTN_ATTENTION_DESC_H
#define CLATTN_ATTENTION_DESC_H

#include "clattn.h"

#include <stdbool.h>
#include <stdint.h>

/* The largest head dim (D and Dv) the kernels support. */
#define CLATTN_MAX_HEAD_DIM 256

/* For each tensor, the number of elements from the start of the buffer to one past the
 * last element it touches (offset included): the size a buffer must have. mask is in
 * elements of its kind (floats or bytes); 0 for tensors not used. */
typedef struct clattn_attention_extents {
    size_t q, k, v, o, mask, lse;
} clattn_attention_extents;

/* Checks sizes, enums, scale and strides (rows of an input must not overlap; no two output
 * elements may share an address) and computes the extents. with_lse: the LSE layout is
 * used. Statuses: NULL_POINTER, INVALID_SIZE, INVALID_VALUE, INVALID_SHAPE, SIZE_OVERFLOW. */
clattn_status clattn__attention_check(const clattn_attention_desc *desc, bool with_lse,
                                      clattn_attention_extents *extents);

#endif
