/* clattn_enqueue_context: context[c] = sum_j weights[j] * v[j][c], reduced over row blocks. */
#include "status.h"
#include "size.h"
#include "handle.h"
#include "program.h"
#include "launch.h"
#include "scratch.h"
#include "ops.h"

/* Row blocks: enough to fill the device, each at least MIN_ROWS rows. */
#define MAX_BLOCKS 1024
#define MIN_ROWS   64

/* Row blocks: a block per MIN_ROWS rows, at most MAX_BLOCKS (CPU: a few per compute unit). */
static void row_blocks(const clattn_handle *h, size_t n, size_t *blocks, size_t *rows_per_block) {
    size_t max_blocks =
        h->variant == CLATTN_VARIANT_CPU ? 8 * (size_t)h->compute_units : MAX_BLOCKS;
    if (max_blocks == 0) max_blocks = 1;
    /* Rounded-up divisions that cannot wrap for n near SIZE_MAX. */
    size_t b = n / MIN_ROWS + (n % MIN_ROWS != 0);
    if (b > max_blocks) b = max_blocks;
    *rows_per_block = n / b + (n % b != 0);
    *blocks = n / *rows_per_block + (n % *rows_per_block != 0);
}

/* One partial context vector of d floats per row block. */
clattn_status clattn__context_scratch_bytes(const clattn_handle *h, size_t n, size_t d,
                                            size_t *bytes) {
    if (n == 0 || d == 0)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE, "context: n (%zu) and d (%zu) must be > 0",
                            n, d);
    size_t blocks, rows, floats;
    row_blocks(h, n, &blocks, &rows);
    if (!clattn__mul_size(blocks, d, &floats) || !clattn__mul_size(floats, sizeof(float), bytes))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "context: scratch size overflows");
    return CLATTN_SUCCESS;
}

clattn_status clattn_enqueue_context(clattn_handle *h, cl_command_queue queue, size_t n, size_t d,
                                     cl_mem weights, size_t weights_offset, cl_mem v,
                                     size_t v_offset, cl_mem context, size_t context_offset,
                                     cl_uint num_wait, const cl_event *wait, cl_event *done) {
    if (!h) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "handle is NULL");
    if (n == 0 || d == 0)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE, "context: n (%zu) and d (%zu) must be > 0",
                            n, d);
    size_t nd;
    if (!clattn__mul_size(n, d, &nd))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "context: n * d overflows size_t");
    clattn_status status;
    if ((status = clattn__check_wait_list(num_wait, wait)) ||
        (status = clattn__pick_queue(h, queue, &queue)) ||
        (status = clattn__check_buffer(h, weights, weights_offset, n, "weights")) ||
        (status = clattn__check_buffer(h, v, v_offset, nd, "v")) ||
        (status = clattn__check_buffer(h, context, context_offset, d, "context")))
        return status;

    const bool cpu = h->variant == CLATTN_VARIANT_CPU;
    cl_kernel partials_k = NULL, finish_k = NULL;
    if ((status =
             clattn__get_kernel(h, "context.cl", NULL,
                                cpu ? "context_partials_vec" : "context_partials", &partials_k)) ||
        (status = clattn__get_kernel(h, "context.cl", NULL, "context_finish", &finish_k))) {
        if (partials_k) clReleaseKernel(partials_k);
        return status;
    }

    size_t local[2] = {1, 1}, global[2], finish_local = 1;
    status = clattn__work_group_size(h, partials_k, 256, &local[0]);
    if (!status) status = clattn__work_group_size(h, finish_k, 64, &finish_local);
    size_t blocks, rows_per_block;
    row_blocks(h, n, &blocks, &rows_per_block);
    if (cpu) {
        global[0] = (d + 15) / 16;
        global[1] = blocks;
    } else {
        size_t group = local[0];
        local[0] = clattn__next_pow2(d) < 32 ? clattn__next_pow2(d) : 32;
        if (local[0] > group) local[0] = group;
        local[1] = group / local[0];
        global[0] = (d + local[0] - 1) / local[0] * local[0];
        global[1] = blocks * local[1];
    }

    cl_mem partials = NULL;
    cl_event scratch_wait = NULL;
    size_t scratch_bytes = 0;
    if (!status) status = clattn__context_scratch_bytes(h, n, d, &scratch_bytes);
    if (status) {
        clReleaseKernel(partials_k);
        clReleaseKernel(finish_k);
        return status;
    }
    if ((status = clattn__scratch_acquire(h, scratch_bytes, &partials, &scratch_wait))) {
        clReleaseKernel(partials_k);
        clReleaseKernel(finish_k);
        return status;
    }

    cl_ulong un = n, ud = d, wo = weights_offset, vo = v_offset, co = context_offset;
    cl_ulong rows = rows_per_block;
    cl_uint ublocks = (cl_uint)blocks;
    clattn_arg p_args[] = {{sizeof un, &un},
                           {sizeof ud, &ud},
                           {sizeof weights, &weights},
                           {sizeof wo, &wo},
                           {sizeof v, &v},
                           {sizeof vo, &vo},
                           {sizeof rows, &rows},
                           {sizeof partials, &partials},
                           {local[0] * local[1] * sizeof(float), NULL}};
    clattn_arg f_args[] = {{sizeof ud, &ud},
                           {sizeof ublocks, &ublocks},
                           {sizeof partials, &partials},
                           {sizeof context, &context},
                           {sizeof co, &co}};
    size_t finish_global = (d + finish_local - 1) / finish_local * finish_local;

    clattn_chain chain;
    clattn__chain_begin(&chain, queue, num_wait, wait);
    chain.extra_wait = scratch_wait;
    if (!(status = clattn__set_args(partials_k, p_args, cpu ? 8 : 9)) &&
        !(status = clattn__set_args(finish_k, f_args, 5)) &&
        !(status = clattn__chain_launch(&chain, partials_k, 2, global, cpu ? NULL : local)))
        status = clattn__chain_launch(&chain, finish_k, 1, &finish_global, &finish_local);
    clattn__scratch_release(h, chain.last);
    if (scratch_wait) clReleaseEvent(scratch_wait);
    clReleaseKernel(partials_k);
    clReleaseKernel(finish_k);
    return clattn__chain_end(&chain, status, done);
}
