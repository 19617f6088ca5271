/* The storage types of the linear layer (clattn_linear_dtypes): their validation, and the
 * host-array forms (the CPU backend, the reference, MHA's host forms) on 2-byte tensors as
 * float32 copies in and y rounded to its dtype out, so the float32 code paths compute
 * unchanged. Not installed. */
#ifndef CLATTN_CORE_LINEAR_DTYPE_H
#define CLATTN_CORE_LINEAR_DTYPE_H

#include "clattn.h"

#include <stdbool.h>
#include <stddef.h>

/* *out = *dtypes, or every dtype F32 when dtypes is NULL; INVALID_VALUE (naming the tensor)
 * for an unknown dtype. */
clattn_status clattn__linear_dtypes_check(const clattn_linear_dtypes *dtypes,
                                          clattn_linear_dtypes *out);

bool clattn__linear_dtypes_all_f32(const clattn_linear_dtypes *d);

/* A float32 copy of count elements of src stored as dtype (OUT_OF_HOST_MEMORY,
 * SIZE_OVERFLOW). */
clattn_status clattn__widen_copy(clattn_dtype dtype, const void *src, size_t count, float **out);

typedef struct clattn_linear_widened {
    const float *x, *w, *bias; /* float32 views: the caller's arrays or copies */
    float *y;                  /* float32 y: the caller's or a temporary */
    float *copies[4];          /* x, W, bias, y: owned or NULL */
    void *y_out;               /* the caller's y */
    size_t y_count;
    clattn_dtype y_dtype;
} clattn_linear_widened;

/* Packed x [rows, k], W [cols, k], bias [cols] or NULL, y [rows, cols] of validated sizes and
 * dtypes d: float32 views of each (copies of the 2-byte ones; y a temporary when 2-byte). */
clattn_status clattn__linear_widen(size_t rows, size_t cols, size_t k, const float *x,
                                   const float *w, const float *bias, float *y,
                                   const clattn_linear_dtypes *d, clattn_linear_widened *out);

/* Rounds the float32 y into the caller's y when store is true and frees the copies. */
void clattn__linear_narrow(clattn_linear_widened *w, bool store);

#endif
