/* Overlap checks between the tensors of one call (alias.c): outputs that share memory with an
 * input or with each other give wrong results, so operations refuse them up front. */
#ifndef CLATTN_OPENCL_ALIAS_H
#define CLATTN_OPENCL_ALIAS_H

#include "handle.h"

#include <stdbool.h>

/* The bytes [begin, end) a tensor spans, relative to the buffer that owns the memory (a
 * sub-buffer's parent), so that sub-buffers of one buffer are compared too. */
typedef struct clattn_span {
    const char *name;
    cl_mem root;
    size_t begin, end;
} clattn_span;

/* The span of elements [first, end) of elem bytes each in buf; buf NULL gives an empty span. */
clattn_status clattn__span(cl_mem buf, size_t first, size_t end, size_t elem, const char *name,
                           clattn_span *out);

/* Fails with CLATTN_ERROR_INVALID_VALUE, naming both, when an output span overlaps another
 * output or an input. */
clattn_status clattn__check_no_alias(const clattn_span *outputs, int n_outputs,
                                     const clattn_span *inputs, int n_inputs, const char *op);

#endif
