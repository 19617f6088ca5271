/* clattn_handle_prepare: builds every program now instead of at first use. */
#include "status.h"
#include "program.h"
#include "handle.h"
#include "planners.h"

/* Builds the kernels of a plan (the same programs, options included, as the operation). */
static clattn_status build_plan(clattn_handle *h, const clattn_plan *plan) {
    for (size_t i = 0; i < plan->count; i++) {
        cl_kernel kernel = NULL;
        const clattn_launch *l = &plan->launch[i];
        clattn_status status = clattn__get_kernel(h, l->source, l->options, l->kernel, &kernel);
        if (status) return status;
        clReleaseKernel(kernel);
    }
    return CLATTN_SUCCESS;
}

/* The query operations and the linear layer for a representative size: their programs do
 * not depend on the size (attention's depend on the head dims and are built at first use). */
clattn_status clattn_handle_prepare(clattn_handle *h) {
    if (!h) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "handle is NULL");
    const clattn_device_profile *p = &h->profile;
    clattn_scores_plan scores;
    clattn_normalize_plan normalize;
    clattn_context_plan context;
    clattn_linear_plan linear;
    clattn_weights_launch_plan weights;
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, 1, 1, 1, 1, 1, 1, 1);
    clattn_status status;
    if ((status = clattn__plan_scores(p, 1, 1, &scores)) ||
        (status = build_plan(h, &scores.base)) ||
        (status = clattn__plan_normalize(p, CLATTN_NORM_SOFTMAX, 1, &normalize)) ||
        (status = build_plan(h, &normalize.base)) ||
        (status = clattn__plan_context(p, 1, 1, &context)) ||
        (status = build_plan(h, &context.base)) ||
        (status = clattn__plan_weights(p, &desc, &weights)) ||
        (status = build_plan(h, &weights.base)) ||
        (status = clattn__plan_linear(p, 1, 1, 1, &linear)) ||
        (status = build_plan(h, &linear.base)))
        return status;
    clattn__clear_error();
    return CLATTN_SUCCESS;
}
