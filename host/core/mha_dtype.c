/* float16 / bfloat16 host arrays of multi-head attention as float32 copies (see the header). */
#include "mha_dtype.h"
#include "linear_dtype.h"
#include "dtype.h"
#include "status.h"

#include <stdlib.h>
#include <string.h>

bool clattn__mha_all_f32(const clattn_mha_desc *desc) {
    return desc->x_dtype == CLATTN_F32 && desc->weight_dtype == CLATTN_F32;
}

clattn_status clattn__mha_widen(const clattn_mha_desc *desc, const clattn_mha_shape *p,
                                const clattn_mha_weights *weights, const float *x, float *out,
                                clattn_mha_widened *w) {
    memset(w, 0, sizeof *w);
    w->desc = *desc;
    w->desc.x_dtype = w->desc.weight_dtype = CLATTN_F32;
    w->weights = *weights;
    w->x = x;
    w->out = out;
    w->out_caller = out;
    w->out_count = p->out_count;
    w->out_dtype = desc->x_dtype;
    const clattn_dtype xd = desc->x_dtype, wd = desc->weight_dtype;
    const float **views[10] = {
        &w->x,          &w->weights.wq, &w->weights.wk, &w->weights.wv, &w->weights.wo,
        &w->weights.bq, &w->weights.bk, &w->weights.bv, &w->weights.bo, NULL};
    const clattn_dtype dtypes[10] = {xd, wd, wd, wd, wd, wd, wd, wd, wd, xd};
    const size_t d_out = desc->d_out;
    const size_t counts[10] = {p->x_count, p->w_count, p->w_count, p->w_count, p->wo_count,
                               d_out,      d_out,      d_out,      d_out,      p->out_count};
    clattn_status status = CLATTN_SUCCESS;
    for (int i = 0; i < 9 && !status; i++) {
        if (dtypes[i] == CLATTN_F32 || !*views[i]) continue; /* float32, or an absent bias */
        if (!(status = clattn__widen_copy(dtypes[i], *views[i], counts[i], &w->copies[i])))
            *views[i] = w->copies[i];
    }
    /* out is only written: a temporary. */
    if (!status && xd != CLATTN_F32 &&
        !(status = clattn__widen_copy(xd, NULL, counts[9], &w->copies[9])))
        w->out = w->copies[9];
    if (status) clattn__mha_narrow(w, false);
    return status;
}

void clattn__mha_narrow(clattn_mha_widened *w, bool store) {
    if (store && w->copies[9])
        clattn__dtype_narrow(w->out_dtype, w->copies[9], w->out_caller, w->out_count);
    for (int i = 0; i < 10; i++) {
        free(w->copies[i]);
        w->copies[i] = NULL;
    }
}
