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
#include "planned.h"
#include "planners.h"
#include "contract.h"
#include "ops.h"
#include "linear_dtype.h"

/* The extent of a [rows, cols] matrix at offset with row stride ld, or false on overflow. */
static bool matrix_end(size_t offset, size_t rows, size_t cols, size_t ld, size_t *end) {
    size_t span;
    if (!clattn__mul_size(rows - 1, ld, &span) || span > SIZE_MAX - cols ||
        span + cols > SIZE_MAX - offset)
        return false;
    *end = offset + span + cols;
    return true;
}

/* Element ranges of two buffers' tensors with element sizes a_elem and b_elem: compared in
 * bytes (y may be float32 and x float16 in one buffer). The ends were checked against the
 * buffers' sizes, so the byte products do not overflow. */
static bool overlaps(cl_mem a, size_t a_begin, size_t a_end, size_t a_elem, cl_mem b,
                     size_t b_begin, size_t b_end, size_t b_elem) {
    return a && a == b && a_begin * a_elem < b_end * b_elem && b_begin * b_elem < a_end * a_elem;
}

static clattn_status plan_for_device(clattn_handle *h, size_t rows, size_t cols, size_t k,
                                     const clattn_linear_dtypes *dtypes, clattn_linear_plan *plan,
                                     cl_kernel *kernels);

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
static clattn_status launch_gpu(const clattn_linear_plan *plan, const cl_kernel *kernels,
                                clattn_chain *chain, const linear_args *a) {
    const cl_ulong ur = a->rows, uc = a->cols, uk = a->k, xo = a->x_offset, lx = a->ldx,
                   wo = a->w_offset, lw = a->ldw, bo = a->bias_offset, yo = a->y_offset,
                   ly = a->ldy;
    const cl_int has_bias = a->bias != NULL;
    clattn_arg args[] = {
        [GEMM_TILED_ARG_ROWS] = {sizeof ur, &ur},
        [GEMM_TILED_ARG_COLS] = {sizeof uc, &uc},
        [GEMM_TILED_ARG_K] = {sizeof uk, &uk},
        [GEMM_TILED_ARG_X] = {sizeof a->x, &a->x},
        [GEMM_TILED_ARG_X_OFF] = {sizeof xo, &xo},
        [GEMM_TILED_ARG_LDX] = {sizeof lx, &lx},
        [GEMM_TILED_ARG_W] = {sizeof a->w, &a->w},
        [GEMM_TILED_ARG_W_OFF] = {sizeof wo, &wo},
        [GEMM_TILED_ARG_LDW] = {sizeof lw, &lw},
        [GEMM_TILED_ARG_BIAS] = {sizeof a->bias, &a->bias},
        [GEMM_TILED_ARG_B_OFF] = {sizeof bo, &bo},
        [GEMM_TILED_ARG_HAS_BIAS] = {sizeof has_bias, &has_bias},
        [GEMM_TILED_ARG_Y] = {sizeof a->y, &a->y},
        [GEMM_TILED_ARG_Y_OFF] = {sizeof yo, &yo},
        [GEMM_TILED_ARG_LDY] = {sizeof ly, &ly},
    };
    CLATTN_ARGS_MATCH(args, GEMM_TILED_ARG_COUNT);
    clattn_status status = clattn__set_args(kernels[0], args, GEMM_TILED_ARG_COUNT);
    if (!status) status = clattn__launch_planned(chain, kernels[0], &plan->base.launch[0]);
    return status;
}

/* CPU shape: pack W transposed into the handle's scratch, then the broadcast kernel. */
static clattn_status launch_cpu(clattn_handle *h, const clattn_linear_plan *plan,
                                const cl_kernel *kernels, clattn_chain *chain,
                                const linear_args *a) {
    cl_mem wt = NULL;
    cl_event scratch_wait = NULL;
    clattn_status status = clattn__scratch_acquire(h, plan->base.scratch_bytes, &wt, &scratch_wait);
    if (status) return status;
    chain->extra_wait = scratch_wait;
    const cl_ulong ur = a->rows, uc = a->cols, uk = a->k, xo = a->x_offset, lx = a->ldx,
                   wo = a->w_offset, lw = a->ldw, bo = a->bias_offset, yo = a->y_offset,
                   ly = a->ldy, cp = plan->cols_padded;
    const cl_int has_bias = a->bias != NULL;
    clattn_arg pack_args[] = {
        [GEMM_PACK_WT_ARG_COLS] = {sizeof uc, &uc},
        [GEMM_PACK_WT_ARG_COLS_PADDED] = {sizeof cp, &cp},
        [GEMM_PACK_WT_ARG_W] = {sizeof a->w, &a->w},
        [GEMM_PACK_WT_ARG_W_OFF] = {sizeof wo, &wo},
        [GEMM_PACK_WT_ARG_LDW] = {sizeof lw, &lw},
        [GEMM_PACK_WT_ARG_WT] = {sizeof wt, &wt},
    };
    clattn_arg gemm_args[] = {
        [GEMM_BCAST_ARG_ROWS] = {sizeof ur, &ur},
        [GEMM_BCAST_ARG_COLS] = {sizeof uc, &uc},
        [GEMM_BCAST_ARG_K] = {sizeof uk, &uk},
        [GEMM_BCAST_ARG_X] = {sizeof a->x, &a->x},
        [GEMM_BCAST_ARG_X_OFF] = {sizeof xo, &xo},
        [GEMM_BCAST_ARG_LDX] = {sizeof lx, &lx},
        [GEMM_BCAST_ARG_WT] = {sizeof wt, &wt},
        [GEMM_BCAST_ARG_COLS_PADDED] = {sizeof cp, &cp},
        [GEMM_BCAST_ARG_BIAS] = {sizeof a->bias, &a->bias},
        [GEMM_BCAST_ARG_B_OFF] = {sizeof bo, &bo},
        [GEMM_BCAST_ARG_HAS_BIAS] = {sizeof has_bias, &has_bias},
        [GEMM_BCAST_ARG_Y] = {sizeof a->y, &a->y},
        [GEMM_BCAST_ARG_Y_OFF] = {sizeof yo, &yo},
        [GEMM_BCAST_ARG_LDY] = {sizeof ly, &ly},
    };
    CLATTN_ARGS_MATCH(pack_args, GEMM_PACK_WT_ARG_COUNT);
    CLATTN_ARGS_MATCH(gemm_args, GEMM_BCAST_ARG_COUNT);
    if (!(status = clattn__set_args(kernels[0], pack_args, GEMM_PACK_WT_ARG_COUNT)) &&
        !(status = clattn__set_args(kernels[1], gemm_args, GEMM_BCAST_ARG_COUNT)) &&
        !(status = clattn__launch_planned(chain, kernels[0], &plan->base.launch[0])))
        status = clattn__launch_planned(chain, kernels[1], &plan->base.launch[1]);
    clattn__scratch_release(h, chain->last);
    if (scratch_wait) clReleaseEvent(scratch_wait);
    chain->extra_wait = NULL;
    return status;
}

clattn_status clattn__enqueue_linear(clattn_handle *h, cl_command_queue queue, size_t rows,
                                     size_t cols, size_t k, cl_mem x, size_t x_offset, size_t ldx,
                                     cl_mem w, size_t w_offset, size_t ldw, cl_mem bias,
                                     size_t bias_offset, cl_mem y, size_t y_offset, size_t ldy,
                                     const clattn_linear_dtypes *dtypes, cl_uint num_wait,
                                     const cl_event *wait, cl_event *done) {
    clattn_status status = clattn__enqueue_begin(h, &queue, num_wait, wait);
    if (status) return status;
    clattn_linear_dtypes d;
    if ((status = clattn__linear_dtypes_check(dtypes, &d))) return status;
    const size_t xe = clattn_dtype_size(d.x), we = clattn_dtype_size(d.w),
                 be = clattn_dtype_size(d.bias), ye = clattn_dtype_size(d.y);
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
    if ((status = clattn__check_elements(h, x, 0, x_end, xe, "x")) ||
        (status = clattn__check_elements(h, w, 0, w_end, we, "w")) ||
        (bias && (status = clattn__check_elements(h, bias, 0, b_end, be, "bias"))) ||
        (status = clattn__check_elements(h, y, 0, y_end, ye, "y")))
        return status;
    if (overlaps(y, y_offset, y_end, ye, x, x_offset, x_end, xe) ||
        overlaps(y, y_offset, y_end, ye, w, w_offset, w_end, we) ||
        overlaps(y, y_offset, y_end, ye, bias, bias_offset, b_end, be))
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "linear: y overlaps an input");

    clattn_linear_plan plan;
    cl_kernel kernels[CLATTN_PLAN_MAX_LAUNCHES] = {NULL};
    if ((status = plan_for_device(h, rows, cols, k, &d, &plan, kernels))) return status;
    clattn_chain chain;
    clattn__chain_begin(&chain, queue, num_wait, wait);
    const linear_args args = {rows,     cols, k,    x,           x_offset, ldx,      w,
                              w_offset, ldw,  bias, bias_offset, y,        y_offset, ldy};
    status = plan.cpu ? launch_cpu(h, &plan, kernels, &chain, &args)
                      : launch_gpu(&plan, kernels, &chain, &args);
    clattn__release_kernels(&plan.base, kernels);
    return clattn__chain_end(&chain, status, done);
}

clattn_status clattn_enqueue_linear(clattn_handle *h, cl_command_queue queue, size_t rows,
                                    size_t cols, size_t k, cl_mem x, size_t x_offset, size_t ldx,
                                    cl_mem w, size_t w_offset, size_t ldw, cl_mem bias,
                                    size_t bias_offset, cl_mem y, size_t y_offset, size_t ldy,
                                    cl_uint num_wait, const cl_event *wait, cl_event *done) {
    return clattn__enqueue_linear(h, queue, rows, cols, k, x, x_offset, ldx, w, w_offset, ldw, bias,
                                  bias_offset, y, y_offset, ldy, NULL, num_wait, wait, done);
}

clattn_status clattn_enqueue_linear_ex(clattn_handle *h, cl_command_queue queue, size_t rows,
                                       size_t cols, size_t k, cl_mem x, size_t x_offset, size_t ldx,
                                       cl_mem w, size_t w_offset, size_t ldw, cl_mem bias,
                                       size_t bias_offset, cl_mem y, size_t y_offset, size_t ldy,
                                       const clattn_linear_dtypes *dtypes, cl_uint num_wait,
                                       const cl_event *wait, cl_event *done) {
    return clattn__enqueue_linear(h, queue, rows, cols, k, x, x_offset, ldx, w, w_offset, ldw, bias,
                                  bias_offset, y, y_offset, ldy, dtypes, num_wait, wait, done);
}

clattn_status clattn_linear(clattn_handle *h, size_t rows, size_t cols, size_t k, const float *x,
                            const float *w, const float *bias, float *y) {
    return clattn_linear_ex(h, rows, cols, k, x, w, bias, y, NULL);
}

clattn_status clattn_linear_ex(clattn_handle *h, size_t rows, size_t cols, size_t k, const float *x,
                               const float *w, const float *bias, float *y,
                               const clattn_linear_dtypes *dtypes) {
    if (!h) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "handle is NULL");
    if (!h->queue)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "blocking calls need a handle with a queue");
    if (!x || !w || !y) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "linear: NULL pointer");
    if (!rows || !cols || !k)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE,
                            "linear: rows (%zu), cols (%zu) and k (%zu) must be > 0", rows, cols,
                            k);
    clattn_linear_dtypes d;
    clattn_status status = clattn__linear_dtypes_check(dtypes, &d);
    if (status) return status;
    size_t xn, wn, yn, xb, wb, yb;
    if (!clattn__mul_size(rows, k, &xn) || !clattn__mul_size(cols, k, &wn) ||
        !clattn__mul_size(rows, cols, &yn) || !clattn__mul_size(xn, sizeof(float), &xb) ||
        !clattn__mul_size(wn, sizeof(float), &wb) || !clattn__mul_size(yn, sizeof(float), &yb))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "linear: sizes overflow size_t");
    yb = yn * clattn_dtype_size(d.y); /* at most the float32 bytes checked above */
    clattn_buffers bufs = {.count = 0};
    cl_mem mem[4] = {NULL, NULL, NULL, NULL}; /* x, w, bias, y */
    if (!(status = clattn__upload(h, &bufs, x, xn, clattn_dtype_size(d.x), true, &mem[0])) &&
        !(status = clattn__upload(h, &bufs, w, wn, clattn_dtype_size(d.w), true, &mem[1])) &&
        !(bias && (status = clattn__upload(h, &bufs, bias, cols, clattn_dtype_size(d.bias), true,
                                           &mem[2]))))
        status = clattn__upload(h, &bufs, NULL, yn, clattn_dtype_size(d.y), false, &mem[3]);
    cl_event done = NULL;
    if (!status)
        status = clattn__enqueue_linear(h, NULL, rows, cols, k, mem[0], 0, k, mem[1], 0, k, mem[2],
                                        0, mem[3], 0, cols, &d, 0, NULL, &done);
    if (!status)
        status =
            clattn__cl(clEnqueueReadBuffer(h->queue, mem[3], CL_TRUE, 0, yb, y, 1, &done, NULL),
                       "clEnqueueReadBuffer");
    return clattn__end_blocking_call(h, status, &done, 1, &bufs);
}

/* ---- for the registry of operations (registry.c) ---------------------------------------- */

/* Plans the linear layer for the handle's device, planning again when a compiled kernel
 * allows fewer work-items than planned; kernels may be NULL (only the plan is wanted). */
static clattn_status plan_for_device(clattn_handle *h, size_t rows, size_t cols, size_t k,
                                     const clattn_linear_dtypes *dtypes, clattn_linear_plan *plan,
                                     cl_kernel *kernels) {
    clattn_device_profile profile = h->profile;
    cl_kernel own[CLATTN_PLAN_MAX_LAUNCHES] = {NULL};
    cl_kernel *out = kernels ? kernels : own;
    clattn_status status = CLATTN_SUCCESS;
    for (bool replan = true; replan && !status;)
        if (!(status = clattn__plan_linear_ex(&profile, rows, cols, k, dtypes, plan)))
            status = clattn__plan_kernels(h, &plan->base, &profile, out, &replan);
    if (!kernels) clattn__release_kernels(&plan->base, own);
    return status;
}

clattn_status clattn__linear_scratch_bytes(const clattn_handle *h, size_t rows, size_t cols,
                                           size_t k, size_t *bytes) {
    if (!rows || !cols || !k)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE,
                            "linear: rows (%zu), cols (%zu) and k (%zu) must be > 0", rows, cols,
                            k);
    /* The scratch (CPU: the packed W^T) does not depend on the work-group limits. */
    clattn_linear_plan plan;
    clattn_status status = clattn__plan_linear(&h->profile, rows, cols, k, &plan);
    *bytes = status ? 0 : plan.base.scratch_bytes;
    return status;
}

/* Its program does not depend on the shape: any size builds it. */
clattn_status clattn__linear_prepare(clattn_handle *h) {
    clattn_linear_plan plan;
    return plan_for_device(h, 1, 1, 1, NULL, &plan, NULL);
}
