/* clattn_enqueue_attention_weights and its blocking form: the materialised weights
 * W [B, Hq, M, N] = norm(scale * Q K^T + mask), for small problems and debugging.
 * Kernels in kernels/weights.cl: scores (tiled in local memory on the GPU shape, register
 * tiles on the CPU shape), then a work-group reduction per row. */
#include "status.h"
#include "size.h"
#include "attention_desc.h"
#include "handle.h"
#include "program.h"
#include "launch.h"
#include "upload.h"
#include "planned.h"
#include "planners.h"
#include "contract.h"
#include "ops.h"

static clattn_status launch_scores(const clattn_launch *launch, cl_kernel kernel,
                                   clattn_chain *chain, const clattn_attention_desc *desc, cl_mem q,
                                   cl_mem k, cl_mem mask, cl_mem w) {
    const cl_ulong m = desc->m, n = desc->n, d = desc->d, hq = desc->q_heads,
                   group = desc->q_heads / desc->kv_heads;
    const cl_int causal = desc->causal, mask_kind = desc->mask_kind;
    cl_ulong4 ql, kl, ml;
    const clattn_layout *layouts[3] = {&desc->q, &desc->k, &desc->mask};
    cl_ulong4 *packed[3] = {&ql, &kl, &ml};
    for (int t = 0; t < 3; t++) {
        packed[t]->s[LAYOUT_OFFSET] = layouts[t]->offset;
        packed[t]->s[LAYOUT_BATCH] = layouts[t]->stride[0];
        packed[t]->s[LAYOUT_HEAD] = layouts[t]->stride[1];
        packed[t]->s[LAYOUT_ROW] = layouts[t]->stride[2];
    }
    cl_mem mask_arg = desc->mask_kind == CLATTN_MASK_NONE ? NULL : mask;
    clattn_arg args[] = {
        [WEIGHTS_SCORES_ARG_M] = {sizeof m, &m},
        [WEIGHTS_SCORES_ARG_N] = {sizeof n, &n},
        [WEIGHTS_SCORES_ARG_D] = {sizeof d, &d},
        [WEIGHTS_SCORES_ARG_Q_HEADS] = {sizeof hq, &hq},
        [WEIGHTS_SCORES_ARG_GROUP] = {sizeof group, &group},
        [WEIGHTS_SCORES_ARG_SCALE] = {sizeof desc->scale, &desc->scale},
        [WEIGHTS_SCORES_ARG_CAUSAL] = {sizeof causal, &causal},
        [WEIGHTS_SCORES_ARG_MASK_KIND] = {sizeof mask_kind, &mask_kind},
        [WEIGHTS_SCORES_ARG_Q] = {sizeof q, &q},
        [WEIGHTS_SCORES_ARG_Q_LAYOUT] = {sizeof ql, &ql},
        [WEIGHTS_SCORES_ARG_K] = {sizeof k, &k},
        [WEIGHTS_SCORES_ARG_K_LAYOUT] = {sizeof kl, &kl},
        [WEIGHTS_SCORES_ARG_MASK] = {sizeof mask_arg, &mask_arg},
        [WEIGHTS_SCORES_ARG_MASK_LAYOUT] = {sizeof ml, &ml},
        [WEIGHTS_SCORES_ARG_W] = {sizeof w, &w},
    };
    CLATTN_ARGS_MATCH(args, WEIGHTS_SCORES_ARG_COUNT);
    clattn_status status = clattn__set_args(kernel, args, WEIGHTS_SCORES_ARG_COUNT);
    if (!status) status = clattn__launch_planned(chain, kernel, launch);
    return status;
}

static clattn_status launch_normalize(const clattn_launch *launch, cl_kernel kernel,
                                      clattn_chain *chain, const clattn_attention_desc *desc,
                                      cl_mem w) {
    const cl_int norm = desc->norm;
    const cl_ulong n = desc->n;
    clattn_arg args[] = {
        [WEIGHTS_NORMALIZE_ARG_NORM] = {sizeof norm, &norm},
        [WEIGHTS_NORMALIZE_ARG_N] = {sizeof n, &n},
        [WEIGHTS_NORMALIZE_ARG_W] = {sizeof w, &w},
        [WEIGHTS_NORMALIZE_ARG_SCRATCH] = {launch->local_bytes, NULL},
    };
    CLATTN_ARGS_MATCH(args, WEIGHTS_NORMALIZE_ARG_COUNT);
    clattn_status status = clattn__set_args(kernel, args, WEIGHTS_NORMALIZE_ARG_COUNT);
    if (!status) status = clattn__launch_planned(chain, kernel, launch);
    return status;
}

clattn_status clattn_enqueue_attention_weights(clattn_handle *h, cl_command_queue queue,
                                               const clattn_attention_desc *desc, cl_mem q,
                                               cl_mem k, cl_mem mask, cl_mem weights,
                                               cl_uint num_wait, const cl_event *wait,
                                               cl_event *done) {
    clattn_attention_extents e;
    clattn_status status;
    if ((status = clattn__enqueue_begin(h, &queue, num_wait, wait)) ||
        (status = clattn__attention_check(desc, CLATTN_DESC_WEIGHTS, &e)) ||
        (status = clattn__check_buffer(h, q, 0, e.q, "q")) ||
        (status = clattn__check_buffer(h, k, 0, e.k, "k")) ||
        (desc->mask_kind != CLATTN_MASK_NONE &&
         (status = clattn__check_elements(h, mask, 0, e.mask, clattn__mask_element_size(desc),
                                          "mask"))) ||
        (status = clattn__check_buffer(h, weights, 0, e.weights, "weights")))
        return status;

    clattn_weights_launch_plan launches;
    clattn_device_profile profile = h->profile;
    cl_kernel kernels[CLATTN_PLAN_MAX_LAUNCHES] = {NULL};
    for (bool replan = true; replan;) {
        if ((status = clattn__plan_weights(&profile, desc, &launches)) ||
            (status = clattn__plan_kernels(h, &launches.base, &profile, kernels, &replan)))
            return status;
    }
    clattn_chain chain;
    clattn__chain_begin(&chain, queue, num_wait, wait);
    status = launch_scores(&launches.base.launch[0], kernels[0], &chain, desc, q, k, mask, weights);
    if (!status && launches.base.count > 1)
        status = launch_normalize(&launches.base.launch[1], kernels[1], &chain, desc, weights);
    clattn__release_kernels(&launches.base, kernels);
    return clattn__chain_end(&chain, status, done);
}

/* ---- blocking form ---------------------------------------------------------------------- */

clattn_status clattn_attention_weights(clattn_handle *h, const clattn_attention_desc *desc,
                                       const float *q, const float *k, const void *mask,
                                       float *weights) {
    if (!h) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "handle is NULL");
    if (!h->queue)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "blocking calls need a handle with a queue");
    clattn_attention_extents e;
    clattn_status status = clattn__attention_check(desc, CLATTN_DESC_WEIGHTS, &e);
    if (status) return status;
    const bool has_mask = desc->mask_kind != CLATTN_MASK_NONE;
    if (!q || !k || !weights || (has_mask && !mask))
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "attention weights: NULL pointer");
    const size_t mask_elem = clattn__mask_element_size(desc);
    size_t qb, kb, mb = 0, wb;
    if (!clattn__mul_size(e.q, sizeof(float), &qb) || !clattn__mul_size(e.k, sizeof(float), &kb) ||
        !clattn__mul_size(e.mask, mask_elem, &mb) ||
        !clattn__mul_size(e.weights, sizeof(float), &wb))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "attention weights: bytes overflow");

    clattn_buffers bufs = {.count = 0};
    cl_mem qm = NULL, km = NULL, mm = NULL, wm = NULL;
    cl_event done = NULL;
    if (!(status = clattn__upload(h, &bufs, q, e.q, sizeof(float), true, &qm)) &&
        !(status = clattn__upload(h, &bufs, k, e.k, sizeof(float), true, &km)) &&
        !(has_mask && (status = clattn__upload(h, &bufs, mask, e.mask, mask_elem, true, &mm))) &&
        !(status = clattn__upload(h, &bufs, NULL, e.weights, sizeof(float), false, &wm)) &&
        !(status = clattn_enqueue_attention_weights(h, NULL, desc, qm, km, mm, wm, 0, NULL, &done)))
        status =
            clattn__cl(clEnqueueReadBuffer(h->queue, wm, CL_TRUE, 0, wb, weights, 1, &done, NULL),
                       "clEnqueueReadBuffer");
    return clattn__end_blocking_call(h, status, &done, 1, &bufs);
}

/* ---- for the registry of operations (registry.c) ---------------------------------------- */

/* Builds the scores program as launch_scores does (the row kernel shares it). */
/* Its programs do not depend on the shape: any size builds them. */
clattn_status clattn__attention_weights_prepare(clattn_handle *h) {
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, 1, 1, 1, 1, 1, 1, 1);
    clattn_weights_launch_plan plan;
    clattn_device_profile profile = h->profile;
    cl_kernel kernels[CLATTN_PLAN_MAX_LAUNCHES] = {NULL};
    clattn_status status = CLATTN_SUCCESS;
    for (bool replan = true; replan && !status;)
        if (!(status = clattn__plan_weights(&profile, &desc, &plan)))
            status = clattn__plan_kernels(h, &plan.base, &profile, kernels, &replan);
    if (!status) clattn__release_kernels(&plan.base, kernels);
    return status;
}
