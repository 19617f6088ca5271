/* Device probes: achievable global-memory read bandwidth and float FMA throughput. */

/* Streaming read of n16 float16. CPU shape (contiguous): each work-item reads a contiguous
 * run of `per_item` vectors, so a core streams through memory. GPU shape (strided): vector i
 * of work-item w is at w + i * global_size, so neighbouring work-items read neighbouring
 * addresses (coalesced). The sum is written so the loads cannot be optimised away. */
__kernel void probe_read(__global const float16 *a, idx_t n16, uint per_item, int strided,
                         __global float *out) {
    const idx_t gid = get_global_id(0), gsize = get_global_size(0);
    float16 acc = (float16)(0.0f);
    if (strided) {
        for (idx_t i = gid; i < n16; i += gsize)
            acc += a[i];
    } else {
        const idx_t begin = gid * per_item;
        const idx_t end = min(n16, begin + per_item);
        for (idx_t i = begin; i < end; i++)
            acc += a[i];
    }
    out[gid] = clattn_hsum16(acc);
}

/* 8 independent float16 FMA chains per work-item, `iterations` steps each: 256 flops per
 * step. The values stay finite (|b| < 1). */
__kernel void probe_fma(uint iterations, float bs, __global float *out) {
    const float16 b = (float16)(bs);
    const float seed = (float)get_global_id(0) * 1e-6f;
    float16 c = (float16)(0.5f);
    float16 a0 = (float16)(seed), a1 = a0 + 0.1f, a2 = a0 + 0.2f, a3 = a0 + 0.3f;
    float16 a4 = a0 + 0.4f, a5 = a0 + 0.5f, a6 = a0 + 0.6f, a7 = a0 + 0.7f;
    for (uint i = 0; i < iterations; i++) {
        a0 = fma(a0, b, c);
        a1 = fma(a1, b, c);
        a2 = fma(a2, b, c);
        a3 = fma(a3, b, c);
        a4 = fma(a4, b, c);
        a5 = fma(a5, b, c);
        a6 = fma(a6, b, c);
        a7 = fma(a7, b, c);
    }
    out[get_global_id(0)] = clattn_hsum16(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)));
}
