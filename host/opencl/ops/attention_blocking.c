/* clattn_attention: the blocking host-pointer form of clattn_enqueue_attention. Every
 * tensor is passed as the span its layout covers: the inputs in place on CPU devices (a copy
 * elsewhere), O and the LSE as copies read back whole, so elements between strided rows of
 * O and the LSE come back unchanged. */
#include "status.h"
#include "attention_desc.h"
#include "paged.h"
#include "handle.h"
#include "upload.h"
#include "varlen.h"

#include <stdint.h>

clattn_status clattn_attention(clattn_handle *h, const clattn_attention_desc *desc, const float *q,
                               const float *k, const float *v, const void *mask, float *o,
                               float *lse) {
    const clattn_attention_arrays t = {.q = q, .k = k, .v = v, .mask = mask, .o = o, .lse = lse};
    return clattn_attention_ex(h, desc, &t);
}

clattn_status clattn_attention_ex(clattn_handle *h, const clattn_attention_desc *desc,
                                  const clattn_attention_arrays *t) {
    if (!h) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "handle is NULL");
    if (!h->queue)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "blocking calls need a handle with a queue");
    if (!t) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "attention: tensors is NULL");
    const float *q = t->q, *k = t->k, *v = t->v;
    const void *mask = t->mask;
    float *o = t->o, *lse = t->lse;
    clattn_attention_extents e;
    clattn_status status = clattn__attention_check(desc, lse ? CLATTN_DESC_LSE : 0u, &e);
    if (!status) status = clattn__attention_extras_check(desc, clattn__attention_arrays_given(t));
    if (!status) status = clattn__paged_check_arrays(desc, t->block_table, t->seqlens_k);
    if (status) return status;
    if (!q || !k || !v || !o)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "attention: q, k, v and o are required");
    const bool masked = desc->mask_kind != CLATTN_MASK_NONE;
    if (masked && !mask)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER,
                            "attention: mask_kind is set but mask is NULL");
    /* varlen: the offsets are checked here, on the host, and size every tensor */
    size_t total_q = 0, total_k = 0;
    if (desc->varlen &&
        ((status = clattn__varlen_check_offsets(desc, t->cu_seqlens_q, t->cu_seqlens_k, &total_q,
                                                &total_k)) ||
         (status = clattn__varlen_extents(desc, total_q, total_k, lse ? CLATTN_DESC_LSE : 0u, &e))))
        return status;

    /* O and the LSE come back as two copies: the second would overwrite the first. The inputs
     * may overlap them (read before anything is copied back). */
    const size_t o_size = clattn_dtype_size(desc->o_dtype); /* O's bytes per element */
    if (lse && (uintptr_t)o + desc->o.offset * o_size < (uintptr_t)(lse + e.lse) &&
        (uintptr_t)(lse + desc->lse.offset) < (uintptr_t)o + e.o * o_size)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "attention: o and lse overlap");

    clattn_buffers b = {.count = 0};
    cl_mem qb = NULL, kb = NULL, vb = NULL, mb = NULL, ob = NULL, lb = NULL, cqb = NULL, ckb = NULL,
           tb = NULL, sb = NULL, skb = NULL;
    const bool paged = desc->page_size > 0;
    cl_event done = NULL;
    const size_t mask_elem = clattn__mask_element_size(desc);
    if (!(status = clattn__upload(h, &b, q, e.q, clattn_dtype_size(desc->q_dtype), true, &qb)) &&
        !(status = clattn__upload(h, &b, k, e.k, clattn_dtype_size(desc->k_dtype), true, &kb)) &&
        !(status = clattn__upload(h, &b, v, e.v, clattn_dtype_size(desc->v_dtype), true, &vb)) &&
        !(status = clattn__upload(h, &b, o, e.o, o_size, false, &ob)) &&
        !(masked && (status = clattn__upload(h, &b, mask, e.mask, mask_elem, true, &mb))) &&
        !(lse && (status = clattn__upload(h, &b, lse, e.lse, sizeof(float), false, &lb))) &&
        !(desc->varlen && ((status = clattn__upload(h, &b, t->cu_seqlens_q, desc->batch + 1,
                                                    sizeof(int32_t), true, &cqb)) ||
                           (status = clattn__upload(h, &b, t->cu_seqlens_k, desc->batch + 1,
                                                    sizeof(int32_t), true, &ckb)))) &&
        !(paged && (status = clattn__upload(h, &b, t->block_table, desc->batch * desc->max_pages,
                                            sizeof(int32_t), true, &tb))) &&
        !(paged && (status = clattn__upload(h, &b, t->seqlens_k, desc->batch, sizeof(int32_t), true,
                                            &sb))) &&
        !(t->sinks &&
          (status = clattn__upload(h, &b, t->sinks, desc->q_heads, sizeof(float), true, &skb))) &&
        !(status = clattn_enqueue_attention_ex(h, NULL, desc,
                                               &(clattn_attention_buffers){.q = qb,
                                                                           .k = kb,
                                                                           .v = vb,
                                                                           .mask = mb,
                                                                           .o = ob,
                                                                           .lse = lb,
                                                                           .sinks = skb,
                                                                           .cu_seqlens_q = cqb,
                                                                           .cu_seqlens_k = ckb,
                                                                           .block_table = tb,
                                                                           .seqlens_k = sb},
                                               0, NULL, &done))) {
        cl_int err = clEnqueueReadBuffer(h->queue, ob, CL_TRUE, 0, e.o * o_size, o, 1, &done, NULL);
        if (!err && lse)
            err = clEnqueueReadBuffer(h->queue, lb, CL_TRUE, 0, e.lse * sizeof(float), lse, 1,
                                      &done, NULL);
        status = clattn__cl(err, "clEnqueueReadBuffer");
    }
    return clattn__end_blocking_call(h, status, &done, 1, &b);
}
