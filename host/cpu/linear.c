/* Fast CPU linear layer (clattn_cpu_linear): y = x W^T + bias in float, cache-blocked and
 * multi-threaded.
 *
 * W [cols, k] is first packed (in parallel) into panels of TC output columns: panel p holds
 * W^T[0..k)[32p .. 32p + 32) contiguously, zero-padded past the last column, so the inner
 * loop reads one contiguous TC-float row per step. A task is a block of ROWS_PER_TASK rows
 * x PANELS_PER_TASK panels; inside it the reduction goes in chunks of KC (a panel chunk,
 * KC x TC floats = 32 KiB, stays in L1/L2 while every 8-row group of the block uses it),
 * and each TR x TC (8 x 32) output tile lives in registers across a chunk, as in
 * host/cpu/attention.c's score tiles. The task split does not depend on the thread count,
 * so results are the same bits for any number of threads.
 *
 * Below FEW_ROWS rows (decoding: B tokens) packing W, an extra pass over it, would be the
 * main cost: such products are dot products with W's rows in 16 lanes instead, in tasks of
 * GEMV_COLS columns (also independent of the thread count). */
#include "status.h"
#include "size.h"
#include "cpu.h"
#include "linear_dtype.h"

#include <stdlib.h>
#include <string.h>

#define TR              8   /* register tile: rows */
#define TC              32  /* register tile: columns (one panel) */
#define KC              256 /* reduction chunk */
#define ROWS_PER_TASK   64
#define PANELS_PER_TASK 4
#define GEMV_COLS       32 /* output columns per task of the few-rows path */
/* Below this many rows the dot products win: 768 x 768 W on 2 cores, 8 rows 0.22 ms against
 * 0.51 ms tiled (packing W is most of it), 16 rows 0.40 against 0.59, even at 24-32. */
#define FEW_ROWS 24

typedef struct linear_job {
    size_t rows, cols, k, ldx, ldw, ldy;
    const float *x, *w, *bias;
    float *y;
    float *packed; /* panels x k x TC */
    size_t panels, row_blocks, panel_blocks;
} linear_job;

/* Panel p: packed[p][c][j] = W[32p + j][c], 0 past the last column. */
static void pack_task(void *ctx, size_t p) {
    const linear_job *job = ctx;
    float *dst = job->packed + p * job->k * TC;
    const size_t col0 = p * TC, n = job->cols - col0 < TC ? job->cols - col0 : TC;
    for (size_t j = 0; j < TC; j++) {
        if (j < n) {
            const float *src = job->w + (col0 + j) * job->ldw;
            for (size_t c = 0; c < job->k; c++)
                dst[c * TC + j] = src[c];
        } else
            for (size_t c = 0; c < job->k; c++)
                dst[c * TC + j] = 0.0f;
    }
}

/* tile[t][j] += sum_c xr[t][c] * panel[c][j] for c < kc. The accumulators are a local
 * TR x TC array with constant bounds so that the compiler keeps them in vector registers
 * (16 zmm in the x86-64-v4 clone) and vectorises the jj loop. */
CLATTN_CPU_HOT static void micro_tile(const float *const *xr, const float *panel, size_t kc,
                                      float *tile) {
    float acc[TR][TC];
    memcpy(acc, tile, sizeof acc);
    for (size_t c = 0; c < kc; c++) {
        const float *pr = panel + c * TC;
        for (int t = 0; t < TR; t++) {
            const float xv = xr[t][c];
            for (int jj = 0; jj < TC; jj++)
                acc[t][jj] += xv * pr[jj];
        }
    }
    memcpy(tile, acc, sizeof acc);
}

/* Read by the rows of a partial 8-row group past the last row: adds nothing. */
static const float zero_row[KC];

static void gemm_task(void *ctx, size_t task) {
    const linear_job *job = ctx;
    const size_t r_begin = task / job->panel_blocks * ROWS_PER_TASK;
    const size_t r_end = r_begin + ROWS_PER_TASK < job->rows ? r_begin + ROWS_PER_TASK : job->rows;
    const size_t p_begin = task % job->panel_blocks * PANELS_PER_TASK;
    const size_t p_end =
        p_begin + PANELS_PER_TASK < job->panels ? p_begin + PANELS_PER_TASK : job->panels;
    float tile[TR * TC];
    for (size_t k0 = 0; k0 < job->k; k0 += KC) {
        const size_t kc = job->k - k0 < KC ? job->k - k0 : KC;
        for (size_t p = p_begin; p < p_end; p++) {
            const float *panel = job->packed + (p * job->k + k0) * TC;
            const size_t col0 = p * TC;
            const size_t nc = job->cols - col0 < TC ? job->cols - col0 : TC;
            for (size_t r = r_begin; r < r_end; r += TR) {
                const size_t nr = r_end - r < TR ? r_end - r : TR;
                const float *xr[TR];
                for (size_t t = 0; t < TR; t++)
                    xr[t] = t < nr ? job->x + (r + t) * job->ldx + k0 : zero_row;
                /* The tile starts from the bias (first chunk) or the partial sums in y. */
                memset(tile, 0, sizeof tile);
                for (size_t t = 0; t < nr; t++) {
                    float *dst = tile + t * TC;
                    if (k0)
                        memcpy(dst, job->y + (r + t) * job->ldy + col0, nc * sizeof *dst);
                    else if (job->bias)
                        memcpy(dst, job->bias + col0, nc * sizeof *dst);
                }
                micro_tile(xr, panel, kc, tile);
                for (size_t t = 0; t < nr; t++)
                    memcpy(job->y + (r + t) * job->ldy + col0, tile + t * TC, nc * sizeof *tile);
            }
        }
    }
}

/* The few-rows path: y[r][c] = bias[c] + x[r] . W[c], the dot product in 16 lanes summed
 * pairwise (clattn__hsum16). */
CLATTN_CPU_HOT static void gemv_task(void *ctx, size_t task) {
    const linear_job *job = ctx;
    const size_t c_end = (task + 1) * GEMV_COLS < job->cols ? (task + 1) * GEMV_COLS : job->cols;
    for (size_t c = task * GEMV_COLS; c < c_end; c++) {
        const float *w = job->w + c * job->ldw;
        for (size_t r = 0; r < job->rows; r++) {
            const float *x = job->x + r * job->ldx;
            float lanes[16] = {0};
            size_t i = 0;
            for (; i + 16 <= job->k; i += 16)
                for (int l = 0; l < 16; l++)
                    lanes[l] += x[i + l] * w[i + l];
            for (int l = 0; i + (size_t)l < job->k; l++)
                lanes[l] += x[i + l] * w[i + l];
            const float dot = clattn__hsum16(lanes);
            job->y[r * job->ldy + c] = job->bias ? job->bias[c] + dot : dot;
        }
    }
}

clattn_status clattn__cpu_linear_strided(size_t rows, size_t cols, size_t k, const float *x,
                                         size_t ldx, const float *w, size_t ldw, const float *bias,
                                         float *y, size_t ldy) {
    linear_job job = {.rows = rows,
                      .cols = cols,
                      .k = k,
                      .ldx = ldx,
                      .ldw = ldw,
                      .ldy = ldy,
                      .x = x,
                      .w = w,
                      .bias = bias,
                      .y = y};
    if (rows < FEW_ROWS) {
        const double bytes = 4.0 * (double)cols * (double)k;
        clattn__cpu_parallel((cols + GEMV_COLS - 1) / GEMV_COLS, clattn__cpu_threads_for(bytes),
                             gemv_task, &job);
        return CLATTN_SUCCESS;
    }
    job.panels = (cols + TC - 1) / TC;
    job.row_blocks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
    job.panel_blocks = (job.panels + PANELS_PER_TASK - 1) / PANELS_PER_TASK;
    size_t count, tasks;
    if (!clattn__mul_size(job.panels * TC, k, &count) ||
        !clattn__mul_size(count, sizeof(float), &count) ||
        !clattn__mul_size(job.row_blocks, job.panel_blocks, &tasks))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "linear: sizes overflow size_t");
    job.packed = malloc(count);
    if (!job.packed) return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    const double flops = 2.0 * (double)rows * (double)cols * (double)k;
    clattn__cpu_parallel(job.panels, clattn__cpu_threads_for((double)cols * (double)k), pack_task,
                         &job);
    clattn__cpu_parallel(tasks, clattn__cpu_threads_for(flops), gemm_task, &job);
    free(job.packed);
    return CLATTN_SUCCESS;
}

clattn_status clattn_cpu_linear(size_t rows, size_t cols, size_t k, const float *x, const float *w,
                                const float *bias, float *y) {
    return clattn_cpu_linear_ex(rows, cols, k, x, w, bias, y, NULL);
}

/* 2-byte tensors as float32 copies (the blocked GEMM then reads float32 panels as before);
 * y rounded to its dtype at the end. */
clattn_status clattn_cpu_linear_ex(size_t rows, size_t cols, size_t k, const float *x,
                                   const float *w, const float *bias, float *y,
                                   const clattn_linear_dtypes *dtypes) {
    clattn_linear_dtypes d;
    clattn_status status = clattn__linear_dtypes_check(dtypes, &d);
    if (status) return status;
    if (!x || !w || !y) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "linear: NULL pointer");
    if (!rows || !cols || !k)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE, "linear: sizes must be > 0");
    size_t xn, wn, yn;
    if (!clattn__mul_size(rows, k, &xn) || !clattn__mul_size(cols, k, &wn) ||
        !clattn__mul_size(rows, cols, &yn) || !clattn__mul_size(xn, sizeof(float), &xn) ||
        !clattn__mul_size(wn, sizeof(float), &wn) || !clattn__mul_size(yn, sizeof(float), &yn))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "linear: sizes overflow size_t");
    if (clattn__linear_dtypes_all_f32(&d)) {
        status = clattn__cpu_linear_strided(rows, cols, k, x, k, w, k, bias, y, cols);
        if (!status) clattn__clear_error();
        return status;
    }
    clattn_linear_widened lw;
    if ((status = clattn__linear_widen(rows, cols, k, x, w, bias, y, &d, &lw))) return status;
    status = clattn__cpu_linear_strided(rows, cols, k, lw.x, k, lw.w, k, lw.bias, lw.y, cols);
    clattn__linear_narrow(&lw, !status);
    if (!status) clattn__clear_error();
    return status;
}
