/* The host-array forms of the fused attention (the CPU backend, the reference) on tensors
 * stored as float16 or bfloat16: float32 copies of those tensors in, O rounded to its dtype
 * out, so the float32 code paths compute unchanged. Not installed. */
#ifndef CLATTN_CORE_ATTENTION_DTYPE_H
#define CLATTN_CORE_ATTENTION_DTYPE_H

#include "clattn.h"

#include <stdbool.h>

typedef struct clattn_attention_widened {
    clattn_attention_desc desc;     /* the caller's desc, every dtype F32 */
    clattn_attention_arrays arrays; /* the caller's arrays, 2-byte tensors replaced by copies */
    float *copies[5];               /* Q, K, V, mask, O: owned float32 copies or NULL */
    void *o;                        /* the caller's O */
    size_t o_count;                 /* elements of O's extent */
    clattn_dtype o_dtype;
} clattn_attention_widened;

/* For a desc that passed validation (clattn__attention_check, the extras and the paged
 * arrays; varlen offsets are checked here again to size the tensors): float32 copies of every
 * extent stored in 2 bytes (O's too, so elements between its rows come back unchanged).
 * OUT_OF_HOST_MEMORY, or a varlen status. */
clattn_status clattn__attention_widen(const clattn_attention_desc *desc,
                                      const clattn_attention_arrays *t,
                                      clattn_attention_widened *w);

/* Rounds the float32 O back into the caller's O when store is true (the computation
 * succeeded) and frees the copies. */
void clattn__attention_narrow(clattn_attention_widened *w, bool store);

#endif
