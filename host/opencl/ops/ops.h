/* What the operations tell each other and the registry (scratch sizes). */
#ifndef CLATTN_OPS_H
#define CLATTN_OPS_H

#include "handle.h"


/* Scratch bytes each operation acquires for a shape (what clattn_scratch_size reports). */
size_t clattn__normalize_scratch_bytes(const clattn_handle *h, clattn_norm norm, size_t n);
clattn_status clattn__context_scratch_bytes(const clattn_handle *h, size_t n, size_t d,
                                            size_t *bytes);
clattn_status clattn__attention_scratch_bytes(clattn_handle *h, const clattn_attention_desc *desc,
                                              size_t *bytes);

#endif
