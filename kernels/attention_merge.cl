/* Split-KV merge: each of `splits` key chunks left, per query row, unnormalised partial
 * outputs (rows of `pstride` floats) and stats (base-2 running max m, sum l of exp2(s - m),
 * and the plain score sum for NORM_SUM). This rescales them to a common maximum, adds them
 * up and writes the final O row and LSE. One work-item per (row, batch * head). Attention
 * sinks (sinks non-NULL) join the merged row here, once.
 * Layouts as in attention.cl (slots named in contract.h): LAY_O of lay, LAY2_LSE of lay2.
 * O is stored as O_DTYPE (contract.h; the partials are float32). */
#define LN2 0.693147180559945309f

__kernel void attention_merge(idx_t M, uint dv, uint q_heads, uint splits, idx_t pstride, int norm,
                              ulong16 lay, ulong8 lay2, __global const float *part,
                              __global const float *stats, __global O_ELEM *o, __global float *lse,
                              __global const float *sinks) {
    const idx_t i = get_global_id(0);
    const uint bh = get_global_id(1);
    if (i >= M) return;
    const idx_t bhs = get_global_size(1);
    const uint b = bh / q_heads, h = bh % q_heads;

    float m = -INFINITY;
    for (uint s = 0; s < splits; s++)
        m = fmax(m, stats[((s * bhs + bh) * M + i) * 4]);
    const float m_use = m == -INFINITY ? 0.0f : m;
    float l = 0.0f, sum = 0.0f;
    for (uint s = 0; s < splits; s++) {
        __global const float *st = stats + ((s * bhs + bh) * M + i) * 4;
        l += st[1] * exp2(st[0] - m_use);
        sum += st[2];
    }
    const float f = sinks ? sink_fold(sinks[h], &m, &l) : 1.0f; /* the sink joins once, here */
    const bool empty = l == 0.0f;                               /* every key masked */
    const float denom = (norm == NORM_SUM ? sum : l) / f;
    __global O_ELEM *o_row = o + lay16_base(lay, LAY_O, b, h) + i * lay16_row(lay, LAY_O);
    for (uint c = 0; c < dv; c++) {
        float acc = 0.0f;
        for (uint s = 0; s < splits; s++) {
            const idx_t row = (s * bhs + bh) * M + i;
            const float w = norm == NORM_SUM ? 1.0f : exp2(stats[row * 4] - m_use);
            acc = fma(part[row * pstride + c], w, acc);
        }
        store_as(O_DTYPE, empty ? 0.0f : acc / denom, o_row, c);
    }
    if (lse)
        lse[lay8_base(lay2, LAY2_LSE, b, h) + i * lay8_row(lay2, LAY2_LSE)] =
            empty ? -INFINITY : (m + log2(l)) * LN2;
}
