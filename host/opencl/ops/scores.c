/* clattn_enqueue_scores: scores[j] = scale * dot(x_j, q): validate -> plan -> enqueue. */
#include "status.h"
#include "size.h"
#include "query_args.h"
#include "handle.h"
#include "program.h"
#include "launch.h"
#include "planned.h"
#include "planners.h"
#include "contract.h"
#include "ops.h"

clattn_status clattn_enqueue_scores(clattn_handle *h, cl_command_queue queue, size_t n, size_t d,
                                    float scale, cl_mem x, size_t x_offset, cl_mem q,
                                    size_t q_offset, cl_mem scores, size_t scores_offset,
                                    cl_uint num_wait, const cl_event *wait, cl_event *done) {
    return clattn_enqueue_scores_ex(h, queue, n, d, scale, x, x_offset, q, q_offset, scores,
                                    scores_offset, NULL, num_wait, wait, done);
}

clattn_status clattn_enqueue_scores_ex(clattn_handle *h, cl_command_queue queue, size_t n, size_t d,
                                       float scale, cl_mem x, size_t x_offset, cl_mem q,
                                       size_t q_offset, cl_mem scores, size_t scores_offset,
                                       const clattn_seed_dtypes *dtypes, cl_uint num_wait,
                                       const cl_event *wait, cl_event *done) {
    clattn_status status = clattn__enqueue_begin(h, &queue, num_wait, wait);
    if (status) return status;
    clattn_seed_dtypes dt;
    if ((status = clattn__seed_dtypes_resolve(dtypes, &dt))) return status;
    if (n == 0 || d == 0)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE, "scores: n (%zu) and d (%zu) must be > 0", n,
                            d);
    size_t nd;
    if (!clattn__mul_size(n, d, &nd))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "scores: n * d overflows size_t");
    if ((status = clattn__check_elements(h, x, x_offset, nd, clattn_dtype_size(dt.x), "x")) ||
        (status = clattn__check_elements(h, q, q_offset, d, clattn_dtype_size(dt.q), "q")) ||
        (status = clattn__check_buffer(h, scores, scores_offset, n, "scores")))
        return status;

    clattn_scores_plan plan;
    clattn_device_profile profile = h->profile;
    cl_kernel kernel = NULL;
    for (bool replan = true; replan;) {
        if ((status = clattn__plan_scores(&profile, n, d, &dt, &plan)) ||
            (status = clattn__plan_kernels(h, &plan.base, &profile, &kernel, &replan)))
            return status;
    }
    const clattn_launch *launch = &plan.base.launch[0];

    cl_ulong un = n, ud = d, xo = x_offset, qo = q_offset, so = scores_offset;
    cl_uint lanes = plan.lanes;
    if (plan.cpu) {
        clattn_arg args[] = {
            [SCORES_ROWS_ARG_N] = {sizeof un, &un},
            [SCORES_ROWS_ARG_D] = {sizeof ud, &ud},
            [SCORES_ROWS_ARG_SCALE] = {sizeof scale, &scale},
            [SCORES_ROWS_ARG_X] = {sizeof x, &x},
            [SCORES_ROWS_ARG_X_OFF] = {sizeof xo, &xo},
            [SCORES_ROWS_ARG_Q] = {sizeof q, &q},
            [SCORES_ROWS_ARG_Q_OFF] = {sizeof qo, &qo},
            [SCORES_ROWS_ARG_OUT] = {sizeof scores, &scores},
            [SCORES_ROWS_ARG_OUT_OFF] = {sizeof so, &so},
        };
        CLATTN_ARGS_MATCH(args, SCORES_ROWS_ARG_COUNT);
        status = clattn__set_args(kernel, args, SCORES_ROWS_ARG_COUNT);
    } else {
        clattn_arg args[] = {
            [SCORES_LANES_ARG_N] = {sizeof un, &un},
            [SCORES_LANES_ARG_D] = {sizeof ud, &ud},
            [SCORES_LANES_ARG_SCALE] = {sizeof scale, &scale},
            [SCORES_LANES_ARG_X] = {sizeof x, &x},
            [SCORES_LANES_ARG_X_OFF] = {sizeof xo, &xo},
            [SCORES_LANES_ARG_Q] = {sizeof q, &q},
            [SCORES_LANES_ARG_Q_OFF] = {sizeof qo, &qo},
            [SCORES_LANES_ARG_OUT] = {sizeof scores, &scores},
            [SCORES_LANES_ARG_OUT_OFF] = {sizeof so, &so},
            [SCORES_LANES_ARG_LANES] = {sizeof lanes, &lanes},
            [SCORES_LANES_ARG_PARTIAL] = {launch->local_bytes, NULL},
        };
        CLATTN_ARGS_MATCH(args, SCORES_LANES_ARG_COUNT);
        status = clattn__set_args(kernel, args, SCORES_LANES_ARG_COUNT);
    }

    clattn_chain chain;
    clattn__chain_begin(&chain, queue, num_wait, wait);
    if (!status) status = clattn__launch_planned(&chain, kernel, launch);
    clReleaseKernel(kernel);
    return clattn__chain_end(&chain, status, done);
}

/* Its program does not depend on the shape (-DSCORES_ROWS is the tuning table's): any size
 * builds it as the operation does. */
clattn_status clattn__scores_prepare(clattn_handle *h) {
    clattn_scores_plan plan;
    clattn_device_profile profile = h->profile;
    cl_kernel kernel = NULL;
    clattn_status status = CLATTN_SUCCESS;
    for (bool replan = true; replan && !status;)
        if (!(status = clattn__plan_scores(&profile, 1, 1, NULL, &plan)))
            status = clattn__plan_kernels(h, &plan.base, &profile, &kernel, &replan);
    if (!status) clReleaseKernel(kernel);
    return status;
}
