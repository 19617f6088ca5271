/* The linear layer's storage types (see the header). */
#include "linear_dtype.h"
#include "dtype.h"
#include "size.h"
#include "status.h"

#include <stdlib.h>
#include <string.h>

clattn_status clattn__linear_dtypes_check(const clattn_linear_dtypes *dtypes,
                                          clattn_linear_dtypes *out) {
    memset(out, 0, sizeof *out);
    if (!dtypes) return CLATTN_SUCCESS;
    const struct {
        const char *name;
        clattn_dtype dtype;
    } tensors[] = {{"x", dtypes->x}, {"w", dtypes->w}, {"bias", dtypes->bias}, {"y", dtypes->y}};
    for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++)
        if (!clattn__dtype_valid(tensors[i].dtype))
            return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "linear: unknown dtype %d for %s",
                                (int)tensors[i].dtype, tensors[i].name);
    *out = *dtypes;
    return CLATTN_SUCCESS;
}

bool clattn__linear_dtypes_all_f32(const clattn_linear_dtypes *d) {
    return d->x == CLATTN_F32 && d->w == CLATTN_F32 && d->bias == CLATTN_F32 && d->y == CLATTN_F32;
}

clattn_status clattn__widen_copy(clattn_dtype dtype, const void *src, size_t count, float **out) {
    size_t bytes;
    if (!clattn__mul_size(count, sizeof(float), &bytes))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "float32 copy too large");
    *out = malloc(bytes ? bytes : 1);
    if (!*out) return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    if (src) clattn__dtype_widen(dtype, src, *out, count);
    return CLATTN_SUCCESS;
}

clattn_status clattn__linear_widen(size_t rows, size_t cols, size_t k, const float *x,
                                   const float *w, const float *bias, float *y,
                                   const clattn_linear_dtypes *d, clattn_linear_widened *out) {
    memset(out, 0, sizeof *out);
    out->x = x, out->w = w, out->bias = bias, out->y = y;
    out->y_out = y, out->y_count = rows * cols, out->y_dtype = d->y; /* sizes validated */
    clattn_status status = CLATTN_SUCCESS;
    if (d->x != CLATTN_F32 && !(status = clattn__widen_copy(d->x, x, rows * k, &out->copies[0])))
        out->x = out->copies[0];
    if (!status && d->w != CLATTN_F32 &&
        !(status = clattn__widen_copy(d->w, w, cols * k, &out->copies[1])))
        out->w = out->copies[1];
    if (!status && bias && d->bias != CLATTN_F32 &&
        !(status = clattn__widen_copy(d->bias, bias, cols, &out->copies[2])))
        out->bias = out->copies[2];
    /* y is only written: a temporary, not a copy of its old contents. */
    if (!status && d->y != CLATTN_F32 &&
        !(status = clattn__widen_copy(d->y, NULL, rows * cols, &out->copies[3])))
        out->y = out->copies[3];
    if (status) clattn__linear_narrow(out, false);
    return status;
}

void clattn__linear_narrow(clattn_linear_widened *w, bool store) {
    if (store && w->copies[3]) clattn__dtype_narrow(w->y_dtype, w->copies[3], w->y_out, w->y_count);
    for (int i = 0; i < 4; i++) {
        free(w->copies[i]);
        w->copies[i] = NULL;
    }
}
