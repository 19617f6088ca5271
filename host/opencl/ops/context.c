/* clattn_enqueue_context: context[c] = sum_j weights[j] * v[j][c], reduced over row blocks. */
#include "status.h"
#include "size.h"
#include "query_args.h"
#include "handle.h"
#include "program.h"
#include "launch.h"
#include "scratch.h"
#include "ops.h"
#include "planned.h"
#include "planners.h"
#include "contract.h"

/* One partial context vector of d floats per row block. */
clattn_status clattn__context_scratch_bytes(const clattn_handle *h, size_t n, size_t d,
                                            size_t *bytes) {
    clattn_context_plan plan;
    clattn_status status = clattn__plan_context(&h->profile, n, d, NULL, &plan);
    if (!status) *bytes = plan.base.scratch_bytes;
    return status;
}

clattn_status clattn_enqueue_context(clattn_handle *h, cl_command_queue queue, size_t n, size_t d,
                                     cl_mem weights, size_t weights_offset, cl_mem v,
                                     size_t v_offset, cl_mem context, size_t context_offset,
                                     cl_uint num_wait, const cl_event *wait, cl_event *done) {
    return clattn_enqueue_context_ex(h, queue, n, d, weights, weights_offset, v, v_offset, context,
                                     context_offset, NULL, num_wait, wait, done);
}

clattn_status clattn_enqueue_context_ex(clattn_handle *h, cl_command_queue queue, size_t n,
                                        size_t d, cl_mem weights, size_t weights_offset, cl_mem v,
                                        size_t v_offset, cl_mem context, size_t context_offset,
                                        const clattn_seed_dtypes *dtypes, cl_uint num_wait,
                                        const cl_event *wait, cl_event *done) {
    clattn_status status = clattn__enqueue_begin(h, &queue, num_wait, wait);
    if (status) return status;
    clattn_seed_dtypes dt;
    if ((status = clattn__seed_dtypes_resolve(dtypes, &dt))) return status;
    if (n == 0 || d == 0)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE, "context: n (%zu) and d (%zu) must be > 0",
                            n, d);
    size_t nd;
    if (!clattn__mul_size(n, d, &nd))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "context: n * d overflows size_t");
    if ((status = clattn__check_buffer(h, weights, weights_offset, n, "weights")) ||
        (status = clattn__check_elements(h, v, v_offset, nd, clattn_dtype_size(dt.v), "v")) ||
        (status = clattn__check_buffer(h, context, context_offset, d, "context")))
        return status;

    clattn_context_plan plan;
    clattn_device_profile profile = h->profile;
    cl_kernel kernels[CLATTN_PLAN_MAX_LAUNCHES] = {NULL};
    for (bool replan = true; replan;) {
        if ((status = clattn__plan_context(&profile, n, d, &dt, &plan)) ||
            (status = clattn__plan_kernels(h, &plan.base, &profile, kernels, &replan)))
            return status;
    }
    const clattn_launch *partials_l = &plan.base.launch[0], *finish_l = &plan.base.launch[1];
    const bool cpu = profile.variant == CLATTN_VARIANT_CPU;

    cl_mem partials = NULL;
    cl_event scratch_wait = NULL;
    if ((status = clattn__scratch_acquire(h, plan.base.scratch_bytes, &partials, &scratch_wait))) {
        clattn__release_kernels(&plan.base, kernels);
        return status;
    }

    cl_ulong un = n, ud = d, wo = weights_offset, vo = v_offset, co = context_offset;
    cl_ulong rows = plan.rows_per_block;
    cl_uint ublocks = (cl_uint)plan.blocks;
    clattn_arg p_args[] = {
        [CONTEXT_PARTIALS_ARG_N] = {sizeof un, &un},
        [CONTEXT_PARTIALS_ARG_D] = {sizeof ud, &ud},
        [CONTEXT_PARTIALS_ARG_W] = {sizeof weights, &weights},
        [CONTEXT_PARTIALS_ARG_W_OFF] = {sizeof wo, &wo},
        [CONTEXT_PARTIALS_ARG_V] = {sizeof v, &v},
        [CONTEXT_PARTIALS_ARG_V_OFF] = {sizeof vo, &vo},
        [CONTEXT_PARTIALS_ARG_ROWS_PER_GROUP] = {sizeof rows, &rows},
        [CONTEXT_PARTIALS_ARG_PARTIALS] = {sizeof partials, &partials},
        [CONTEXT_PARTIALS_ARG_SCRATCH] = {partials_l->local_bytes, NULL},
    };
    clattn_arg f_args[] = {
        [CONTEXT_FINISH_ARG_D] = {sizeof ud, &ud},
        [CONTEXT_FINISH_ARG_GROUPS] = {sizeof ublocks, &ublocks},
        [CONTEXT_FINISH_ARG_PARTIALS] = {sizeof partials, &partials},
        [CONTEXT_FINISH_ARG_CONTEXT] = {sizeof context, &context},
        [CONTEXT_FINISH_ARG_C_OFF] = {sizeof co, &co},
    };
    CLATTN_ARGS_MATCH(p_args, CONTEXT_PARTIALS_ARG_COUNT);
    CLATTN_ARGS_MATCH(f_args, CONTEXT_FINISH_ARG_COUNT);

    clattn_chain chain;
    clattn__chain_begin(&chain, queue, num_wait, wait);
    chain.extra_wait = scratch_wait;
    /* context_partials_vec (CPU) takes the same arguments but no local scratch. */
    const cl_uint p_count = cpu ? CONTEXT_PARTIALS_VEC_ARG_COUNT : CONTEXT_PARTIALS_ARG_COUNT;
    if (!(status = clattn__set_args(kernels[0], p_args, p_count)) &&
        !(status = clattn__set_args(kernels[1], f_args, CONTEXT_FINISH_ARG_COUNT)) &&
        !(status = clattn__launch_planned(&chain, kernels[0], partials_l)))
        status = clattn__launch_planned(&chain, kernels[1], finish_l);
    clattn__scratch_release(h, chain.last);
    if (scratch_wait) clReleaseEvent(scratch_wait);
    clattn__release_kernels(&plan.base, kernels);
    return clattn__chain_end(&chain, status, done);
}
