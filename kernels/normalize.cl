/* Normalisation of n scores: a two-level parallel reduction (per-work-group partial
 * statistics in local memory, then one work-group combines them) followed by an apply pass.
 * Statistics are float2 (max, sum): for NORM_SUM only .y (the plain sum) is used. */

/* norm is NORM_NONE, NORM_SUM or NORM_SOFTMAX (contract.h). */

static inline float2 stats_identity(void) {
    return (float2)(-INFINITY, 0.0f);
}

static inline float2 stats_add(int norm, float2 st, float x) {
    return norm == NORM_SOFTMAX ? clattn_stats_add(st, x) : (float2)(st.x, st.y + x);
}

static inline float2 stats_merge(int norm, float2 a, float2 b) {
    return norm == NORM_SOFTMAX ? clattn_stats_merge(a, b) : (float2)(a.x, a.y + b.y);
}

/* Tree reduction of one float2 per work-item; every work-item gets the result. The local
 * size must be a power of two. */
static inline float2 group_reduce(int norm, float2 mine, __local float2 *scratch) {
    const uint lid = get_local_id(0);
    scratch[lid] = mine;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] = stats_merge(norm, scratch[lid], scratch[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float2 total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE); /* scratch may be reused by the caller */
    return total;
}

static inline float apply_one(int norm, float x, float2 total) {
    if (norm == NORM_SUM) return x / total.y;
    if (norm == NORM_SOFTMAX) {
        /* Every score -inf: zeros (a fully masked row), unless a NaN was among them. */
        if (total.x == -INFINITY) return isnan(total.y) ? total.y : 0.0f;
        return exp(x - total.x) / total.y;
    }
    return x;
}

/* Level 1: work-group g reduces a grid-strided share of the scores to partials[g]. */
__kernel void norm_partials(int norm, idx_t n, __global const float *scores, idx_t s_off,
                            __global float2 *partials, __local float2 *scratch) {
    scores += s_off;
    float2 st = stats_identity();
    const idx_t stride = (idx_t)get_global_size(0);
    for (idx_t j = get_global_id(0); j < n; j += stride)
        st = stats_add(norm, st, scores[j]);
    st = group_reduce(norm, st, scratch);
    if (get_local_id(0) == 0) partials[get_group_id(0)] = st;
}

/* Level 2: one work-group combines the `groups` partials into partials[groups]. */
__kernel void norm_finish(int norm, uint groups, __global float2 *partials,
                          __local float2 *scratch) {
    float2 st = stats_identity();
    for (uint g = get_local_id(0); g < groups; g += get_local_size(0))
        st = stats_merge(norm, st, partials[g]);
    st = group_reduce(norm, st, scratch);
    if (get_local_id(0) == 0) partials[groups] = st;
}

/* Apply: weights[j] from scores[j] and the final statistics in partials[groups]. */
__kernel void norm_apply(int norm, idx_t n, __global const float *scores, idx_t s_off,
                         __global float *weights, idx_t w_off, __global const float2 *partials,
                         uint groups) {
    const idx_t j = get_global_id(0);
    if (j >= n) return;
    weights[w_off + j] = apply_one(norm, scores[s_off + j], partials[groups]);
}

/* Small n: one work-group reduces and applies in a single launch. */
__kernel void norm_small(int norm, idx_t n, __global const float *scores, idx_t s_off,
                         __global float *weights, idx_t w_off, __local float2 *scratch) {
    scores += s_off;
    float2 st = stats_identity();
    for (idx_t j = get_local_id(0); j < n; j += get_local_size(0))
        st = stats_add(norm, st, scores[j]);
    const float2 total = group_reduce(norm, st, scratch);
    for (idx_t j = get_local_id(0); j < n; j += get_local_size(0))
        weights[w_off + j] = apply_one(norm, scores[j], total);
}
