/* The host-array forms of multi-head attention (the CPU backend, the reference) on X, out and
 * weights stored as float16 or bfloat16: float32 copies in, out rounded to x_dtype at the
 * end, so the float32 code paths compute unchanged. Not installed. */
#ifndef CLATTN_CORE_MHA_DTYPE_H
#define CLATTN_CORE_MHA_DTYPE_H

#include "mha_desc.h"

#include <stdbool.h>

typedef struct clattn_mha_widened {
    clattn_mha_desc desc;       /* the caller's desc, both dtypes F32 */
    clattn_mha_weights weights; /* float32 views (sinks unchanged: always float32) */
    const float *x;
    float *out;
    float *copies[10]; /* x, wq, wk, wv, wo, bq, bk, bv, bo, out: owned or NULL */
    void *out_caller;
    size_t out_count;
    clattn_dtype out_dtype;
} clattn_mha_widened;

bool clattn__mha_all_f32(const clattn_mha_desc *desc);

/* For a call that passed clattn__check_mha_call (shape p): float32 views of every tensor,
 * copies of the 2-byte ones (out a temporary). OUT_OF_HOST_MEMORY. */
clattn_status clattn__mha_widen(const clattn_mha_desc *desc, const clattn_mha_shape *p,
                                const clattn_mha_weights *weights, const float *x, float *out,
                                clattn_mha_widened *w);

/* Rounds the float32 out into the caller's out when store is true and frees the copies. */
void clattn__mha_narrow(clattn_mha_widened *w, bool store);

#endif
