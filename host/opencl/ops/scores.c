/* clattn_enqueue_scores: scores[j] = scale * dot(x_j, q). */
#include "status.h"
#include "size.h"
#include "handle.h"
#include "program.h"
#include "launch.h"

/* Rows per work-item of the CPU-shaped kernel (see kernels/scores.cl). */
#define CPU_ROWS 8

clattn_status clattn_enqueue_scores(clattn_handle *h, cl_command_queue queue, size_t n, size_t d,
                                    float scale, cl_mem x, size_t x_offset, cl_mem q,
                                    size_t q_offset, cl_mem scores, size_t scores_offset,
                                    cl_uint num_wait, const cl_event *wait, cl_event *done) {
    clattn_status status = clattn__enqueue_begin(h, &queue, num_wait, wait);
    if (status) return status;
    if (n == 0 || d == 0)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE, "scores: n (%zu) and d (%zu) must be > 0", n,
                            d);
    size_t nd;
    if (!clattn__mul_size(n, d, &nd))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "scores: n * d overflows size_t");
    if ((status = clattn__check_buffer(h, x, x_offset, nd, "x")) ||
        (status = clattn__check_buffer(h, q, q_offset, d, "q")) ||
        (status = clattn__check_buffer(h, scores, scores_offset, n, "scores")))
        return status;

    const bool cpu = h->variant == CLATTN_VARIANT_CPU;
    cl_kernel kernel = NULL;
    if ((status = clattn__get_kernel(h, "scores.cl", NULL, cpu ? "scores_rows" : "scores_lanes",
                                     &kernel)))
        return status;

    cl_ulong un = n, ud = d, xo = x_offset, qo = q_offset, so = scores_offset;
    size_t local = 0, global = 0;
    cl_uint lanes = 1;
    if (cpu) {
        status = clattn__work_group_size(h, kernel, 64, &local);
        global = clattn__round_up((n + CPU_ROWS - 1) / CPU_ROWS, local);
    } else {
        status = clattn__work_group_size(h, kernel, 256, &local);
        /* About four elements per lane, at most a 32-lane row (one warp on most GPUs). */
        size_t want = clattn__next_pow2((d + 3) / 4);
        lanes = (cl_uint)(want > 32 ? 32 : want);
        if (lanes > local) lanes = (cl_uint)local;
        size_t rows_per_group = local / lanes;
        global = (n + rows_per_group - 1) / rows_per_group * local;
    }
    clattn_arg args[] = {{sizeof un, &un},
                         {sizeof ud, &ud},
                         {sizeof scale, &scale},
                         {sizeof x, &x},
                         {sizeof xo, &xo},
                         {sizeof q, &q},
                         {sizeof qo, &qo},
                         {sizeof scores, &scores},
                         {sizeof so, &so},
                         {sizeof lanes, &lanes},
                         {local * sizeof(float), NULL}};
    if (!status) status = clattn__set_args(kernel, args, cpu ? 9 : 11);

    clattn_chain chain;
    clattn__chain_begin(&chain, queue, num_wait, wait);
    if (!status) status = clattn__chain_launch(&chain, kernel, 1, &global, &local);
    clReleaseKernel(kernel);
    return clattn__chain_end(&chain, status, done);
}
