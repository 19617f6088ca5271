/* clattn_enqueue_normalize: weights = norm(scores), a two-level parallel reduction. */
#include "status.h"
#include "handle.h"
#include "program.h"
#include "launch.h"
#include "scratch.h"
#include "ops.h"
#include "planned.h"
#include "planners.h"
#include "contract.h"

size_t clattn__normalize_scratch_bytes(const clattn_handle *h, clattn_norm norm, size_t n) {
    clattn_normalize_plan plan;
    clattn__plan_normalize(&h->profile, norm, n, &plan);
    return plan.base.scratch_bytes;
}

static bool ranges_overlap(cl_mem a, size_t a_off, cl_mem b, size_t b_off, size_t n) {
    if (a != b) return false;
    return a_off < b_off + n && b_off < a_off + n;
}

static clattn_status enqueue_marker(clattn_chain *chain) {
    cl_event event = NULL;
    cl_int err = clEnqueueMarkerWithWaitList(chain->queue, chain->num_wait,
                                             chain->num_wait ? chain->wait : NULL, &event);
    if (err) return clattn__cl(err, "clEnqueueMarkerWithWaitList");
    chain->last = event;
    return CLATTN_SUCCESS;
}

/* One work-group reduces and applies. */
static clattn_status launch_small(const clattn_normalize_plan *plan, cl_kernel kernel,
                                  clattn_chain *chain, cl_int norm, cl_ulong n, cl_mem s,
                                  cl_ulong so, cl_mem w, cl_ulong wo) {
    const clattn_launch *launch = &plan->base.launch[0];
    clattn_arg args[] = {
        [NORM_SMALL_ARG_NORM] = {sizeof norm, &norm},
        [NORM_SMALL_ARG_N] = {sizeof n, &n},
        [NORM_SMALL_ARG_SCORES] = {sizeof s, &s},
        [NORM_SMALL_ARG_S_OFF] = {sizeof so, &so},
        [NORM_SMALL_ARG_WEIGHTS] = {sizeof w, &w},
        [NORM_SMALL_ARG_W_OFF] = {sizeof wo, &wo},
        [NORM_SMALL_ARG_SCRATCH] = {launch->local_bytes, NULL},
    };
    CLATTN_ARGS_MATCH(args, NORM_SMALL_ARG_COUNT);
    clattn_status status = clattn__set_args(kernel, args, NORM_SMALL_ARG_COUNT);
    if (!status) status = clattn__launch_planned(chain, kernel, launch);
    return status;
}

/* Partials per work-group, one finishing work-group, then the apply pass. */
static clattn_status launch_large(clattn_handle *h, const clattn_normalize_plan *plan,
                                  const cl_kernel *kernels, clattn_chain *chain, cl_int norm,
                                  cl_ulong n, cl_mem s, cl_ulong so, cl_mem w, cl_ulong wo) {
    const clattn_launch *partials_l = &plan->base.launch[0], *finish_l = &plan->base.launch[1],
                        *apply_l = &plan->base.launch[2];
    cl_uint ugroups = plan->groups;
    cl_mem partials = NULL;
    cl_event scratch_wait = NULL;
    clattn_status status =
        clattn__scratch_acquire(h, plan->base.scratch_bytes, &partials, &scratch_wait);
    if (status) return status;
    chain->extra_wait = scratch_wait;

    clattn_arg p_args[] = {
        [NORM_PARTIALS_ARG_NORM] = {sizeof norm, &norm},
        [NORM_PARTIALS_ARG_N] = {sizeof n, &n},
        [NORM_PARTIALS_ARG_SCORES] = {sizeof s, &s},
        [NORM_PARTIALS_ARG_S_OFF] = {sizeof so, &so},
        [NORM_PARTIALS_ARG_PARTIALS] = {sizeof partials, &partials},
        [NORM_PARTIALS_ARG_SCRATCH] = {partials_l->local_bytes, NULL},
    };
    clattn_arg f_args[] = {
        [NORM_FINISH_ARG_NORM] = {sizeof norm, &norm},
        [NORM_FINISH_ARG_GROUPS] = {sizeof ugroups, &ugroups},
        [NORM_FINISH_ARG_PARTIALS] = {sizeof partials, &partials},
        [NORM_FINISH_ARG_SCRATCH] = {finish_l->local_bytes, NULL},
    };
    clattn_arg a_args[] = {
        [NORM_APPLY_ARG_NORM] = {sizeof norm, &norm},
        [NORM_APPLY_ARG_N] = {sizeof n, &n},
        [NORM_APPLY_ARG_SCORES] = {sizeof s, &s},
        [NORM_APPLY_ARG_S_OFF] = {sizeof so, &so},
        [NORM_APPLY_ARG_WEIGHTS] = {sizeof w, &w},
        [NORM_APPLY_ARG_W_OFF] = {sizeof wo, &wo},
        [NORM_APPLY_ARG_PARTIALS] = {sizeof partials, &partials},
        [NORM_APPLY_ARG_GROUPS] = {sizeof ugroups, &ugroups},
    };
    CLATTN_ARGS_MATCH(p_args, NORM_PARTIALS_ARG_COUNT);
    CLATTN_ARGS_MATCH(f_args, NORM_FINISH_ARG_COUNT);
    CLATTN_ARGS_MATCH(a_args, NORM_APPLY_ARG_COUNT);
    if (!(status = clattn__set_args(kernels[0], p_args, NORM_PARTIALS_ARG_COUNT)) &&
        !(status = clattn__set_args(kernels[1], f_args, NORM_FINISH_ARG_COUNT)) &&
        !(status = clattn__set_args(kernels[2], a_args, NORM_APPLY_ARG_COUNT)) &&
        !(status = clattn__launch_planned(chain, kernels[0], partials_l)) &&
        !(status = clattn__launch_planned(chain, kernels[1], finish_l)))
        status = clattn__launch_planned(chain, kernels[2], apply_l);
    clattn__scratch_release(h, chain->last);
    if (scratch_wait) clReleaseEvent(scratch_wait);
    chain->extra_wait = NULL;
    return status;
}

clattn_status clattn_enqueue_normalize(clattn_handle *h, cl_command_queue queue, clattn_norm norm,
                                       size_t n, cl_mem scores, size_t scores_offset,
                                       cl_mem weights, size_t weights_offset, cl_uint num_wait,
                                       const cl_event *wait, cl_event *done) {
    clattn_status status = clattn__enqueue_begin(h, &queue, num_wait, wait);
    if (status) return status;
    if (norm != CLATTN_NORM_NONE && norm != CLATTN_NORM_SUM && norm != CLATTN_NORM_SOFTMAX)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "unknown normalisation %d", (int)norm);
    if (n == 0) return clattn__fail(CLATTN_ERROR_INVALID_SIZE, "normalize: n must be > 0");
    if ((status = clattn__check_buffer(h, scores, scores_offset, n, "scores")) ||
        (status = clattn__check_buffer(h, weights, weights_offset, n, "weights")))
        return status;
    const bool in_place = scores == weights && scores_offset == weights_offset;
    if (!in_place && ranges_overlap(scores, scores_offset, weights, weights_offset, n))
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "normalize: weights partly overlap scores (same range or disjoint)");

    clattn_chain chain;
    clattn__chain_begin(&chain, queue, num_wait, wait);
    cl_int inorm = (cl_int)norm;
    cl_ulong un = n, so = scores_offset, wo = weights_offset;
    if (norm == CLATTN_NORM_NONE && in_place) {
        status = enqueue_marker(&chain);
    } else if (norm == CLATTN_NORM_NONE) {
        cl_event event = NULL;
        cl_int err = clEnqueueCopyBuffer(queue, scores, weights, scores_offset * sizeof(float),
                                         weights_offset * sizeof(float), n * sizeof(float),
                                         num_wait, num_wait ? wait : NULL, &event);
        status = clattn__cl(err, "clEnqueueCopyBuffer");
        chain.last = event;
    } else {
        clattn_normalize_plan plan;
        clattn_device_profile profile = h->profile;
        cl_kernel kernels[CLATTN_PLAN_MAX_LAUNCHES] = {NULL};
        for (bool replan = true; replan && !status;)
            if (!(status = clattn__plan_normalize(&profile, norm, n, &plan)))
                status = clattn__plan_kernels(h, &plan.base, &profile, kernels, &replan);
        if (!status)
            status =
                plan.small
                    ? launch_small(&plan, kernels[0], &chain, inorm, un, scores, so, weights, wo)
                    : launch_large(h, &plan, kernels, &chain, inorm, un, scores, so, weights, wo);
        clattn__release_kernels(&plan.base, kernels);
    }
    return clattn__chain_end(&chain, status, done);
}
