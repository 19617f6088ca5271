/* The whole seed pipeline for a small problem in one launch (host/opencl/ops/query_small.c): one
 * work-group computes the scores, their normalisation statistics (a local-memory reduction),
 * the weights and the context vector. out holds scores [n], weights [n], context [d] (float32;
 * x, q and v stored as X_DTYPE, Q_DTYPE, V_DTYPE). */

/* norm is NORM_NONE, NORM_SUM or NORM_SOFTMAX (contract.h). */

__kernel void query_small(int norm, idx_t n, idx_t d, float scale, __global const X_ELEM *x,
                          __global const Q_ELEM *q, __global const V_ELEM *v, __global float *out,
                          __local float2 *scratch) {
    const uint lid = get_local_id(0), size = get_local_size(0);
    __global float *scores = out, *weights = out + n, *context = out + 2 * n;

    /* Scores, and each work-item's statistics of its own scores: (max, sum of exp) for
     * softmax (common.h), the plain sum in .y for SUM. */
    float2 st = (float2)(-INFINITY, 0.0f);
    for (idx_t j = lid; j < n; j += size) {
        float acc = 0.0f;
        for (idx_t k = 0; k < d; k++)
            acc = fma(load_as(X_DTYPE, x, j * d + k), load_as(Q_DTYPE, q, k), acc);
        const float s = scale * acc;
        scores[j] = s;
        st = norm == NORM_SOFTMAX ? clattn_stats_add(st, s) : (float2)(st.x, st.y + s);
    }

    /* Tree reduction of the statistics (the local size is a power of two). */
    scratch[lid] = st;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = size / 2; s > 0; s >>= 1) {
        if (lid < s) {
            const float2 a = scratch[lid], b = scratch[lid + s];
            scratch[lid] =
                norm == NORM_SOFTMAX ? clattn_stats_merge(a, b) : (float2)(a.x, a.y + b.y);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float2 total = scratch[0];

    /* Weights: each work-item rereads only the scores it wrote. */
    for (idx_t j = lid; j < n; j += size) {
        const float s = scores[j];
        float w = s;
        if (norm == NORM_SUM)
            w = s / total.y;
        else if (norm == NORM_SOFTMAX)
            w = total.x == -INFINITY ? (isnan(total.y) ? total.y : 0.0f)
                                     : exp(s - total.x) / total.y;
        weights[j] = w;
    }
    barrier(CLK_GLOBAL_MEM_FENCE); /* every weight written before any column sums them */

    for (idx_t c = lid; c < d; c += size) {
        float acc = 0.0f;
        for (idx_t j = 0; j < n; j++)
            acc = fma(weights[j], load_as(V_DTYPE, v, j * d + c), acc);
        context[c] = acc;
    }
}
