/* Fast CPU multi-head attention (clattn_cpu_mha_forward): the same steps as the device path
 * (host/mha.c) on host arrays: three projections by clattn_cpu_linear's GEMM into one
 * interleaved QKV buffer [B*T, 3*d_out], clattn_cpu_attention over the heads through
 * strided layouts (no transposes; the mask's shape as strides) into the context [B*T, d_out],
 * the output projection. */
#include "status.h"
#include "mha_desc.h"
#include "mha_dtype.h"
#include "cpu.h"

#include <stdlib.h>

clattn_status clattn_cpu_mha_forward(const clattn_mha_desc *desc, const clattn_mha_weights *weights,
                                     const float *x, float *out) {
    return clattn_cpu_mha_forward_masked(desc, weights, x, NULL, out);
}

clattn_status clattn_cpu_mha_forward_masked(const clattn_mha_desc *desc,
                                            const clattn_mha_weights *weights, const float *x,
                                            const void *mask, float *out) {
    clattn_mha_shape p;
    clattn_status status = clattn__check_mha_call(desc, weights, x, mask, out, &p);
    if (status) return status;
    if (!clattn__mha_all_f32(desc)) { /* 2-byte tensors: as float32 copies */
        clattn_mha_widened w;
        if ((status = clattn__mha_widen(desc, &p, weights, x, out, &w))) return status;
        status = clattn_cpu_mha_forward_masked(&w.desc, &w.weights, w.x, mask, w.out);
        clattn__mha_narrow(&w, !status);
        return status;
    }
    const size_t rows = p.rows, d_in = desc->d_in, d_out = desc->d_out, ld = 3 * d_out;
    /* The desc check proved 3 * out_count * sizeof(float) fits in size_t. */
    float *qkv = malloc(3 * p.out_count * sizeof *qkv), *ctx = malloc(p.out_count * sizeof *ctx);
    if (!qkv || !ctx) {
        status = clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
        goto out;
    }
    const float *ws[3] = {weights->wq, weights->wk, weights->wv};
    const float *bs[3] = {weights->bq, weights->bk, weights->bv};
    for (int i = 0; i < 3 && !status; i++)
        status = clattn__cpu_linear_strided(rows, d_out, d_in, x, d_in, ws[i], d_in, bs[i],
                                            qkv + (size_t)i * d_out, ld);
    if (status) goto out;
    clattn_attention_desc ad;
    clattn__mha_attention_desc(desc, p.head_dim, weights->sinks != NULL, &ad);
    const clattn_attention_arrays heads = {.q = qkv,
                                           .k = qkv,
                                           .v = qkv,
                                           .mask = p.mask_count ? mask : NULL, /* else ignored */
                                           .o = ctx,
                                           .sinks = weights->sinks};
    if ((status = clattn_cpu_attention_ex(&ad, &heads))) goto out;
    status = clattn__cpu_linear_strided(rows, d_out, d_out, ctx, d_out, weights->wo, d_out,
                                        weights->bo, out, d_out);
    if (!status) clattn__clear_error();
out:
    free(qkv), free(ctx);
    return status;
}
