/* clattn_enqueue_normalize: weights = norm(scores), a two-level parallel reduction. */
#include "status.h"
#include "handle.h"
#include "program.h"
#include "launch.h"
#include "scratch.h"
#include "ops.h"

/* Up to this many elements per work-item, one work-group does everything in one launch. */
#define SMALL_ELEMENTS_PER_ITEM 16
/* Level-1 work-groups; the finishing work-group combines this many partials. */
#define MAX_GROUPS 1024

/* Whether one work-group does it all (no scratch). */
static bool is_small(const clattn_handle *h, size_t n) {
    return n <= h->max_work_group_size * SMALL_ELEMENTS_PER_ITEM &&
           n <= 256 * SMALL_ELEMENTS_PER_ITEM;
}

size_t clattn__normalize_scratch_bytes(const clattn_handle *h, clattn_norm norm, size_t n) {
    if (norm == CLATTN_NORM_NONE || n == 0 || is_small(h, n)) return 0;
    /* A (max, sum) pair per level-1 work-group (at most one per element, at most MAX_GROUPS)
     * and one for the total. */
    size_t groups = n < MAX_GROUPS ? n : MAX_GROUPS;
    return (groups + 1) * sizeof(cl_float2);
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
static clattn_status launch_small(clattn_handle *h, clattn_chain *chain, cl_int norm, cl_ulong n,
                                  cl_mem s, cl_ulong so, cl_mem w, cl_ulong wo) {
    cl_kernel kernel = NULL;
    size_t local = 0;
    clattn_status status = clattn__get_kernel(h, "normalize.cl", NULL, "norm_small", &kernel);
    if (status) return status;
    status = clattn__work_group_size(h, kernel, 256, &local);
    clattn_arg args[] = {{sizeof norm, &norm},
                         {sizeof n, &n},
                         {sizeof s, &s},
                         {sizeof so, &so},
                         {sizeof w, &w},
                         {sizeof wo, &wo},
                         {local * sizeof(cl_float2), NULL}};
    if (!status) status = clattn__set_args(kernel, args, 7);
    if (!status) status = clattn__chain_launch(chain, kernel, 1, &local, &local);
    clReleaseKernel(kernel);
    return status;
}

/* Partials per work-group, one finishing work-group, then the apply pass. */
static clattn_status launch_large(clattn_handle *h, clattn_chain *chain, cl_int norm, cl_ulong n,
                                  cl_mem s, cl_ulong so, cl_mem w, cl_ulong wo) {
    cl_kernel partials_k = NULL, finish_k = NULL, apply_k = NULL;
    clattn_status status;
    if ((status = clattn__get_kernel(h, "normalize.cl", NULL, "norm_partials", &partials_k)) ||
        (status = clattn__get_kernel(h, "normalize.cl", NULL, "norm_finish", &finish_k)) ||
        (status = clattn__get_kernel(h, "normalize.cl", NULL, "norm_apply", &apply_k)))
        goto out;
    size_t local = 0, finish_local = 0, apply_local = 0;
    if ((status = clattn__work_group_size(h, partials_k, 256, &local)) ||
        (status = clattn__work_group_size(h, finish_k, 256, &finish_local)) ||
        (status = clattn__work_group_size(h, apply_k, 256, &apply_local)))
        goto out;
    size_t groups = (size_t)((n + local - 1) / local);
    if (groups > MAX_GROUPS) groups = MAX_GROUPS;
    /* A CPU device runs work-groups one after another per core, each with a barrier-
     * separated reduction: a few large groups per core cost less than a thousand small ones
     * (n = 262144 on PoCL, 2 cores: 1.7 ms with 1024 groups, 1.0 ms with 8). */
    if (h->variant == CLATTN_VARIANT_CPU && groups > 4 * (size_t)h->compute_units)
        groups = 4 * (size_t)h->compute_units;
    cl_uint ugroups = (cl_uint)groups;

    cl_mem partials = NULL;
    cl_event scratch_wait = NULL;
    size_t scratch_bytes = clattn__normalize_scratch_bytes(h, (clattn_norm)norm, (size_t)n);
    if ((status = clattn__scratch_acquire(h, scratch_bytes, &partials, &scratch_wait))) goto out;
    chain->extra_wait = scratch_wait;

    clattn_arg p_args[] = {{sizeof norm, &norm},
                           {sizeof n, &n},
                           {sizeof s, &s},
                           {sizeof so, &so},
                           {sizeof partials, &partials},
                           {local * sizeof(cl_float2), NULL}};
    clattn_arg f_args[] = {{sizeof norm, &norm},
                           {sizeof ugroups, &ugroups},
                           {sizeof partials, &partials},
                           {finish_local * sizeof(cl_float2), NULL}};
    clattn_arg a_args[] = {{sizeof norm, &norm},
                           {sizeof n, &n},
                           {sizeof s, &s},
                           {sizeof so, &so},
                           {sizeof w, &w},
                           {sizeof wo, &wo},
                           {sizeof partials, &partials},
                           {sizeof ugroups, &ugroups}};
    size_t global = groups * local;
    size_t apply_global = (size_t)((n + apply_local - 1) / apply_local * apply_local);
    if (!(status = clattn__set_args(partials_k, p_args, 6)) &&
        !(status = clattn__set_args(finish_k, f_args, 4)) &&
        !(status = clattn__set_args(apply_k, a_args, 8)) &&
        !(status = clattn__chain_launch(chain, partials_k, 1, &global, &local)) &&
        !(status = clattn__chain_launch(chain, finish_k, 1, &finish_local, &finish_local)))
        status = clattn__chain_launch(chain, apply_k, 1, &apply_global, &apply_local);
    clattn__scratch_release(h, chain->last);
    if (scratch_wait) clReleaseEvent(scratch_wait);
    chain->extra_wait = NULL;
out:
    if (partials_k) clReleaseKernel(partials_k);
    if (finish_k) clReleaseKernel(finish_k);
    if (apply_k) clReleaseKernel(apply_k);
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
    } else if (is_small(h, n)) {
        status = launch_small(h, &chain, inorm, un, scores, so, weights, wo);
    } else {
        status = launch_large(h, &chain, inorm, un, scores, so, weights, wo);
    }
    return clattn__chain_end(&chain, status, done);
}
