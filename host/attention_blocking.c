/* clattn_attention: the blocking host-pointer form of clattn_enqueue_attention. Every
 * tensor is copied as the span its layout covers, so elements between strided rows of O and
 * the LSE come back unchanged. */
#include "attention_desc.h"

typedef struct buffers {
    cl_mem mem[6];
    int count;
} buffers;

/* A device copy of host data (bytes of it), or an uninitialised buffer when data is NULL. */
static clattn_status upload(clattn_handle *h, buffers *b, const void *data, size_t count,
                            size_t elem, cl_mem *out) {
    size_t bytes;
    if (!clattn__mul_size(count, elem, &bytes))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "attention: buffer size overflows");
    if (bytes > h->max_alloc_size)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE,
                            "attention: a buffer of %zu bytes exceeds the device's largest "
                            "allocation (%llu bytes)",
                            bytes, (unsigned long long)h->max_alloc_size);
    cl_int err;
    cl_mem_flags flags = CL_MEM_READ_WRITE | (data ? CL_MEM_COPY_HOST_PTR : 0);
    *out = clCreateBuffer(h->context, flags, bytes, (void *)data, &err);
    if (err) return clattn__cl(err, "clCreateBuffer");
    b->mem[b->count++] = *out;
    return CLATTN_SUCCESS;
}

clattn_status clattn_attention(clattn_handle *h, const clattn_attention_desc *desc, const float *q,
                               const float *k, const float *v, const void *mask, float *o,
                               float *lse) {
    if (!h) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "handle is NULL");
    if (!h->queue)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "blocking calls need a handle with a queue");
    clattn_attention_extents e;
    clattn_status status = clattn__attention_check(desc, lse != NULL, &e);
    if (status) return status;
    if (!q || !k || !v || !o)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "attention: q, k, v and o are required");
    const bool masked = desc->mask_kind != CLATTN_MASK_NONE;
    if (masked && !mask)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER,
                            "attention: mask_kind is set but mask is NULL");

    buffers b = {.count = 0};
    cl_mem qb = NULL, kb = NULL, vb = NULL, mb = NULL, ob = NULL, lb = NULL;
    cl_event done = NULL;
    const size_t mask_elem = desc->mask_kind == CLATTN_MASK_BOOLEAN ? 1 : sizeof(float);
    if (!(status = upload(h, &b, q, e.q, sizeof(float), &qb)) &&
        !(status = upload(h, &b, k, e.k, sizeof(float), &kb)) &&
        !(status = upload(h, &b, v, e.v, sizeof(float), &vb)) &&
        !(status = upload(h, &b, o, e.o, sizeof(float), &ob)) &&
        !(masked && (status = upload(h, &b, mask, e.mask, mask_elem, &mb))) &&
        !(lse && (status = upload(h, &b, lse, e.lse, sizeof(float), &lb))) &&
        !(status =
              clattn_enqueue_attention(h, NULL, desc, qb, kb, vb, mb, ob, lb, 0, NULL, &done))) {
        cl_int err =
            clEnqueueReadBuffer(h->queue, ob, CL_TRUE, 0, e.o * sizeof(float), o, 1, &done, NULL);
        if (!err && lse)
            err = clEnqueueReadBuffer(h->queue, lb, CL_TRUE, 0, e.lse * sizeof(float), lse, 1,
                                      &done, NULL);
        status = clattn__cl(err, "clEnqueueReadBuffer");
    }
    if (done) clReleaseEvent(done);
    for (int i = 0; i < b.count; i++)
        clReleaseMemObject(b.mem[i]);
    return status ? status : (clattn__clear_error(), CLATTN_SUCCESS);
}
