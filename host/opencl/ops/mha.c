/* Multi-head attention with projections: three linear projections into one interleaved
 * QKV buffer [B*T, 3*d_out], the fused attention reading each head straight out of it
 * through the layout strides (no transposes), its output written head by head into the
 * concatenated context [B*T, d_out], and the output projection. */
#include "status.h"
#include "mha_desc.h"
#include "handle.h"
#include "launch.h"
#include "upload.h"
#include "linear.h"
#include "scratch.h"
#include "ops.h"

static clattn_status check_layer_weight(clattn_handle *h, cl_mem buf, size_t count, size_t elem,
                                        const char *name, cl_mem out) {
    clattn_status status = clattn__check_elements(h, buf, 0, count, elem, name);
    if (!status && buf == out)
        status =
            clattn__fail(CLATTN_ERROR_INVALID_VALUE, "mha: out is the same buffer as %s", name);
    return status;
}

/* The mask buffer: present and large enough when the desc has a mask kind (before
 * anything is enqueued), and not the output. */
static clattn_status check_mask(clattn_handle *h, const clattn_mha_desc *desc,
                                const clattn_mha_shape *p, cl_mem mask, cl_mem out) {
    if (desc->mask_kind == CLATTN_MASK_NONE) return CLATTN_SUCCESS;
    if (!mask)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER,
                            "mha: mask_kind is set but the mask is NULL (pass it to "
                            "clattn_enqueue_mha_forward_masked)");
    clattn_status status = clattn__check_elements(h, mask, 0, p->mask_count, p->mask_elem, "mask");
    if (!status && mask == out)
        status = clattn__fail(CLATTN_ERROR_INVALID_VALUE, "mha: out is the same buffer as mask");
    return status;
}

static clattn_status check_buffers(clattn_handle *h, const clattn_mha_desc *desc,
                                   const clattn_mha_shape *p, const clattn_mha_buffers *w, cl_mem x,
                                   cl_mem mask, cl_mem out) {
    if (!w) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "mha: weights is NULL");
    const cl_mem biases[3] = {w->bq, w->bk, w->bv};
    const char *bias_names[3] = {"bq", "bk", "bv"};
    const size_t xe = clattn_dtype_size(desc->x_dtype), we = clattn_dtype_size(desc->weight_dtype);
    clattn_status status;
    if ((status = clattn__check_elements(h, out, 0, p->out_count, xe, "out")) ||
        (status = check_layer_weight(h, x, p->x_count, xe, "x", out)) ||
        (status = check_layer_weight(h, w->wq, p->w_count, we, "wq", out)) ||
        (status = check_layer_weight(h, w->wk, p->w_count, we, "wk", out)) ||
        (status = check_layer_weight(h, w->wv, p->w_count, we, "wv", out)) ||
        (status = check_layer_weight(h, w->wo, p->wo_count, we, "wo", out)) ||
        (w->bo && (status = check_layer_weight(h, w->bo, desc->d_out, we, "bo", out))) ||
        (w->sinks &&
         (status = check_layer_weight(h, w->sinks, desc->heads, sizeof(float), "sinks", out))) ||
        (status = check_mask(h, desc, p, mask, out)))
        return status;
    for (int i = 0; i < 3; i++)
        if (biases[i] &&
            (status = check_layer_weight(h, biases[i], desc->d_out, we, bias_names[i], out)))
            return status;
    return CLATTN_SUCCESS;
}

static clattn_status create_temp(clattn_handle *h, size_t count, cl_mem *out) {
    const size_t bytes = count * sizeof(float); /* validated: no overflow */
    if (bytes > h->max_alloc_size)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE,
                            "mha: a temporary of %zu bytes exceeds the device's largest "
                            "allocation (%llu bytes)",
                            bytes, (unsigned long long)h->max_alloc_size);
    cl_int err;
    *out = clCreateBuffer(h->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    return clattn__cl(err, "clCreateBuffer");
}

clattn_status clattn_enqueue_mha_forward(clattn_handle *h, cl_command_queue queue,
                                         const clattn_mha_desc *desc, const clattn_mha_buffers *w,
                                         cl_mem x, cl_mem out, cl_uint num_wait,
                                         const cl_event *wait, cl_event *done) {
    return clattn_enqueue_mha_forward_masked(h, queue, desc, w, x, NULL, out, num_wait, wait, done);
}

clattn_status clattn_enqueue_mha_forward_masked(clattn_handle *h, cl_command_queue queue,
                                                const clattn_mha_desc *desc,
                                                const clattn_mha_buffers *w, cl_mem x, cl_mem mask,
                                                cl_mem out, cl_uint num_wait, const cl_event *wait,
                                                cl_event *done) {
    clattn_mha_shape p;
    clattn_status status;
    size_t scratch_bytes = 0;
    if ((status = clattn__enqueue_begin(h, &queue, num_wait, wait)) ||
        (status = clattn__check_mha_desc(desc, &p)) ||
        (status = check_buffers(h, desc, &p, w, x, mask, out)) ||
        (status = clattn__mha_scratch_bytes(h, desc, &scratch_bytes)) ||
        (status = clattn__scratch_check(h, scratch_bytes))) /* before enqueueing anything */
        return status;

    const size_t rows = p.rows, d_in = desc->d_in, d_out = desc->d_out, ld = 3 * d_out;
    cl_mem qkv = NULL, ctx = NULL;
    cl_event proj[3] = {NULL, NULL, NULL}, attended = NULL;
    if ((status = create_temp(h, 3 * p.out_count, &qkv)) ||
        (status = create_temp(h, p.out_count, &ctx)))
        goto out;
    /* The three projections only wait for the caller; the attention waits for all three.
     * X, out and the weights in their dtypes; QKV and the context float32. */
    const clattn_linear_dtypes in_dtypes = clattn__mha_projection_dtypes(desc, false),
                               out_dtypes = clattn__mha_projection_dtypes(desc, true);
    const cl_mem ws[3] = {w->wq, w->wk, w->wv}, bs[3] = {w->bq, w->bk, w->bv};
    for (int i = 0; i < 3 && !status; i++)
        status = clattn__enqueue_linear(h, queue, rows, d_out, d_in, x, 0, d_in, ws[i], 0, d_in,
                                        bs[i], 0, qkv, (size_t)i * d_out, ld, &in_dtypes, num_wait,
                                        wait, &proj[i]);
    if (status) goto out;
    clattn_attention_desc ad;
    clattn__mha_attention_desc(desc, p.head_dim, w->sinks != NULL, &ad);
    const clattn_attention_buffers heads = {
        .q = qkv,
        .k = qkv,
        .v = qkv,
        .mask = desc->mask_kind == CLATTN_MASK_NONE ? NULL : mask, /* ignored, as documented */
        .o = ctx,
        .sinks = w->sinks};
    if ((status = clattn_enqueue_attention_ex(h, queue, &ad, &heads, 3, proj, &attended))) goto out;
    status = clattn__enqueue_linear(h, queue, rows, d_out, d_out, ctx, 0, d_out, w->wo, 0, d_out,
                                    w->bo, 0, out, 0, d_out, &out_dtypes, 1, &attended, done);
out:
    /* Temporaries are freed by OpenCL once the commands using them have finished. */
    for (int i = 0; i < 3; i++)
        if (proj[i]) clReleaseEvent(proj[i]);
    if (attended) clReleaseEvent(attended);
    if (qkv) clReleaseMemObject(qkv);
    if (ctx) clReleaseMemObject(ctx);
    if (!status) clattn__clear_error();
    return status;
}

/* ---- blocking form: upload, enqueue, one read back ------------------------------------- */

clattn_status clattn_mha_forward(clattn_handle *h, const clattn_mha_desc *desc,
                                 const clattn_mha_weights *weights, const float *x, float *out) {
    return clattn_mha_forward_masked(h, desc, weights, x, NULL, out);
}

clattn_status clattn_mha_forward_masked(clattn_handle *h, const clattn_mha_desc *desc,
                                        const clattn_mha_weights *weights, const float *x,
                                        const void *mask, float *out) {
    if (!h) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "handle is NULL");
    if (!h->queue)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "blocking calls need a handle with a queue");
    clattn_mha_shape p;
    clattn_status status = clattn__check_mha_call(desc, weights, x, mask, out, &p);
    if (status) return status;

    enum { X, WQ, WK, WV, WO, BQ, BK, BV, BO, SINKS, MASK, OUT, COUNT };
    const void *data[COUNT] = {x,
                               weights->wq,
                               weights->wk,
                               weights->wv,
                               weights->wo,
                               weights->bq,
                               weights->bk,
                               weights->bv,
                               weights->bo,
                               weights->sinks,
                               p.mask_count ? mask : NULL,
                               NULL};
    const size_t counts[COUNT] = {p.x_count,   p.w_count,   p.w_count,    p.w_count,
                                  p.wo_count,  desc->d_out, desc->d_out,  desc->d_out,
                                  desc->d_out, desc->heads, p.mask_count, p.out_count};
    cl_mem mem[COUNT] = {NULL};
    clattn_buffers bufs = {.count = 0};
    const size_t xe = clattn_dtype_size(desc->x_dtype), we = clattn_dtype_size(desc->weight_dtype);
    for (int i = 0; i < COUNT && !status; i++) {
        if (!data[i] && i != OUT) continue; /* an absent bias, sinks or mask */
        const size_t elem = i == MASK            ? p.mask_elem
                            : i == X || i == OUT ? xe
                            : i == SINKS         ? sizeof(float)
                                                 : we;
        status = clattn__upload(h, &bufs, data[i], counts[i], elem, i != OUT, &mem[i]);
    }
    cl_event done = NULL;
    const clattn_mha_buffers buffers = {mem[WQ], mem[WK], mem[WV], mem[WO],   mem[BQ],
                                        mem[BK], mem[BV], mem[BO], mem[SINKS]};
    if (!status)
        status = clattn_enqueue_mha_forward_masked(h, NULL, desc, &buffers, mem[X], mem[MASK],
                                                   mem[OUT], 0, NULL, &done);
    if (!status)
        status = clattn__cl(clEnqueueReadBuffer(h->queue, mem[OUT], CL_TRUE, 0, p.out_count * xe,
                                                out, 1, &done, NULL),
                            "clEnqueueReadBuffer");
    return clattn__end_blocking_call(h, status, &done, 1, &bufs);
}

/* The scratch the steps acquire one after another: the most any of them needs. */
clattn_status clattn__mha_scratch_bytes(clattn_handle *h, const clattn_mha_desc *desc,
                                        size_t *bytes) {
    clattn_mha_shape p;
    clattn_status status = clattn__check_mha_desc(desc, &p);
    if (status) return status;
    clattn_attention_desc ad;
    clattn__mha_attention_desc(desc, p.head_dim, false, &ad); /* sinks need no scratch */
    size_t need[3] = {0, 0, 0};
    if ((status = clattn__linear_scratch_bytes(h, p.rows, desc->d_out, desc->d_in, &need[0])) ||
        (status = clattn__attention_scratch_bytes(h, &ad, &need[1])) ||
        (status = clattn__linear_scratch_bytes(h, p.rows, desc->d_out, desc->d_out, &need[2])))
        return status;
    *bytes = 0;
    for (int i = 0; i < 3; i++)
        if (need[i] > *bytes) *bytes = need[i];
    return CLATTN_SUCCESS;
}
