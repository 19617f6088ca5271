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
#include "tiles.h"
#include "ops.h"

/* Largest WEIGHTS_TILE (a work-group is its square) and the local memory one tile uses. */
#define MAX_TILE            16
#define TILE_LOCAL_BYTES(t) (2 * (size_t)(t) * (32 + 1) * sizeof(float))

static size_t tile_local_bytes(size_t tile) {
    return TILE_LOCAL_BYTES(tile);
}

static clattn_status launch_scores(clattn_handle *h, clattn_chain *chain,
                                   const clattn_attention_desc *desc, cl_mem q, cl_mem k,
                                   cl_mem mask, cl_mem w) {
    const bool cpu = h->variant == CLATTN_VARIANT_CPU;
    cl_kernel kernel = NULL;
    size_t tile = 1, global[3], local[3] = {1, 1, 1};
    clattn_status status =
        cpu ? clattn__get_kernel(h, "weights.cl", NULL, "weights_scores_rows", &kernel)
            : clattn__get_square_kernel(h, "weights.cl", "WEIGHTS_TILE", "weights_scores_tiled",
                                        MAX_TILE, tile_local_bytes, &kernel, &tile);
    if (status) return status;
    const size_t heads_total = desc->batch * desc->q_heads; /* validated: no overflow */
    if (cpu) {
        const size_t key_blocks = (desc->n + 7) / 8; /* WEIGHTS_KEYS */
        size_t want = clattn__next_pow2(key_blocks);
        status = clattn__work_group_size(h, kernel, want < 16 ? want : 16, &local[0]);
        global[0] = clattn__round_up(key_blocks, local[0]);
        global[1] = desc->m;
    } else {
        local[0] = local[1] = tile;
        global[0] = clattn__round_up(desc->n, tile);
        global[1] = clattn__round_up(desc->m, tile);
    }
    global[2] = heads_total;

    const cl_ulong m = desc->m, n = desc->n, d = desc->d, hq = desc->q_heads,
                   group = desc->q_heads / desc->kv_heads;
    const cl_int causal = desc->causal, mask_kind = desc->mask_kind;
    const cl_ulong4 ql = {
        {desc->q.offset, desc->q.stride[0], desc->q.stride[1], desc->q.stride[2]}};
    const cl_ulong4 kl = {
        {desc->k.offset, desc->k.stride[0], desc->k.stride[1], desc->k.stride[2]}};
    const cl_ulong4 ml = {
        {desc->mask.offset, desc->mask.stride[0], desc->mask.stride[1], desc->mask.stride[2]}};
    cl_mem mask_arg = desc->mask_kind == CLATTN_MASK_NONE ? NULL : mask;
    clattn_arg args[] = {{sizeof m, &m},
                         {sizeof n, &n},
                         {sizeof d, &d},
                         {sizeof hq, &hq},
                         {sizeof group, &group},
                         {sizeof desc->scale, &desc->scale},
                         {sizeof causal, &causal},
                         {sizeof mask_kind, &mask_kind},
                         {sizeof q, &q},
                         {sizeof ql, &ql},
                         {sizeof k, &k},
                         {sizeof kl, &kl},
                         {sizeof mask_arg, &mask_arg},
                         {sizeof ml, &ml},
                         {sizeof w, &w}};
    if (!status) status = clattn__set_args(kernel, args, 15);
    if (!status) status = clattn__chain_launch(chain, kernel, 3, global, local);
    clReleaseKernel(kernel);
    return status;
}

static clattn_status launch_normalize(clattn_handle *h, clattn_chain *chain,
                                      const clattn_attention_desc *desc, size_t rows, cl_mem w) {
    cl_kernel kernel = NULL;
    clattn_status status =
        clattn__get_kernel(h, "weights.cl", NULL, "weights_normalize_rows", &kernel);
    if (status) return status;
    /* About four scores per work-item, at most 256 work-items (a GPU's usual group). */
    size_t want = clattn__next_pow2((desc->n + 3) / 4), local = 1;
    status = clattn__work_group_size(h, kernel, want < 256 ? want : 256, &local);
    while (!status && local > 1 && local * sizeof(cl_float2) > h->local_mem_size)
        local /= 2;
    const cl_int norm = desc->norm;
    const cl_ulong n = desc->n;
    clattn_arg args[] = {
        {sizeof norm, &norm}, {sizeof n, &n}, {sizeof w, &w}, {local * sizeof(cl_float2), NULL}};
    size_t global = 0;
    if (!status && !clattn__mul_size(rows, local, &global))
        status = clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "weights: rows * work-group overflows");
    if (!status) status = clattn__set_args(kernel, args, 4);
    if (!status) status = clattn__chain_launch(chain, kernel, 1, &global, &local);
    clReleaseKernel(kernel);
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

    clattn_chain chain;
    clattn__chain_begin(&chain, queue, num_wait, wait);
    status = launch_scores(h, &chain, desc, q, k, mask, weights);
    if (!status && desc->norm != CLATTN_NORM_NONE)
        status = launch_normalize(h, &chain, desc, e.weight_rows, weights);
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
    if (!clattn__mul_size(e.q, sizeof(float), &qb) ||
        !clattn__mul_size(e.k, sizeof(float), &kb) ||
        !clattn__mul_size(e.mask, mask_elem, &mb) ||
        !clattn__mul_size(e.weights, sizeof(float), &wb))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "attention weights: bytes overflow");

    clattn_buffers bufs = {.count = 0};
    cl_mem qm = NULL, km = NULL, mm = NULL, wm = NULL;
    cl_event done = NULL;
    if (!(status = clattn__upload(h, &bufs, q, e.q, sizeof(float), true, &qm)) &&
        !(status = clattn__upload(h, &bufs, k, e.k, sizeof(float), true, &km)) &&
        !(has_mask &&
          (status = clattn__upload(h, &bufs, mask, e.mask, mask_elem, true, &mm))) &&
        !(status = clattn__upload(h, &bufs, NULL, e.weights, sizeof(float), false, &wm)) &&
        !(status = clattn_enqueue_attention_weights(h, NULL, desc, qm, km, mm, wm, 0, NULL, &done)))
        status =
            clattn__cl(clEnqueueReadBuffer(h->queue, wm, CL_TRUE, 0, wb, weights, 1, &done, NULL),
                       "clEnqueueReadBuffer");
    if (status) clFinish(h->queue); /* let enqueued work end before its buffers go */
    if (done) clReleaseEvent(done);
    clattn__release_buffers(&bufs);
    if (!status) clattn__clear_error();
    return status;
}

/* ---- for the registry of operations (registry.c) ---------------------------------------- */

/* Builds the scores program as launch_scores does (the row kernel shares it). */
clattn_status clattn__attention_weights_prepare(clattn_handle *h) {
    cl_kernel kernel = NULL;
    size_t tile = 1;
    clattn_status status =
        h->variant == CLATTN_VARIANT_CPU
            ? clattn__get_kernel(h, "weights.cl", NULL, "weights_scores_rows", &kernel)
            : clattn__get_square_kernel(h, "weights.cl", "WEIGHTS_TILE", "weights_scores_tiled",
                                        MAX_TILE, tile_local_bytes, &kernel, &tile);
    if (kernel) clReleaseKernel(kernel);
    kernel = NULL;
    if (!status && h->variant != CLATTN_VARIANT_CPU) /* the normalisation's plain build */
        status = clattn__get_kernel(h, "weights.cl", NULL, "weights_normalize_rows", &kernel);
    if (kernel) clReleaseKernel(kernel);
    return status;
}
