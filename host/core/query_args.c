/* The arguments of the query attention pipeline, shared by the device, CPU and reference forms. */
#include "query_args.h"
#include "status.h"
#include "size.h"
#include "dtype.h"

clattn_status clattn__check_query_args(size_t n, size_t d, const float *x, const float *q,
                                       clattn_norm norm, bool any_output, size_t *nd) {
    if (!x || !q) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "x and q must not be NULL");
    if (!any_output) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "no output requested");
    if (norm != CLATTN_NORM_NONE && norm != CLATTN_NORM_SUM && norm != CLATTN_NORM_SOFTMAX)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "unknown normalisation %d", (int)norm);
    if (n == 0 || d == 0)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE, "n (%zu) and d (%zu) must be > 0", n, d);
    if (!clattn__mul_size(n, d, nd))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "n * d overflows size_t");
    return CLATTN_SUCCESS;
}

clattn_status clattn__seed_dtypes_resolve(const clattn_seed_dtypes *dtypes,
                                          clattn_seed_dtypes *out) {
    *out = dtypes ? *dtypes : (clattn_seed_dtypes){CLATTN_F32, CLATTN_F32, CLATTN_F32};
    const clattn_dtype all[] = {out->x, out->q, out->v};
    const char *names[] = {"x", "q", "v"};
    for (int i = 0; i < 3; i++)
        if (!clattn__dtype_valid(all[i]))
            return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "unknown dtype %d for %s", (int)all[i],
                                names[i]);
    return CLATTN_SUCCESS;
}
