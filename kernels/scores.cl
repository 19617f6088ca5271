/* scores[j] = scale * dot(x_j, q) for the n rows of the n x d matrix x. */

#ifndef SCORES_ROWS
#define SCORES_ROWS 8
#endif

/* CPU shape: each work-item owns SCORES_ROWS consecutive rows, with float16 loads and one
 * accumulator per row, and loads each chunk of the query once for all of them. No barriers,
 * so the accumulators stay in registers. */
__kernel void scores_rows(idx_t n, idx_t d, float scale, __global const float *x, idx_t x_off,
                          __global const float *q, idx_t q_off, __global float *out,
                          idx_t out_off)
{
    const idx_t row0 = (idx_t)get_global_id(0) * SCORES_ROWS;
    if (row0 >= n) return;
    x += x_off;
    q += q_off;
    out += out_off;
    const idx_t count = min((idx_t)SCORES_ROWS, n - row0);

    /* Rows past n repeat the last real row: loads stay in bounds, results are not stored. */
    __global const float *rows[SCORES_ROWS];
    for (int r = 0; r < SCORES_ROWS; r++)
        rows[r] = x + (row0 + min((idx_t)r, count - 1)) * d;

    float16 acc[SCORES_ROWS];
    for (int r = 0; r < SCORES_ROWS; r++) acc[r] = (float16)(0.0f);
    idx_t k = 0;
    for (; k + 16 <= d; k += 16) {
        const float16 qv = vload16(0, q + k);
        for (int r = 0; r < SCORES_ROWS; r++) acc[r] = fma(vload16(0, rows[r] + k), qv, acc[r]);
    }
    float tail[SCORES_ROWS];
    for (int r = 0; r < SCORES_ROWS; r++) tail[r] = 0.0f;
    for (; k < d; k++) {
        const float qk = q[k];
        for (int r = 0; r < SCORES_ROWS; r++) tail[r] = fma(rows[r][k], qk, tail[r]);
    }
    for (int r = 0; r < SCORES_ROWS; r++)
        if ((idx_t)r < count) out[row0 + r] = scale * (clattn_hsum16(acc[r]) + tail[r]);
}

/* GPU shape: `lanes` work-items share a row (coalesced loads along the row), a work-group
 * holds local_size / lanes rows, and the lanes' partial sums meet in a local-memory tree. */
__kernel void scores_lanes(idx_t n, idx_t d, float scale, __global const float *x, idx_t x_off,
                           __global const float *q, idx_t q_off, __global float *out,
                           idx_t out_off, uint lanes, __local float *partial)
{
    const uint lid = get_local_id(0);
    const uint lane = lid % lanes;
    const idx_t row = (idx_t)get_group_id(0) * (get_local_size(0) / lanes) + lid / lanes;
    x += x_off;
    q += q_off;

    float acc = 0.0f;
    if (row < n) {
        __global const float *xr = x + row * d;
        for (idx_t k = lane; k < d; k += lanes) acc = fma(xr[k], q[k], acc);
    }
    partial[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = lanes / 2; s > 0; s >>= 1) {
        if (lane < s) partial[lid] += partial[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lane == 0 && row < n) out[out_off + row] = scale * partial[lid];
}
