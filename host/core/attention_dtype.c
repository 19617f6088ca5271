/* float16 / bfloat16 host arrays of the fused attention as float32 copies (see the header). */
#include "attention_dtype.h"
#include "attention_desc.h"
#include "dtype.h"
#include "size.h"
#include "status.h"
#include "varlen.h"

#include <stdlib.h>
#include <string.h>

/* A float32 copy of count elements of src stored as dtype. */
static clattn_status widen_copy(clattn_dtype dtype, const void *src, size_t count, float **out) {
    size_t bytes;
    if (!clattn__mul_size(count, sizeof(float), &bytes))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "attention: float32 copy too large");
    *out = malloc(bytes ? bytes : 1);
    if (!*out) return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    clattn__dtype_widen(dtype, src, *out, count);
    return CLATTN_SUCCESS;
}

clattn_status clattn__attention_widen(const clattn_attention_desc *desc,
                                      const clattn_attention_arrays *t,
                                      clattn_attention_widened *w) {
    memset(w, 0, sizeof *w);
    w->desc = *desc;
    w->arrays = *t;
    w->desc.q_dtype = w->desc.k_dtype = w->desc.v_dtype = w->desc.o_dtype = CLATTN_F32;
    w->desc.mask_dtype = CLATTN_F32;
    const unsigned uses = t->lse ? CLATTN_DESC_LSE : 0u;
    clattn_attention_extents e;
    clattn_status status = clattn__attention_check(desc, uses, &e);
    size_t total_q, total_k;
    if (!status && desc->varlen &&
        !(status = clattn__varlen_check_offsets(desc, t->cu_seqlens_q, t->cu_seqlens_k, &total_q,
                                                &total_k)))
        status = clattn__varlen_extents(desc, total_q, total_k, uses, &e);
    if (status) return status;
    const bool additive = desc->mask_kind == CLATTN_MASK_ADDITIVE;
    const clattn_dtype dtypes[5] = {desc->q_dtype, desc->k_dtype, desc->v_dtype,
                                    additive ? desc->mask_dtype : CLATTN_F32, desc->o_dtype};
    const void *sources[5] = {t->q, t->k, t->v, t->mask, t->o};
    const size_t counts[5] = {e.q, e.k, e.v, e.mask, e.o};
    for (int i = 0; i < 5 && !status; i++)
        if (dtypes[i] != CLATTN_F32)
            status = widen_copy(dtypes[i], sources[i], counts[i], &w->copies[i]);
    if (status) {
        clattn__attention_narrow(w, false);
        return status;
    }
    if (w->copies[0]) w->arrays.q = w->copies[0];
    if (w->copies[1]) w->arrays.k = w->copies[1];
    if (w->copies[2]) w->arrays.v = w->copies[2];
    if (w->copies[3]) w->arrays.mask = w->copies[3];
    if (w->copies[4]) w->arrays.o = w->copies[4];
    w->o = t->o;
    w->o_count = e.o;
    w->o_dtype = desc->o_dtype;
    return CLATTN_SUCCESS;
}

void clattn__attention_narrow(clattn_attention_widened *w, bool store) {
    if (store && w->copies[4]) clattn__dtype_narrow(w->o_dtype, w->copies[4], w->o, w->o_count);
    for (int i = 0; i < 5; i++) {
        free(w->copies[i]);
        w->copies[i] = NULL;
    }
}
