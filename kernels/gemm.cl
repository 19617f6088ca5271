/* y = x W^T + bias, the linear layer: x [rows, k] (row stride ldx), W [cols, k] (row stride
 * ldw), bias [cols] (optional), y [rows, cols] (row stride ldy). Both operands are read
 * along k, so every output is a dot product of two contiguous rows. */

/* GPU shape: a GEMM_TILE x GEMM_TILE block of y per work-group of GEMM_WG x GEMM_WG
 * work-items; each work-item keeps a GEMM_BLOCK x GEMM_BLOCK register block (rows
 * ly + a * GEMM_WG, columns lx + b * GEMM_WG, so neighbouring work-items store neighbouring
 * columns). x and W tiles of GEMM_KT columns of k are staged in local memory, stored
 * k-major with one float of padding so that the transposing writes avoid bank conflicts. */
#ifndef GEMM_WG
#define GEMM_WG 16
#endif
#define GEMM_BLOCK 4
#define GEMM_TILE (GEMM_WG * GEMM_BLOCK)
#define GEMM_KT 16

__kernel __attribute__((reqd_work_group_size(GEMM_WG, GEMM_WG, 1))) void
gemm_tiled(idx_t rows, idx_t cols, idx_t k, __global const float *x, idx_t x_off, idx_t ldx,
           __global const float *w, idx_t w_off, idx_t ldw, __global const float *bias,
           idx_t b_off, int has_bias, __global float *y, idx_t y_off, idx_t ldy)
{
    __local float xs[GEMM_KT][GEMM_TILE + 1];
    __local float ws[GEMM_KT][GEMM_TILE + 1];
    const uint lx = get_local_id(0), ly = get_local_id(1);
    const idx_t c0 = (idx_t)get_group_id(0) * GEMM_TILE, r0 = (idx_t)get_group_id(1) * GEMM_TILE;
    x += x_off;
    w += w_off;

    float acc[GEMM_BLOCK][GEMM_BLOCK];
    for (int a = 0; a < GEMM_BLOCK; a++)
        for (int b = 0; b < GEMM_BLOCK; b++) acc[a][b] = 0.0f;

    for (idx_t k0 = 0; k0 < k; k0 += GEMM_KT) {
        /* Consecutive work-items read consecutive k of a row; out of range reads as 0. */
        for (uint t = ly * GEMM_WG + lx; t < GEMM_TILE * GEMM_KT; t += GEMM_WG * GEMM_WG) {
            const uint rr = t / GEMM_KT, kk = t % GEMM_KT;
            const idx_t kc = k0 + kk;
            xs[kk][rr] = kc < k && r0 + rr < rows ? x[(r0 + rr) * ldx + kc] : 0.0f;
            ws[kk][rr] = kc < k && c0 + rr < cols ? w[(c0 + rr) * ldw + kc] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (uint kk = 0; kk < GEMM_KT; kk++) {
            float xa[GEMM_BLOCK], wb[GEMM_BLOCK];
            for (int a = 0; a < GEMM_BLOCK; a++) xa[a] = xs[kk][ly + a * GEMM_WG];
            for (int b = 0; b < GEMM_BLOCK; b++) wb[b] = ws[kk][lx + b * GEMM_WG];
            for (int a = 0; a < GEMM_BLOCK; a++)
                for (int b = 0; b < GEMM_BLOCK; b++) acc[a][b] = fma(xa[a], wb[b], acc[a][b]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int a = 0; a < GEMM_BLOCK; a++) {
        const idx_t r = r0 + ly + a * GEMM_WG;
        if (r >= rows) continue;
        for (int b = 0; b < GEMM_BLOCK; b++) {
            const idx_t c = c0 + lx + b * GEMM_WG;
            if (c < cols) y[y_off + r * ldy + c] = acc[a][b] + (has_bias ? bias[b_off + c] : 0.0f);
        }
    }
}

/* CPU shape: a work-item owns a GEMM_RB x GEMM_CB block of y and keeps one float16
 * accumulator per output along k (16 independent FMA chains, each x and W vector loaded
 * once per step and reused 4 times), summed across lanes at the end. No barriers, so the
 * accumulators stay in registers. Work-item id -> (row block, column block), column blocks
 * fastest, so the x rows of a block stay in cache while W streams past. */
#define GEMM_RB 4
#define GEMM_CB 4

__kernel void gemm_blocked(idx_t rows, idx_t cols, idx_t k, __global const float *x,
                           idx_t x_off, idx_t ldx, __global const float *w, idx_t w_off,
                           idx_t ldw, __global const float *bias, idx_t b_off, int has_bias,
                           __global float *y, idx_t y_off, idx_t ldy)
{
    const idx_t col_blocks = (cols + GEMM_CB - 1) / GEMM_CB;
    const idx_t id = get_global_id(0);
    const idx_t r0 = id / col_blocks * GEMM_RB, c0 = id % col_blocks * GEMM_CB;
    if (r0 >= rows) return;
    /* Rows and columns past the edge repeat the last real one: loads stay in bounds and
     * their results are not stored. */
    __global const float *xr[GEMM_RB], *wr[GEMM_CB];
    for (int a = 0; a < GEMM_RB; a++) xr[a] = x + x_off + min(r0 + a, rows - 1) * ldx;
    for (int b = 0; b < GEMM_CB; b++) wr[b] = w + w_off + min(c0 + b, cols - 1) * ldw;

    float16 acc[GEMM_RB][GEMM_CB];
    for (int a = 0; a < GEMM_RB; a++)
        for (int b = 0; b < GEMM_CB; b++) acc[a][b] = (float16)(0.0f);
    idx_t kk = 0;
    for (; kk + 16 <= k; kk += 16) {
        float16 xv[GEMM_RB], wv[GEMM_CB];
        for (int a = 0; a < GEMM_RB; a++) xv[a] = vload16(0, xr[a] + kk);
        for (int b = 0; b < GEMM_CB; b++) wv[b] = vload16(0, wr[b] + kk);
        for (int a = 0; a < GEMM_RB; a++)
            for (int b = 0; b < GEMM_CB; b++) acc[a][b] = fma(xv[a], wv[b], acc[a][b]);
    }
    float sum[GEMM_RB][GEMM_CB];
    for (int a = 0; a < GEMM_RB; a++)
        for (int b = 0; b < GEMM_CB; b++) sum[a][b] = clattn_hsum16(acc[a][b]);
    for (; kk < k; kk++)
        for (int a = 0; a < GEMM_RB; a++)
            for (int b = 0; b < GEMM_CB; b++) sum[a][b] = fma(xr[a][kk], wr[b][kk], sum[a][b]);
    for (int a = 0; a < GEMM_RB; a++) {
        if (r0 + a >= rows) break;
        for (int b = 0; b < GEMM_CB; b++) {
            const idx_t c = c0 + b;
            if (c < cols) y[y_off + (r0 + a) * ldy + c] = sum[a][b] + (has_bias ? bias[b_off + c] : 0.0f);
        }
    }
}
