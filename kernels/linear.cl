/* y = x W^T + bias, the linear layer: x [rows, k] (row stride ldx), W [cols, k] (row stride
 * ldw), bias [cols] (optional), y [rows, cols] (row stride ldy). Both operands are read
 * along k, so every output is a dot product of two contiguous rows. Each tensor is stored as
 * GEMM_X_DTYPE ... GEMM_Y_DTYPE (contract.h; common.h's load_as/store_as): elements are
 * widened to float where they are read (into the local tiles, the packed W^T, the x
 * broadcasts), the arithmetic is float, and y is rounded once when stored. */
#define GEMM_X_ELEM ELEM(GEMM_X_DTYPE)
#define GEMM_W_ELEM ELEM(GEMM_W_DTYPE)
#define GEMM_B_ELEM ELEM(GEMM_B_DTYPE)
#define GEMM_Y_ELEM ELEM(GEMM_Y_DTYPE)

/* GPU shape: a GEMM_TILE x GEMM_TILE block of y per work-group of GEMM_WG x GEMM_WG
 * work-items; each work-item keeps a GEMM_BLOCK x GEMM_BLOCK register block (rows
 * ly + a * GEMM_WG, columns lx + b * GEMM_WG, so neighbouring work-items store neighbouring
 * columns). x and W tiles of GEMM_KT columns of k are staged in local memory, stored
 * k-major with one float of padding so that the transposing writes avoid bank conflicts. */
#ifndef GEMM_WG
#error "linear.cl needs -DGEMM_WG (host/plan/plan_linear.c)"
#endif
/* GEMM_BLOCK, GEMM_KT, GEMM_CPU_ROWS and GEMM_CPU_COLS come from contract.h. */
#define GEMM_TILE (GEMM_WG * GEMM_BLOCK)

__kernel __attribute__((reqd_work_group_size(GEMM_WG, GEMM_WG, 1))) void
gemm_tiled(idx_t rows, idx_t cols, idx_t k, __global const GEMM_X_ELEM *x, idx_t x_off, idx_t ldx,
           __global const GEMM_W_ELEM *w, idx_t w_off, idx_t ldw, __global const GEMM_B_ELEM *bias,
           idx_t b_off, int has_bias, __global GEMM_Y_ELEM *y, idx_t y_off, idx_t ldy) {
    __local float xs[GEMM_KT][GEMM_TILE + 1];
    __local float ws[GEMM_KT][GEMM_TILE + 1];
    const uint lx = get_local_id(0), ly = get_local_id(1);
    const idx_t c0 = (idx_t)get_group_id(0) * GEMM_TILE, r0 = (idx_t)get_group_id(1) * GEMM_TILE;
    x += x_off;
    w += w_off;

    float acc[GEMM_BLOCK][GEMM_BLOCK];
    for (int a = 0; a < GEMM_BLOCK; a++)
        for (int b = 0; b < GEMM_BLOCK; b++)
            acc[a][b] = 0.0f;

    for (idx_t k0 = 0; k0 < k; k0 += GEMM_KT) {
        /* Consecutive work-items read consecutive k of a row; out of range reads as 0. */
        for (uint t = ly * GEMM_WG + lx; t < GEMM_TILE * GEMM_KT; t += GEMM_WG * GEMM_WG) {
            const uint rr = t / GEMM_KT, kk = t % GEMM_KT;
            const idx_t kc = k0 + kk;
            xs[kk][rr] =
                kc < k && r0 + rr < rows ? load_as(GEMM_X_DTYPE, x, (r0 + rr) * ldx + kc) : 0.0f;
            ws[kk][rr] =
                kc < k && c0 + rr < cols ? load_as(GEMM_W_DTYPE, w, (c0 + rr) * ldw + kc) : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (uint kk = 0; kk < GEMM_KT; kk++) {
            float xa[GEMM_BLOCK], wb[GEMM_BLOCK];
            for (int a = 0; a < GEMM_BLOCK; a++)
                xa[a] = xs[kk][ly + a * GEMM_WG];
            for (int b = 0; b < GEMM_BLOCK; b++)
                wb[b] = ws[kk][lx + b * GEMM_WG];
            for (int a = 0; a < GEMM_BLOCK; a++)
                for (int b = 0; b < GEMM_BLOCK; b++)
                    acc[a][b] = fma(xa[a], wb[b], acc[a][b]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int a = 0; a < GEMM_BLOCK; a++) {
        const idx_t r = r0 + ly + a * GEMM_WG;
        if (r >= rows) continue;
        for (int b = 0; b < GEMM_BLOCK; b++) {
            const idx_t c = c0 + lx + b * GEMM_WG;
            if (c < cols)
                store_as(GEMM_Y_DTYPE,
                         acc[a][b] + (has_bias ? load_as(GEMM_B_DTYPE, bias, b_off + c) : 0.0f), y,
                         y_off + r * ldy + c);
        }
    }
}

/* CPU shape, in two kernels. W is first packed transposed, Wt [k, cols_padded] with the
 * columns padded with zeros to a multiple of GEMM_CPU_COLS (so vector loads need no edge
 * checks). Then a work-item owns GEMM_CPU_ROWS rows x GEMM_CPU_COLS columns of y in
 * float16 accumulators (2 x 8 = 16 independent FMA chains) and for each k multiplies the
 * broadcast x[r][k] by two float16 of Wt. No barriers, so the accumulators stay in
 * registers. Work-item id -> (row block, column block) with row blocks fastest, so the
 * k x GEMM_CPU_COLS panel of Wt that a run of work-items shares stays in cache while x
 * streams past. */

/* Global size: (k, cols_padded). */
__kernel void gemm_pack_wt(idx_t cols, idx_t cols_padded, __global const GEMM_W_ELEM *w,
                           idx_t w_off, idx_t ldw, __global float *wt) {
    const idx_t kk = get_global_id(0), c = get_global_id(1);
    wt[kk * cols_padded + c] = c < cols ? load_as(GEMM_W_DTYPE, w, w_off + c * ldw + kk) : 0.0f;
}

/* Global size: round_up(row_blocks * col_blocks, local). */
__kernel void gemm_bcast(idx_t rows, idx_t cols, idx_t k, __global const GEMM_X_ELEM *x,
                         idx_t x_off, idx_t ldx, __global const float *wt, idx_t cols_padded,
                         __global const GEMM_B_ELEM *bias, idx_t b_off, int has_bias,
                         __global GEMM_Y_ELEM *y, idx_t y_off, idx_t ldy) {
    const idx_t row_blocks = (rows + GEMM_CPU_ROWS - 1) / GEMM_CPU_ROWS;
    const idx_t id = get_global_id(0);
    const idx_t r0 = id % row_blocks * GEMM_CPU_ROWS, c0 = id / row_blocks * GEMM_CPU_COLS;
    if (c0 >= cols) return;
    /* Rows past the edge repeat the last real one: loads stay in bounds, nothing stored. */
    __global const GEMM_X_ELEM *xr[GEMM_CPU_ROWS];
    for (int a = 0; a < GEMM_CPU_ROWS; a++)
        xr[a] = x + x_off + min(r0 + a, rows - 1) * ldx;
    __global const float *wp = wt + c0;

    float16 lo[GEMM_CPU_ROWS], hi[GEMM_CPU_ROWS];
    for (int a = 0; a < GEMM_CPU_ROWS; a++)
        lo[a] = hi[a] = (float16)(0.0f);
    idx_t kk = 0;
    /* Four steps of k per iteration: x read as float4, Wt as 8 float16. */
    for (; kk + 4 <= k; kk += 4, wp += 4 * cols_padded) {
        float16 w0[4], w1[4];
        for (int s = 0; s < 4; s++) {
            w0[s] = vload16(0, wp + s * cols_padded);
            w1[s] = vload16(1, wp + s * cols_padded);
        }
        for (int a = 0; a < GEMM_CPU_ROWS; a++) {
            const float4 xs = load4_as(GEMM_X_DTYPE, xr[a], kk);
            lo[a] = fma((float16)(xs.s0), w0[0], lo[a]);
            hi[a] = fma((float16)(xs.s0), w1[0], hi[a]);
            lo[a] = fma((float16)(xs.s1), w0[1], lo[a]);
            hi[a] = fma((float16)(xs.s1), w1[1], hi[a]);
            lo[a] = fma((float16)(xs.s2), w0[2], lo[a]);
            hi[a] = fma((float16)(xs.s2), w1[2], hi[a]);
            lo[a] = fma((float16)(xs.s3), w0[3], lo[a]);
            hi[a] = fma((float16)(xs.s3), w1[3], hi[a]);
        }
    }
    for (; kk < k; kk++, wp += cols_padded) {
        const float16 w0 = vload16(0, wp), w1 = vload16(1, wp);
        for (int a = 0; a < GEMM_CPU_ROWS; a++) {
            const float xs = load_as(GEMM_X_DTYPE, xr[a], kk);
            lo[a] = fma((float16)(xs), w0, lo[a]);
            hi[a] = fma((float16)(xs), w1, hi[a]);
        }
    }
    const bool full = c0 + GEMM_CPU_COLS <= cols;
    float16 b0 = (float16)(0.0f), b1 = (float16)(0.0f);
    if (has_bias && full) {
        b0 = load16_as(GEMM_B_DTYPE, bias, b_off + c0);
        b1 = load16_as(GEMM_B_DTYPE, bias, b_off + c0 + 16);
    }
    for (int a = 0; a < GEMM_CPU_ROWS; a++) {
        if (r0 + a >= rows) break;
        __global GEMM_Y_ELEM *yr = y + y_off + (r0 + a) * ldy + c0;
        if (full && GEMM_Y_DTYPE == DTYPE_F32) {
            vstore16(lo[a] + b0, 0, (__global float *)yr);
            vstore16(hi[a] + b1, 1, (__global float *)yr);
            continue;
        }
        /* An edge block (bias per element), or a 2-byte y (rounded per element). */
        float out[GEMM_CPU_COLS];
        vstore16(lo[a] + b0, 0, out);
        vstore16(hi[a] + b1, 1, out);
        for (int c = 0; c < GEMM_CPU_COLS && c0 + c < cols; c++)
            store_as(GEMM_Y_DTYPE,
                     out[c] +
                         (has_bias && !full ? load_as(GEMM_B_DTYPE, bias, b_off + c0 + c) : 0.0f),
                     yr, c);
    }
}
