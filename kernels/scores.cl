/* scores[j] = scale * dot(x_j, q) for the n rows of the n x d matrix x; x and q stored as
 * X_DTYPE and Q_DTYPE (common.h), widened on load; scores float32. */

/* Rows per work-item of scores_rows: the host sizes its grid from the same value. */
#ifndef SCORES_ROWS
#error "scores.cl needs -DSCORES_ROWS (host/plan/plan_scores.c)"
#endif

/* CPU shape: each work-item owns SCORES_ROWS consecutive rows and reads them one after the
 * other, so its loads are one sequential stream (the hardware prefetcher's best case), with
 * float16 loads and two independent accumulators per row (the query chunk comes from L1).
 * No barriers, so the accumulators stay in registers. Measured on PoCL (2 cores, other load
 * present): 0.90-0.98 of a streaming-read kernel at 262144 x 768, where 8 rows read side by
 * side (8 interleaved 3 KB streams per work-item) reached 0.62-0.72. */
__kernel void scores_rows(idx_t n, idx_t d, float scale, __global const X_ELEM *x, idx_t x_off,
                          __global const Q_ELEM *q, idx_t q_off, __global float *out,
                          idx_t out_off) {
    const idx_t row0 = (idx_t)get_global_id(0) * SCORES_ROWS;
    if (row0 >= n) return;
    x += x_off;
    q += q_off;
    out += out_off;
    const idx_t end = min(n, row0 + SCORES_ROWS);
    for (idx_t row = row0; row < end; row++) {
        __global const X_ELEM *xr = x + row * d;
        float16 a0 = (float16)(0.0f), a1 = (float16)(0.0f);
        idx_t k = 0;
        for (; k + 32 <= d; k += 32) {
            a0 = fma(load16_as(X_DTYPE, xr, k), load16_as(Q_DTYPE, q, k), a0);
            a1 = fma(load16_as(X_DTYPE, xr, k + 16), load16_as(Q_DTYPE, q, k + 16), a1);
        }
        if (k + 16 <= d) {
            a0 = fma(load16_as(X_DTYPE, xr, k), load16_as(Q_DTYPE, q, k), a0);
            k += 16;
        }
        float t = 0.0f;
        for (; k < d; k++)
            t = fma(load_as(X_DTYPE, xr, k), load_as(Q_DTYPE, q, k), t);
        out[row] = scale * (clattn_hsum16(a0 + a1) + t);
    }
}

/* GPU shape: `lanes` work-items share a row (coalesced loads along the row), a work-group
 * holds local_size / lanes rows, and the lanes' partial sums meet in a local-memory tree. */
__kernel void scores_lanes(idx_t n, idx_t d, float scale, __global const X_ELEM *x, idx_t x_off,
                           __global const Q_ELEM *q, idx_t q_off, __global float *out,
                           idx_t out_off, uint lanes, __local float *partial) {
    const uint lid = get_local_id(0);
    const uint lane = lid % lanes;
    const idx_t row = (idx_t)get_group_id(0) * (get_local_size(0) / lanes) + lid / lanes;
    x += x_off;
    q += q_off;

    float acc = 0.0f;
    if (row < n) {
        __global const X_ELEM *xr = x + row * d;
        for (idx_t k = lane; k < d; k += lanes)
            acc = fma(load_as(X_DTYPE, xr, k), load_as(Q_DTYPE, q, k), acc);
    }
    partial[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = lanes / 2; s > 0; s >>= 1) {
        if (lane < s) partial[lid] += partial[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lane == 0 && row < n) out[out_off + row] = scale * partial[lid];
}
