/* What the operations tell each other and the registry of operations (registry.c): scratch
 * sizes and how to build their programs ahead of use. */
#ifndef CLATTN_OPS_H
#define CLATTN_OPS_H

#include "handle.h"

/* Scratch bytes each operation acquires for a shape (what clattn_op_scratch_size reports). */
size_t clattn__normalize_scratch_bytes(const clattn_handle *h, clattn_norm norm, size_t n);
clattn_status clattn__context_scratch_bytes(const clattn_handle *h, size_t n, size_t d,
                                            size_t *bytes);
clattn_status clattn__attention_scratch_bytes(clattn_handle *h, const clattn_attention_desc *desc,
                                              size_t *bytes);
clattn_status clattn__linear_scratch_bytes(const clattn_handle *h, size_t rows, size_t cols,
                                           size_t k, size_t *bytes);
clattn_status clattn__mha_scratch_bytes(clattn_handle *h, const clattn_mha_desc *desc,
                                        size_t *bytes);

/* Build the programs of operations whose build options depend on the device or the shape,
 * as the operations themselves build them (for clattn_handle_prepare). */
clattn_status clattn__scores_prepare(clattn_handle *h);
clattn_status clattn__attention_prepare(clattn_handle *h);
clattn_status clattn__attention_weights_prepare(clattn_handle *h);
clattn_status clattn__linear_prepare(clattn_handle *h);

#endif
