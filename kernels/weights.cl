/* Materialised attention weights W[b, h, i, j] = norm(scale * q_i . k_j + mask), packed
 * [B, Hq, M, N]: a scores kernel (one per variant) writes the masked, scaled scores, then
 * one work-group per row normalises that row in place.
 * Layouts arrive as ulong4 (offset, batch stride, head stride, row stride), in elements. */

/* Norm, causal and mask values, WEIGHTS_TD and WEIGHTS_KEYS come from contract.h. */

/* Work-group edge of the GPU-shaped scores kernel (WEIGHTS_TILE^2 work-items) and the
 * chunk of the head dimension staged in local memory per step. */
#ifndef WEIGHTS_TILE
#error "weights.cl needs -DWEIGHTS_TILE (host/plan/plan_weights.c)"
#endif

/* The score of (i, j) from its dot product: masked entries are -inf whatever the dot
 * product is (so a NaN in a masked key stays out of the row). */
static inline float masked_score(float dot, float scale, idx_t i, idx_t j, idx_t m, idx_t n,
                                 int causal, int mask_kind, __global const uchar *mask,
                                 idx_t mask_row) {
    if (causal == CAUSAL_TOP_LEFT && j > i) return -INFINITY;
    if (causal == CAUSAL_BOTTOM_RIGHT && j + m > i + n) return -INFINITY;
    if (mask_kind == MASK_BOOLEAN && !mask[mask_row + j]) return -INFINITY;
    float s = scale * dot;
    if (mask_kind == MASK_ADDITIVE) {
        const float mv = ((__global const float *)mask)[mask_row + j];
        s = mv == -INFINITY ? -INFINITY : s + mv; /* -inf hides the key, even a NaN dot */
    }
    return s;
}

/* GPU shape: a WEIGHTS_TILE x WEIGHTS_TILE block of scores per work-group, Q and K tiles
 * staged through local memory in chunks of WEIGHTS_TD columns, one score per work-item.
 * Global size: (round_up(N), round_up(M), B * Hq). */
__kernel __attribute__((reqd_work_group_size(WEIGHTS_TILE, WEIGHTS_TILE, 1))) void
weights_scores_tiled(idx_t m, idx_t n, idx_t d, idx_t q_heads, idx_t group, float scale, int causal,
                     int mask_kind, __global const float *q, ulong4 ql, __global const float *k,
                     ulong4 kl, __global const uchar *mask, ulong4 ml, __global float *w) {
    __local float qt[WEIGHTS_TILE][WEIGHTS_TD + 1];
    __local float kt[WEIGHTS_TILE][WEIGHTS_TD + 1];
    const uint lx = get_local_id(0), ly = get_local_id(1);
    const idx_t j = get_global_id(0), i = get_global_id(1), bh = get_global_id(2);
    const idx_t b = bh / q_heads, h = bh % q_heads;
    const idx_t j0 = get_group_id(0) * WEIGHTS_TILE, i0 = get_group_id(1) * WEIGHTS_TILE;
    __global const float *qh = q + ql.s0 + b * ql.s1 + h * ql.s2;
    __global const float *kh = k + kl.s0 + b * kl.s1 + (h / group) * kl.s2;

    float acc = 0.0f;
    for (idx_t c0 = 0; c0 < d; c0 += WEIGHTS_TD) {
        for (uint t = ly * WEIGHTS_TILE + lx; t < WEIGHTS_TILE * WEIGHTS_TD;
             t += WEIGHTS_TILE * WEIGHTS_TILE) {
            const uint r = t / WEIGHTS_TD, c = t % WEIGHTS_TD;
            const idx_t col = c0 + c;
            const bool in_cols = col < d;
            /* Zero padding past the edges: it adds nothing to the in-range dot products. */
            qt[r][c] = in_cols && i0 + r < m ? qh[(i0 + r) * ql.s3 + col] : 0.0f;
            kt[r][c] = in_cols && j0 + r < n ? kh[(j0 + r) * kl.s3 + col] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (uint c = 0; c < WEIGHTS_TD; c++)
            acc = fma(qt[ly][c], kt[lx][c], acc);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (i < m && j < n) {
        const idx_t mask_row = ml.s0 + b * ml.s1 + h * ml.s2 + i * ml.s3;
        w[(bh * m + i) * n + j] =
            masked_score(acc, scale, i, j, m, n, causal, mask_kind, mask, mask_row);
    }
}

/* CPU shape: a work-item owns query row i and WEIGHTS_KEYS consecutive keys, one float16
 * accumulator per key, the query chunk loaded once for all of them; no barriers.
 * Global size: (round_up(ceil(N / WEIGHTS_KEYS)), M, B * Hq). */
__kernel void weights_scores_rows(idx_t m, idx_t n, idx_t d, idx_t q_heads, idx_t group,
                                  float scale, int causal, int mask_kind, __global const float *q,
                                  ulong4 ql, __global const float *k, ulong4 kl,
                                  __global const uchar *mask, ulong4 ml, __global float *w) {
    const idx_t j0 = (idx_t)get_global_id(0) * WEIGHTS_KEYS;
    if (j0 >= n) return;
    const idx_t i = get_global_id(1), bh = get_global_id(2);
    const idx_t b = bh / q_heads, h = bh % q_heads;
    __global const float *qi = q + ql.s0 + b * ql.s1 + h * ql.s2 + i * ql.s3;
    __global const float *kh = k + kl.s0 + b * kl.s1 + (h / group) * kl.s2;
    const idx_t count = min((idx_t)WEIGHTS_KEYS, n - j0);

    /* Keys past n repeat the last real key: loads stay in bounds, results are not stored. */
    __global const float *keys[WEIGHTS_KEYS];
    for (int r = 0; r < WEIGHTS_KEYS; r++)
        keys[r] = kh + (j0 + min((idx_t)r, count - 1)) * kl.s3;

    float16 acc[WEIGHTS_KEYS];
    for (int r = 0; r < WEIGHTS_KEYS; r++)
        acc[r] = (float16)(0.0f);
    idx_t c = 0;
    for (; c + 16 <= d; c += 16) {
        const float16 qv = vload16(0, qi + c);
        for (int r = 0; r < WEIGHTS_KEYS; r++)
            acc[r] = fma(vload16(0, keys[r] + c), qv, acc[r]);
    }
    float tail[WEIGHTS_KEYS];
    for (int r = 0; r < WEIGHTS_KEYS; r++)
        tail[r] = 0.0f;
    for (; c < d; c++) {
        const float qc = qi[c];
        for (int r = 0; r < WEIGHTS_KEYS; r++)
            tail[r] = fma(keys[r][c], qc, tail[r]);
    }
    const idx_t mask_row = ml.s0 + b * ml.s1 + h * ml.s2 + i * ml.s3;
    __global float *out = w + (bh * m + i) * n;
    for (int r = 0; r < WEIGHTS_KEYS; r++)
        if ((idx_t)r < count)
            out[j0 + r] = masked_score(clattn_hsum16(acc[r]) + tail[r], scale, i, j0 + r, m, n,
                                       causal, mask_kind, mask, mask_row);
}

/* Row statistics (max, sum) over the attended (not -inf) scores: softmax keeps the running
 * max and the sum of exp(s - max); SUM keeps the max only as an "any attended" flag and
 * the plain sum. A NaN makes the sum NaN (fmax ignores it), which then fills the row. */
static inline float2 row_add(int norm, float2 st, float x) {
    if (norm == NORM_SOFTMAX) return clattn_stats_add(st, x);
    if (x == -INFINITY) return st;
    return (float2)(fmax(st.x, x), st.y + x);
}

static inline float2 row_merge(int norm, float2 a, float2 b) {
    if (norm == NORM_SOFTMAX) return clattn_stats_merge(a, b);
    return (float2)(fmax(a.x, b.x), a.y + b.y);
}

static inline float row_apply(int norm, float x, float2 total) {
    if (isnan(total.y)) return total.y;
    if (total.x == -INFINITY || x == -INFINITY) return 0.0f; /* masked, or the whole row */
    return norm == NORM_SOFTMAX ? exp(x - total.x) / total.y : x / total.y;
}

/* One work-group (power-of-two size) per row of n scores, normalised in place: strided
 * partial statistics per work-item, a tree in local memory, then the apply pass. */
__kernel void weights_normalize_rows(int norm, idx_t n, __global float *w,
                                     __local float2 *scratch) {
    const uint lid = get_local_id(0), size = get_local_size(0);
    __global float *row = w + (idx_t)get_group_id(0) * n;
    float2 st = (float2)(-INFINITY, 0.0f);
    for (idx_t j = lid; j < n; j += size)
        st = row_add(norm, st, row[j]);
    scratch[lid] = st;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = size / 2; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] = row_merge(norm, scratch[lid], scratch[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float2 total = scratch[0];
    for (idx_t j = lid; j < n; j += size)
        row[j] = row_apply(norm, row[j], total);
}
