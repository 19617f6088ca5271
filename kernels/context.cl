/* context[c] = sum_j weights[j] * v[j][c]: a reduction over the n rows of v, done in
 * row blocks (partials[g][c] for block g) and then summed over the blocks. v is stored as
 * V_DTYPE (common.h), widened on load; weights, partials and context are float32. */

/* GPU shape: a work-group is a (cols x row_lanes) tile; the row lanes of one column sum in
 * local memory. local_size(1) must be a power of two. */
__kernel void context_partials(idx_t n, idx_t d, __global const float *w, idx_t w_off,
                               __global const V_ELEM *v, idx_t v_off, idx_t rows_per_group,
                               __global float *partials, __local float *scratch) {
    const idx_t c = get_global_id(0);
    const uint lc = get_local_id(0), lr = get_local_id(1);
    const uint cols = get_local_size(0), row_lanes = get_local_size(1);
    const idx_t g = get_group_id(1);
    const idx_t begin = g * rows_per_group;
    const idx_t end = min(n, begin + rows_per_group);
    w += w_off;
    v += v_off;

    float acc = 0.0f;
    if (c < d)
        for (idx_t j = begin + lr; j < end; j += row_lanes)
            acc = fma(w[j], load_as(V_DTYPE, v, j * d + c), acc);
    scratch[lr * cols + lc] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = row_lanes / 2; s > 0; s >>= 1) {
        if (lr < s) scratch[lr * cols + lc] += scratch[(lr + s) * cols + lc];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lr == 0 && c < d) partials[g * d + c] = scratch[lc];
}

/* CPU shape: each work-item owns CONTEXT_VEC_COLS (16) columns of one row block, float16
 * loads, no barriers. */
#if CONTEXT_VEC_COLS != 16
#error "context_partials_vec is written for float16 columns"
#endif
__kernel void context_partials_vec(idx_t n, idx_t d, __global const float *w, idx_t w_off,
                                   __global const V_ELEM *v, idx_t v_off, idx_t rows_per_group,
                                   __global float *partials) {
    const idx_t c0 = (idx_t)get_global_id(0) * CONTEXT_VEC_COLS;
    const idx_t g = get_global_id(1);
    if (c0 >= d) return;
    const idx_t begin = g * rows_per_group;
    const idx_t end = min(n, begin + rows_per_group);
    w += w_off;
    v += v_off;
    __global float *out = partials + g * d + c0;
    if (c0 + 16 <= d) {
        float16 acc = (float16)(0.0f);
        for (idx_t j = begin; j < end; j++)
            acc = fma((float16)(w[j]), load16_as(V_DTYPE, v, j * d + c0), acc);
        vstore16(acc, 0, out);
    } else {
        const idx_t width = d - c0;
        float acc[16];
        for (int i = 0; i < 16; i++)
            acc[i] = 0.0f;
        for (idx_t j = begin; j < end; j++)
            for (idx_t i = 0; i < width; i++)
                acc[i] = fma(w[j], load_as(V_DTYPE, v, j * d + c0 + i), acc[i]);
        for (idx_t i = 0; i < width; i++)
            out[i] = acc[i];
    }
}

/* Sums the `groups` row-block partials of each column. */
__kernel void context_finish(idx_t d, uint groups, __global const float *partials,
                             __global float *context, idx_t c_off) {
    const idx_t c = get_global_id(0);
    if (c >= d) return;
    float acc = 0.0f;
    for (uint g = 0; g < groups; g++)
        acc += partials[g * d + c];
    context[c_off + c] = acc;
}
