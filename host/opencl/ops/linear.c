/* The linear layer y = x W^T + b on our own tiled GEMM kernels (kernels/linear.cl): a
 * local-memory tiled kernel for GPUs, a register-blocked float16 kernel for CPUs. */
#include "linear.h"
#include "status.h"
#include "size.h"
#include "handle.h"
#include "program.h"
#include "launch.h"
#include "upload.h"
#include "scratch.h"
#include "tiles.h"
#include "ops.h"

/* Largest GPU work-group edge (GEMM_WG; 16 x 16 = 256 work-items) and its local memory:
 * two GEMM_KT x (4 * edge + 1) float tiles. */
#define MAX_EDGE   16
#define GEMM_KT    16
#define GEMM_BLOCK 4
#define CPU_ROWS   8
#define CPU_COLS   32

static size_t gemm_local_bytes(size_t edge) {
    return 2 * GEMM_KT * (GEMM_BLOCK * edge + 1) * sizeof(float);
}

/* The extent of a [rows, cols] matrix at offset with row stride ld, or false on overflow. */
static bool matrix_end(size_t offset, size_t rows, size_t cols, size_t ld, size_t *end) {
    size_t span;
    if (!clattn__mul_size(rows - 1, ld, &span) || span > SIZE_MAX - cols ||
        span + cols > SIZE_MAX - offset)
        return false;
    *end = offset + span + cols;
    return true;
}

static bool overlaps(cl_mem a, size_t a_begin, size_t a_end, cl_mem b, size_t b_begin,
                     size_t b_end) {
    return a && a == b && a_begin < b_end && b_begin < a_end;
}

typedef struct linear_args {
    size_t rows, cols, k;
    cl_mem x;
    size_t x_offset, ldx;
    cl_mem w;
    size_t w_offset, ldw;
    cl_mem bias;
    size_t bias_offset;
    cl_mem y;
    size_t y_offset, ldy;
} linear_args;

/* GPU shape: one tiled kernel, its work-group edge from the device limits. */
static clattn_status launch_gpu(clattn_handle *h, clattn_chain *chain, const linear_args *a) {
    cl_kernel kernel = NULL;
    size_t edge = 1;
    clattn_status status = clattn__get_square_kernel(h, "linear.cl", "GEMM_WG", "gemm_tiled",
                                                     MAX_EDGE, gemm_local_bytes, &kernel, &edge);
    if (status) return status;
    const size_t tile = GEMM_BLOCK * edge;
    const size_t local[2] = {edge, edge};
    const size_t global[2] = {(a->cols + tile - 1) / tile * edge,
                              (a->rows + tile - 1) / tile * edge};
    const cl_ulong ur = a->rows, uc = a->cols, uk = a->k, xo = a->x_offset, lx = a->ldx,
                   wo = a->w_offset, lw = a->ldw, bo = a->bias_offset, yo = a->y_offset,
                   ly = a->ldy;
    const cl_int has_bias = a->bias != NULL;
    clattn_arg args[] = {{sizeof ur, &ur},           {sizeof uc, &uc}, {sizeof uk, &uk},
                         {sizeof a->x, &a->x},       {sizeof xo, &xo}, {sizeof lx, &lx},
                         {sizeof a->w, &a->w},       {sizeof wo, &wo}, {sizeof lw, &lw},
                         {sizeof a->bias, &a->bias}, {sizeof bo, &bo}, {sizeof has_bias, &has_bias},
                         {sizeof a->y, &a->y},       {sizeof yo, &yo}, {sizeof ly, &ly}};
    status = clattn__set_args(kernel, args, 15);
    if (!status) status = clattn__chain_launch(chain, kernel, 2, global, local);
    clReleaseKernel(kernel);
    return status;
}

/* The CPU shape's scratch: W packed transposed, its columns padded to CPU_COLS. */
static clattn_status packed_w_bytes(const clattn_handle *h, size_t cols, size_t k,
                                    size_t *bytes) {
    if (!clattn__mul_size(clattn__round_up(cols, CPU_COLS), k, bytes) ||
        !clattn__mul_size(*bytes, sizeof(float), bytes))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "linear: packed W overflows size_t");
    if (*bytes > h->max_alloc_size)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE,
                            "linear: the packed W (%zu bytes) exceeds the device's largest "
                            "allocation",
                            *bytes);
    return CLATTN_SUCCESS;
}

/* CPU shape: pack W transposed into the handle's scratch, then the broadcast kernel. */
static clattn_status launch_cpu(clattn_handle *h, clattn_chain *chain, const linear_args *a) {
    cl_kernel pack = NULL, gemm = NULL;
    clattn_status status;
    if ((status = clattn__get_kernel(h, "linear.cl", NULL, "gemm_pack_wt", &pack)) ||
        (status = clattn__get_kernel(h, "linear.cl", NULL, "gemm_bcast", &gemm)))
        goto out;
    const size_t cols_padded = clattn__round_up(a->cols, CPU_COLS);
    size_t packed_bytes;
    if ((status = packed_w_bytes(h, a->cols, a->k, &packed_bytes))) goto out;
    const size_t blocks = ((a->rows + CPU_ROWS - 1) / CPU_ROWS) * (cols_padded / CPU_COLS);
    /* One work-item per work-group: PoCL then runs the register tile as written instead of
     * looping work-items around it (measured 2x faster than 16 here). */
    size_t local = 1;
    const size_t pack_global[2] = {a->k, cols_padded};
    if ((status = clattn__work_group_size(h, gemm, 1, &local))) goto out;
    const size_t global = clattn__round_up(blocks, local);

    cl_mem wt = NULL;
    cl_event scratch_wait = NULL;
    if ((status = clattn__scratch_acquire(h, packed_bytes, &wt, &scratch_wait))) goto out;
    chain->extra_wait = scratch_wait;
    const cl_ulong ur = a->rows, uc = a->cols, uk = a->k, xo = a->x_offset, lx = a->ldx,
                   wo = a->w_offset, lw = a->ldw, bo = a->bias_offset, yo = a->y_offset,
                   ly = a->ldy, cp = cols_padded;
    const cl_int has_bias = a->bias != NULL;
    clattn_arg pack_args[] = {{sizeof uc, &uc}, {sizeof cp, &cp}, {sizeof a->w, &a->w},
                              {sizeof wo, &wo}, {sizeof lw, &lw}, {sizeof wt, &wt}};
    clattn_arg gemm_args[] = {{sizeof ur, &ur},
                              {sizeof uc, &uc},
                              {sizeof uk, &uk},
                              {sizeof a->x, &a->x},
                              {sizeof xo, &xo},
                              {sizeof lx, &lx},
                              {sizeof wt, &wt},
                              {sizeof cp, &cp},
                              {sizeof a->bias, &a->bias},
                              {sizeof bo, &bo},
                              {sizeof has_bias, &has_bias},
                              {sizeof a->y, &a->y},
                              {sizeof yo, &yo},
                              {sizeof ly, &ly}};
    if (!(status = clattn__set_args(pack, pack_args, 6)) &&
        !(status = clattn__set_args(gemm, gemm_args, 14)) &&
        !(status = clattn__chain_launch(chain, pack, 2, pack_global, NULL))) /* any shape */
        status = clattn__chain_launch(chain, gemm, 1, &global, &local);
    clattn__scratch_release(h, chain->last);
    if (scratch_wait) clReleaseEvent(scratch_wait);
    chain->extra_wait = NULL;
out:
    if (pack) clReleaseKernel(pack);
    if (gemm) clReleaseKernel(gemm);
    return status;
}

clattn_status clattn__enqueue_linear(clattn_handle *h, cl_command_queue queue, size_t rows,
                                     size_t cols, size_t k, cl_mem x, size_t x_offset, size_t ldx,
                                     cl_mem w, size_t w_offset, size_t ldw, cl_mem bias,
                                     size_t bias_offset, cl_mem y, size_t y_offset, size_t ldy,
                                     cl_uint num_wait, const cl_event *wait, cl_event *done) {
    clattn_status status = clattn__enqueue_begin(h, &queue, num_wait, wait);
    if (status) return status;
    if (!rows || !cols || !k)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE,
                            "linear: rows (%zu), cols (%zu) and k (%zu) must be > 0", rows, cols,
                            k);
    if (ldx < k || ldw < k || ldy < cols)
        return clattn__fail(CLATTN_ERROR_INVALID_SHAPE,
                            "linear: row strides must cover a row (ldx %zu, ldw %zu >= k %zu; "
                            "ldy %zu >= cols %zu)",
                            ldx, ldw, k, ldy, cols);
    size_t x_end, w_end, y_end, b_end = 0;
    if (!matrix_end(x_offset, rows, k, ldx, &x_end) ||
        !matrix_end(w_offset, cols, k, ldw, &w_end) ||
        !matrix_end(y_offset, rows, cols, ldy, &y_end) ||
        (bias && !matrix_end(bias_offset, 1, cols, cols, &b_end)))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "linear: offset + extent overflows size_t");
    if ((status = clattn__check_buffer(h, x, 0, x_end, "x")) ||
        (status = clattn__check_buffer(h, w, 0, w_end, "w")) ||
        (bias && (status = clattn__check_buffer(h, bias, 0, b_end, "bias"))) ||
        (status = clattn__check_buffer(h, y, 0, y_end, "y")))
        return status;
    if (overlaps(y, y_offset, y_end, x, x_offset, x_end) ||
        overlaps(y, y_offset, y_end, w, w_offset, w_end) ||
        overlaps(y, y_offset, y_end, bias, bias_offset, b_end))
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "linear: y overlaps an input");

    clattn_chain chain;
    clattn__chain_begin(&chain, queue, num_wait, wait);
    const linear_args args = {rows,     cols, k,    x,           x_offset, ldx,      w,
                              w_offset, ldw,  bias, bias_offset, y,        y_offset, ldy};
    status = h->variant == CLATTN_VARIANT_CPU ? launch_cpu(h, &chain, &args)
                                              : launch_gpu(h, &chain, &args);
    return clattn__chain_end(&chain, status, done);
}

clattn_status clattn_enqueue_linear(clattn_handle *h, cl_command_queue queue, size_t rows,
                                    size_t cols, size_t k, cl_mem x, size_t x_offset, size_t ldx,
                                    cl_mem w, size_t w_offset, size_t ldw, cl_mem bias,
                                    size_t bias_offset, cl_mem y, size_t y_offset, size_t ldy,
                                    cl_uint num_wait, const cl_event *wait, cl_event *done) {
    return clattn__enqueue_linear(h, queue, rows, cols, k, x, x_offset, ldx, w, w_offset, ldw, bias,
                                  bias_offset, y, y_offset, ldy, num_wait, wait, done);
}

clattn_status clattn_linear(clattn_handle *h, size_t rows, size_t cols, size_t k, const float *x,
                            const float *w, const float *bias, float *y) {
    if (!h) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "handle is NULL");
    if (!h->queue)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "blocking calls need a handle with a queue");
    if (!x || !w || !y) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "linear: NULL pointer");
    if (!rows || !cols || !k)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE,
                            "linear: rows (%zu), cols (%zu) and k (%zu) must be > 0", rows, cols,
                            k);
    size_t xn, wn, yn, xb, wb, yb;
    if (!clattn__mul_size(rows, k, &xn) || !clattn__mul_size(cols, k, &wn) ||
        !clattn__mul_size(rows, cols, &yn) || !clattn__mul_size(xn, sizeof(float), &xb) ||
        !clattn__mul_size(wn, sizeof(float), &wb) || !clattn__mul_size(yn, sizeof(float), &yb))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "linear: sizes overflow size_t");
    clattn_buffers bufs = {.count = 0};
    cl_mem mem[4] = {NULL, NULL, NULL, NULL}; /* x, w, bias, y */
    clattn_status status;
    if (!(status = clattn__upload(h, &bufs, x, xn, sizeof(float), true, &mem[0])) &&
        !(status = clattn__upload(h, &bufs, w, wn, sizeof(float), true, &mem[1])) &&
        !(bias && (status = clattn__upload(h, &bufs, bias, cols, sizeof(float), true, &mem[2]))))
        status = clattn__upload(h, &bufs, NULL, yn, sizeof(float), false, &mem[3]);
    cl_event done = NULL;
    if (!status)
        status = clattn__enqueue_linear(h, NULL, rows, cols, k, mem[0], 0, k, mem[1], 0, k, mem[2],
                                        0, mem[3], 0, cols, 0, NULL, &done);
    if (!status)
        status =
            clattn__cl(clEnqueueReadBuffer(h->queue, mem[3], CL_TRUE, 0, yb, y, 1, &done, NULL),
                       "clEnqueueReadBuffer");
    if (status) clFinish(h->queue);
    if (done) clReleaseEvent(done);
    clattn__release_buffers(&bufs);
    if (!status) clattn__clear_error();
    return status;
}

/* ---- for the registry of operations (registry.c) ---------------------------------------- */

clattn_status clattn__linear_scratch_bytes(const clattn_handle *h, size_t rows, size_t cols,
                                           size_t k, size_t *bytes) {
    if (!rows || !cols || !k)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE,
                            "linear: rows (%zu), cols (%zu) and k (%zu) must be > 0", rows, cols,
                            k);
    *bytes = 0;
    return h->variant == CLATTN_VARIANT_CPU ? packed_w_bytes(h, cols, k, bytes) : CLATTN_SUCCESS;
}

clattn_status clattn__linear_prepare(clattn_handle *h) {
    cl_kernel kernel = NULL;
    size_t edge = 1;
    clattn_status status =
        h->variant == CLATTN_VARIANT_CPU
            ? clattn__get_kernel(h, "linear.cl", NULL, "gemm_bcast", &kernel)
            : clattn__get_square_kernel(h, "linear.cl", "GEMM_WG", "gemm_tiled", MAX_EDGE,
                                        gemm_local_bytes, &kernel, &edge);
    if (kernel) clReleaseKernel(kernel);
    return status;
}
