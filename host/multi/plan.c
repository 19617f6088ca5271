/* Multi-device attention: the weights of the devices and the cut of the problem. */
#include "multi.h"
#include "status.h"
#include "handle.h"

#include <math.h>

clattn_status clattn__multi_weights(clattn_handle *const *handles, size_t count,
                                    const float *shares, const clattn_attention_desc *desc,
                                    clattn_split_axis axis, double *weights) {
    double total = 0;
    for (size_t d = 0; d < count; d++) {
        if (shares) {
            if (!isfinite(shares[d]) || shares[d] < 0)
                return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                                    "attention_multi: share %zu is %g; shares must be finite and "
                                    ">= 0",
                                    d, (double)shares[d]);
            weights[d] = shares[d];
        } else {
            clattn_status status =
                clattn__multi_throughput(handles[d], axis, desc->d, desc->dv, &weights[d]);
            if (status) return status;
        }
        total += weights[d];
    }
    if (!(total > 0))
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "attention_multi: every share is 0 (at least one device must work)");
    return CLATTN_SUCCESS;
}

clattn_status clattn__multi_plan(clattn_handle *const *handles, size_t count, const float *shares,
                                 const clattn_attention_desc *desc, clattn_split_axis *axis,
                                 double *weights, size_t *bounds) {
    if (!handles)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "attention_multi: handles is NULL");
    if (!count) return clattn__fail(CLATTN_ERROR_INVALID_SIZE, "attention_multi: no handles");
    for (size_t d = 0; d < count; d++) {
        if (!handles[d])
            return clattn__fail(CLATTN_ERROR_NULL_POINTER, "attention_multi: handle %zu is NULL",
                                d);
        if (!handles[d]->queue)
            return clattn__fail(CLATTN_ERROR_NULL_POINTER,
                                "attention_multi: handle %zu has no queue (blocking calls need "
                                "one)",
                                d);
    }
    *axis = clattn__split_axis(desc);
    clattn_status status = clattn__multi_weights(handles, count, shares, desc, *axis, weights);
    if (status) return status;
    clattn__split_bounds(desc, *axis, count, weights, bounds);
    return CLATTN_SUCCESS;
}
