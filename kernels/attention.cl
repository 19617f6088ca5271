/* Fused attention: O = norm(scale * Q K^T + mask) V, never storing the M x N matrix.
 *
 * Compile-time: HEAD_D and HEAD_DV (head dims padded to a multiple of 16; the CPU shape pads
 * Dv to whole chunks of VC float16), NORM (NORM_SOFTMAX or NORM_SUM, the seed's sum normalisation;
 * values in contract.h), and the CPU tile sizes (ROWS, TILES, KV, VC, DIRECT), chosen by
 * host/plan/plan_attention.c. The GPU shape is kernels/attention_gpu.cl.
 *
 * Scores are kept in base 2: q is pre-multiplied by scale * log2(e) and additive masks by
 * log2(e), so that the online softmax uses exp2. A masked score is -inf. The running maximum
 * m starts at -inf; while it is -inf, 0 stands in for it (exp2(-inf - 0) = 0), so a fully
 * masked row ends with l = 0 and is written as zeros instead of 0 / 0.
 *
 * Layouts arrive as two vectors of element offsets and strides, their slots named in
 * contract.h: lay (ulong16) = Q, K, V, O and lay2 (ulong8) = mask, LSE, each {offset, batch
 * stride, head stride, row stride}; read with lay16_base/lay16_row and lay8_base/lay8_row.
 * With split-KV (more than one chunk of keys) each split writes unnormalised partials into
 * `part` (rows of HEAD_DV values) and `stats` (m, l, sum per row), merged by
 * attention_merge.cl.
 */
#define LOG2E 1.44269504088896341f
#define LN2   0.693147180559945309f

#if !defined(HEAD_D) || !defined(HEAD_DV) || !defined(NORM)
#error "attention.cl needs -DHEAD_D -DHEAD_DV -DNORM (host/plan/plan_attention.c)"
#endif

/* The additive mask value (in base 2, stored as MASK_DTYPE) or -inf/0 for a boolean mask, of
 * element (i, j). */
static inline float mask_value(__global const uchar *mask, int kind, idx_t base, idx_t j) {
    if (kind == MASK_ADDITIVE) return load_as(MASK_DTYPE, mask, base + j) * LOG2E;
    return mask[base + j] ? 0.0f : -INFINITY;
}

/* Writes one row's result: the final O (stored as O_DTYPE) and LSE row, or (split-KV) its
 * float32 partials. */
static inline void store_row(__private const float *acc, float m, float l, float sum, idx_t dv,
                             __global O_ELEM *o_row, __global float *lse_row,
                             __global float *part_row, __global float *stats_row,
                             __global const float *sink) {
    if (part_row) {
        for (idx_t c = 0; c < dv; c++)
            part_row[c] = acc[c];
        stats_row[0] = m;
        stats_row[1] = l;
        stats_row[2] = sum;
        return;
    }
    const float f = sink ? sink_fold(*sink, &m, &l) : 1.0f; /* the sink joins once */
    const bool empty = l == 0.0f;                           /* every key masked */
    const float denom = NORM == NORM_SUM ? sum : l;
    for (idx_t c = 0; c < dv; c++)
        store_as(O_DTYPE, empty ? 0.0f : acc[c] * f / denom, o_row, c);
    if (lse_row) *lse_row = empty ? -INFINITY : (m + log2(l)) * LN2;
}

#if CLATTN_CPU
/* ---------------------------------------------------------------------------------------
 * CPU shape. K and V are first repacked (attention_pack_kv) so that a block of KB keys is
 * one contiguous [HEAD_D][KB] slab of K (keys on the lanes of float16 vectors) and
 * [KB][HEAD_DV] of V. One work-item per work-group owns TILES register tiles of ROWS query
 * rows; it walks the key blocks once and applies each block to all its tiles while the block
 * is in cache. No barriers: PoCL keeps the float16 accumulators in registers. Loops over
 * rows and vectors are unrolled (#pragma unroll) so that the accumulators are registers.
 * ------------------------------------------------------------------------------------- */
#if !defined(ROWS) || !defined(TILES) || !defined(KV) || !defined(VC) || !defined(DIRECT) ||       \
    !defined(HEADS)
#error "attention.cl (CPU shape) needs -DROWS -DTILES -DKV -DVC -DDIRECT -DHEADS"
#endif
/* HEADS query heads sharing one K/V head (grouped-query attention) are the rows of one
 * work-group, so a pass over K and V serves them all (decoding): work-group row y is query
 * row ROW_I(y) of head h0 + ROW_H(y). */
#if HEADS == 1
#define ROW_I(y) (y)
#define ROW_H(y) 0u
#else
#define ROW_I(y) ((y) % M)
#define ROW_H(y) ((uint)((y) / M))
#endif
/* The smallest and largest query row among work-group rows y0 .. y1. */
#define ROWS_I_LO(y0, y1) (ROW_H(y0) == ROW_H(y1) ? ROW_I(y0) : 0)
#define ROWS_I_HI(y0, y1) (ROW_H(y0) == ROW_H(y1) ? ROW_I(y1) : M - 1)
/* A key block: KV float16 vectors of keys. The P V product works on VC float16 chunks of
 * the output row at a time. */
/* DIRECT: read K and V where the caller put them, without the repacking (for a few query
 * rows, where the packing would cost more than the attention; needs D and Dv multiples of
 * 16 so that rows are whole float16 vectors). */
#define KB         (16 * KV)
#define GROUP_ROWS (ROWS * TILES)
/* What the attention kernel's kp and vp hold: the caller's K and V (DIRECT), else the packed
 * float32 blocks. */
#if DIRECT
#define KP_ELEM K_ELEM
#define VP_ELEM V_ELEM
#else
#define KP_ELEM float
#define VP_ELEM float
#endif

/* One work-item per (key block, batch * kv head): K's block transposed into [HEAD_D][KB]
 * (each column gathered from the block's rows, which stay in cache, then stored as whole
 * float16 vectors), V's rows copied into [KB][HEAD_DV]. Padding (d >= D, j >= N) is zero.
 * A paged KV cache (paging.s0 > 0) is gathered here from its pages: sequence b's keys
 * j < n_b (seqlens_k[b], clamped into [0, n]), the rest zero; the attention kernel then reads
 * the packed blocks as for dense K and V. */
__kernel void attention_pack_kv(idx_t n, idx_t npad, uint d, uint dv, uint kv_heads, ulong16 lay,
                                __global const K_ELEM *k, __global const V_ELEM *v,
                                __global float *kp, __global float *vp, int varlen,
                                __global const int *cu_k, ulong cap_k,
                                __global const int *block_table, __global const int *seqlens_k,
                                uint4 paging) {
    const idx_t j0 = (idx_t)get_global_id(0) * KB;
    const uint bh = get_global_id(1);
    if (j0 >= npad) return;
    const uint b = bh / kv_heads, hk = bh % kv_heads;
    if (varlen) { /* sequence b's keys: blocks past its end are never read */
        ulong k0;
        varlen_rows(cu_k, b, cap_k, n, &k0, &n);
        if (j0 >= n) return;
        lay.s4 += k0 * lay.s7;
        lay.s8 += k0 * lay.sb;
        lay.s5 = lay.s9 = 0;
    }
    const bool paged = paging.s0 > 0; /* never with varlen (the desc validation refuses it) */
    /* Paged: the head's origin; the pages' offsets follow per key. */
    const uint b_dense = paged ? 0 : b;
    __global const K_ELEM *k_base = k + lay16_base(lay, LAY_K, b_dense, hk);
    __global const V_ELEM *v_base = v + lay16_base(lay, LAY_V, b_dense, hk);
    __global float16 *kd = (__global float16 *)(kp + ((idx_t)bh * npad + j0) * HEAD_D);
    __global float16 *vd = (__global float16 *)(vp + ((idx_t)bh * npad + j0) * HEAD_DV);
    const long n_seq = paged ? paged_keys(seqlens_k, b, (long)n) : (long)n;
    const uint keys = (uint)clamp(n_seq - (long)j0, 0L, (long)KB);
    ulong k_off[KB], v_off[KB]; /* the block's rows, from k_base and v_base */
    for (uint x = 0; x < KB; x++) {
        const long j = (long)j0 + min(x, max(keys, 1u) - 1); /* a row that exists */
        k_off[x] = paged ? paged_offset(block_table, paging, b, j, lay16(lay, LAY_K + LAYOUT_BATCH),
                                        lay16_row(lay, LAY_K))
                         : (ulong)j * lay16_row(lay, LAY_K);
        v_off[x] = paged ? paged_offset(block_table, paging, b, j, lay16(lay, LAY_V + LAYOUT_BATCH),
                                        lay16_row(lay, LAY_V))
                         : (ulong)j * lay16_row(lay, LAY_V);
    }
    for (uint c = 0; c < HEAD_D; c++) {
        float col[KB];
        for (uint x = 0; x < KB; x++)
            col[x] = x < keys && c < d ? load_as(K_DTYPE, k_base, k_off[x] + c) : 0.0f;
        for (uint x = 0; x < KV; x++)
            kd[c * KV + x] = vload16(x, col);
    }
    for (uint x = 0; x < KB; x++) {
        __global const V_ELEM *vr = v_base + v_off[x];
        for (uint c = 0; c < HEAD_DV; c += 16) {
            float16 chunk;
            if (x < keys && c + 16 <= dv) {
                chunk = load16_as(V_DTYPE, vr, c);
            } else {
                float tmp[16];
                for (uint y = 0; y < 16; y++)
                    tmp[y] = x < keys && c + y < dv ? load_as(V_DTYPE, vr, c + y) : 0.0f;
                chunk = vload16(0, tmp);
            }
            vd[x * (HEAD_DV / 16) + c / 16] = chunk;
        }
    }
}

/* 2^x for x <= 0 (scores minus their running maximum), about 2 ulp: x = n + f with n an
 * integer and |f| <= 1/2, 2^f by its degree-7 Taylor polynomial (error < 1e-8), 2^n put in
 * the exponent. x < -126 gives 0 (below the normal range: the weight is negligible next to
 * the maximum's 1), -inf gives 0 and NaN stays NaN. A third of the cost of the library's
 * exp2, which handles the whole range. */
static inline float16 exp2_nonpositive(float16 x) {
    /* Adding 1.5 * 2^23 rounds to an integer, which then sits in the low mantissa bits. */
    const float16 t = x + (float16)(12582912.0f);
    const float16 n = t - (float16)(12582912.0f);
    const float16 f = (x - n) * LN2;
    float16 y = (float16)(1.0f / 5040.0f);
    y = fma(y, f, (float16)(1.0f / 720.0f));
    y = fma(y, f, (float16)(1.0f / 120.0f));
    y = fma(y, f, (float16)(1.0f / 24.0f));
    y = fma(y, f, (float16)(1.0f / 6.0f));
    y = fma(y, f, (float16)(0.5f));
    y = fma(y, f, (float16)(1.0f));
    y = fma(y, f, (float16)(1.0f));
    const int16 bits = as_int16(y) + ((as_int16(t) - 0x4B400000) << 23);
    const float16 r = select(as_float16(bits), (float16)(0.0f), x < (float16)(-126.0f));
    return select(r, x, isnan(x));
}

/* The largest lane. Plain comparisons (one instruction) rather than fmax: where a NaN
 * wins, the row is NaN anyway. */
static inline float8 max8(float8 a, float8 b) {
    return select(b, a, a > b);
}
static inline float hmax16(float16 v) {
    float8 a = max8(v.lo, v.hi);
    float4 b = select(a.hi, a.lo, a.lo > a.hi);
    float2 c = select(b.hi, b.lo, b.lo > b.hi);
    return c.x > c.y ? c.x : c.y;
}

__kernel __attribute__((reqd_work_group_size(1, 1, 1))) void
attention_cpu(idx_t M, idx_t N, uint d, uint dv, uint q_heads, uint group, float scale2, int causal,
              long diag, int mask_kind, idx_t chunk, idx_t npad, ulong16 lay, ulong8 lay2,
              __global const Q_ELEM *q, __global const KP_ELEM *kp, __global const VP_ELEM *vp,
              __global const uchar *mask, __global O_ELEM *o, __global float *lse,
              __global float *part, __global float *stats, int varlen, __global const int *cu_q,
              __global const int *cu_k, ulong cap_q, ulong cap_k, __global const int *block_table,
              __global const int *seqlens_k, uint4 paging, __global const float *sinks,
              long sink_keys, ulong drop_seed, ulong drop_offset, uint drop_threshold,
              float drop_scale) {
    /* The weights of a key block, read back as broadcasts: in local memory (this work-group
     * is one work-item) so the compiler cannot keep them in registers and extract lanes. */
    __local float p[ROWS][KB];
    /* Which keys of the block each row hides (masked tiles only): their V rows are not read
     * into the result, since 0 * NaN or 0 * inf in a masked slot would poison the row. */
    __local char hidden_key[ROWS][KB];
    const idx_t groups = get_global_size(0);
    const uint split = get_global_id(2);
    /* Causal: the row groups in heavy-light pairs (the last, the first, the second last, the
     * second, ...): PoCL deals each thread a run of consecutive work-groups (half of them
     * when there are few), and every such run must hold its share of the work. */
    const idx_t g = get_global_id(0);
    const idx_t rg = !causal ? g : (g & 1) ? g / 2 : groups - 1 - g / 2;
    const idx_t row0 = rg * GROUP_ROWS;
    const uint b = get_global_id(1) / (q_heads / HEADS);
    const uint h0 = get_global_id(1) % (q_heads / HEADS) * HEADS;
    if (varlen) { /* sequence b alone; row groups past its end exit (no padding computed) */
        varlen_sequence(varlen, cu_q, cu_k, cap_q, cap_k, b, &lay, &lay2, &M, &N, &diag);
        if (row0 >= HEADS * M) return;
    }
    const idx_t kvbh = (idx_t)b * (q_heads / group) + h0 / group;
    const idx_t rows = min((idx_t)GROUP_ROWS, HEADS * M - row0);
    /* A paged KV cache (never DIRECT: the pack kernel gathered the pages): this sequence's
     * keys, and its own bottom-right diagonal. */
    (void)block_table;
    if (paging.s0) {
        const long n_seq = paged_keys(seqlens_k, b, (long)N);
        if (paging.s3) diag = n_seq - (long)M;
        N = (idx_t)n_seq;
    }

    const long split_beg = (long)split * chunk;
    const long split_end = min((long)N, split_beg + (long)chunk);
    const long group_end =
        min(split_end, visible_end(ROWS_I_HI(row0, row0 + rows - 1), N, causal, diag));

    float qt[GROUP_ROWS][HEAD_D];
    float16 acc[GROUP_ROWS][HEAD_DV / 16]; /* aligned: whole-register loads and stores */
    float m_run[GROUP_ROWS], s_run[GROUP_ROWS];
    float16 l_run[GROUP_ROWS]; /* per lane: summed across lanes once, at the end */
    for (int r = 0; r < GROUP_ROWS; r++) {
        const idx_t y = row0 + min((idx_t)r, rows - 1), i = ROW_I(y);
        __global const Q_ELEM *q_base = q + lay16_base(lay, LAY_Q, b, h0 + ROW_H(y));
        for (uint c = 0; c < HEAD_D; c++)
            qt[r][c] =
                c < d ? load_as(Q_DTYPE, q_base, i * lay16_row(lay, LAY_Q) + c) * scale2 : 0.0f;
        for (uint c = 0; c < HEAD_DV / 16; c++)
            acc[r][c] = (float16)(0.0f);
        m_run[r] = -INFINITY;
        l_run[r] = (float16)(0.0f);
        s_run[r] = 0.0f;
    }
    const int16 lane = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

    /* The first key block the group's first row sees (packed blocks stay KB-aligned). */
    long group_beg =
        split_beg +
        max(0L, visible_begin(ROWS_I_LO(row0, row0 + rows - 1), N, diag) - split_beg) / KB * KB;
#if WIN_LEFT >= 0
    if (sink_keys > 0) group_beg = split_beg; /* the sink keys left of the window */
#endif
    for (long j0 = group_beg; j0 < group_end; j0 += KB) {
#if DIRECT
        /* K and V as the caller laid them out (kp, vp are k, v); keys past N read row N - 1
         * (their scores are masked; their V rows are skipped). */
        __global const KP_ELEM *k_rows = kp + lay16_base(lay, LAY_K, b, (h0 / group));
        __global const VP_ELEM *v_rows = vp + lay16_base(lay, LAY_V, b, (h0 / group));
        const int valid = (int)min((long)KB, (long)N - j0);
        (void)kvbh;
#else
        /* Packed blocks start at multiples of 64 bytes (see host/opencl/ops/attention.c). */
        __global const float16 *kb = (__global const float16 *)(kp + (kvbh * npad + j0) * HEAD_D);
        __global const float16 *vb = (__global const float16 *)(vp + (kvbh * npad + j0) * HEAD_DV);
#endif
        for (int t = 0; t < TILES; t++) {
            const idx_t t0 = row0 + t * ROWS;
            if (t0 >= HEADS * M) break;
            const idx_t t_rows = min((idx_t)ROWS, HEADS * M - t0);
            /* The tile's first query row sees the fewest keys, its last row the most. */
            const idx_t i_lo = ROWS_I_LO(t0, t0 + t_rows - 1);
            const idx_t i_hi = ROWS_I_HI(t0, t0 + t_rows - 1);
            if (j0 >= min(split_end, visible_end(i_hi, N, causal, diag))) continue;
#if WIN_LEFT >= 0
            if (j0 + KB <= visible_begin(i_lo, N, diag) && j0 >= sink_keys) continue;
#else
            if (j0 + KB <= visible_begin(i_lo, N, diag)) continue;
#endif
            const bool need_mask = mask_kind != MASK_NONE || ALIBI ||
                                   j0 + KB > min(split_end, visible_end(i_lo, N, causal, diag)) ||
                                   j0 < visible_begin(i_hi, N, diag);

            /* Scores of ROWS rows x KB keys: KV float16 accumulators per row. */
            float16 s[ROWS][KV];
#pragma unroll
            for (int r = 0; r < ROWS; r++)
#pragma unroll
                for (int x = 0; x < KV; x++)
                    s[r][x] = (float16)(0.0f);
#if DIRECT
            /* One dot product per key and row, along the key's contiguous row. */
            float sc[ROWS][KB];
            for (int jj = 0; jj < KB; jj++) {
                __global const KP_ELEM *kr =
                    k_rows + (j0 + min(jj, valid - 1)) * lay16_row(lay, LAY_K);
                float16 dot[ROWS];
#pragma unroll
                for (int r = 0; r < ROWS; r++)
                    dot[r] = (float16)(0.0f);
                for (int c = 0; c < HEAD_D / 16; c++) {
                    const float16 kv = load16_as(K_DTYPE, kr, 16 * c);
#pragma unroll
                    for (int r = 0; r < ROWS; r++)
                        dot[r] = fma(vload16(c, qt[t * ROWS + r]), kv, dot[r]);
                }
#pragma unroll
                for (int r = 0; r < ROWS; r++)
                    sc[r][jj] = clattn_hsum16(dot[r]);
            }
#pragma unroll
            for (int r = 0; r < ROWS; r++)
#pragma unroll
                for (int x = 0; x < KV; x++)
                    s[r][x] = vload16(x, sc[r]);
#else
            for (int c = 0; c < HEAD_D; c++) {
                float16 kv[KV];
#pragma unroll
                for (int x = 0; x < KV; x++)
                    kv[x] = kb[c * KV + x];
#pragma unroll
                for (int r = 0; r < ROWS; r++) {
                    const float16 qv = (float16)(qt[t * ROWS + r][c]);
#pragma unroll
                    for (int x = 0; x < KV; x++)
                        s[r][x] = fma(qv, kv[x], s[r][x]);
                }
            }
#endif
#ifdef SOFTCAP
                    /* The natural score s becomes SOFTCAP tanh(s / SOFTCAP); these are s log2(e).
                     */
#pragma unroll
            for (int r = 0; r < ROWS; r++)
#pragma unroll
                for (int x = 0; x < KV; x++)
                    s[r][x] = (SOFTCAP * LOG2E) * tanh(s[r][x] * (LN2 / SOFTCAP));
#endif
            if (need_mask) {
#pragma unroll
                for (int r = 0; r < ROWS; r++) {
                    const idx_t y = t0 + min((idx_t)r, t_rows - 1), i = ROW_I(y);
                    const uint h = h0 + ROW_H(y);
                    const float slope2 = ALIBI ? alibi_slope(h, q_heads) * LOG2E : 0.0f;
                    const idx_t mask_base = lay8_base(lay2, LAY2_MASK, b, h);
                    const long limit = min(split_end, visible_end(i, N, causal, diag)) - j0;
                    const int low = (int)clamp(visible_begin(i, N, diag) - j0, 0L, (long)KB);
#pragma unroll
                    for (int x = 0; x < KV; x++) {
                        if (ALIBI) /* slope (j - (i + diag)), 0 on the diagonal */
                            s[r][x] += slope2 * (convert_float16(lane + 16 * x) +
                                                 (float)(j0 - (long)i - diag));
                        if (mask_kind != MASK_NONE) {
                            const idx_t base = mask_base + i * lay8_row(lay2, LAY2_MASK);
                            float16 mv;
                            float *mp = (float *)&mv;
                            for (int y = 0; y < 16; y++) {
                                const long j = j0 + 16 * x + y;
                                mp[y] = j < (long)N ? mask_value(mask, mask_kind, base, j) : 0.0f;
                            }
                            /* A -inf mask hides the key whatever its score (even NaN). */
                            s[r][x] = select(s[r][x] + mv, (float16)(-INFINITY),
                                             mv == (float16)(-INFINITY));
                        }
                        const int lim = (int)clamp(limit, -1L, (long)KB);
#if WIN_LEFT >= 0 /* left of the window: hidden unless a sink key */
                        const int sk = (int)clamp(sink_keys - j0, 0L, (long)KB);
                        const int16 hidden =
                            lane + 16 * x >= (int16)(lim) ||
                            (lane + 16 * x < (int16)(low) && lane + 16 * x >= (int16)(sk));
#else
                        const int16 hidden =
                            lane + 16 * x >= (int16)(lim) || lane + 16 * x < (int16)(low);
#endif
                        s[r][x] = select(s[r][x], (float16)(-INFINITY), hidden);
                    }
                }
            }

            float alpha[ROWS];
#pragma unroll
            for (int r = 0; r < ROWS; r++) {
                const int y = t * ROWS + r;
                float16 mx = s[r][0];
#pragma unroll
                for (int x = 1; x < KV; x++)
                    mx = select(mx, s[r][x], s[r][x] > mx);
                const float m_old = m_run[y];
                const float m_new = fmax(m_old, hmax16(mx));
                const float m_use = m_new == -INFINITY ? 0.0f : m_new;
                alpha[r] = m_old == m_new ? 1.0f : exp2(m_old - m_use);
                float16 sum = (float16)(0.0f);
#pragma unroll
                for (int x = 0; x < KV; x++) {
                    if (need_mask)
                        vstore16(convert_char16(s[r][x] == (float16)(-INFINITY)), x, hidden_key[r]);
                    const float16 e = exp2_nonpositive(s[r][x] - m_use);
                    sum += e;
#if NORM == NORM_SUM
                    float16 w =
                        select(s[r][x] * LN2, (float16)(0.0f), s[r][x] == (float16)(-INFINITY));
                    s_run[y] += clattn_hsum16(w);
#else
                    float16 w = e;
#endif
#if DROPOUT /* after the sums: dropout scales the normalised weights */
                    const idx_t y = t0 + min((idx_t)r, t_rows - 1);
                    w *= dropout16(drop_seed, drop_offset + b * q_heads + h0 + ROW_H(y), ROW_I(y),
                                   j0 + 16 * x, drop_threshold, drop_scale);
#endif
                    vstore16(w, x, p[r]);
                }
                l_run[y] = l_run[y] * alpha[r] + sum;
                m_run[y] = m_new;
#if NORM == NORM_SUM
                alpha[r] = 1.0f;
#endif
            }
            /* acc += P V, VC 16-column chunks at a time (HEAD_DV is a multiple of 16 VC). */
            for (int c = 0; c < HEAD_DV / 16; c += VC) {
                float16 a[ROWS][VC];
#pragma unroll
                for (int r = 0; r < ROWS; r++)
#pragma unroll
                    for (int x = 0; x < VC; x++)
                        a[r][x] = acc[t * ROWS + r][c + x] * alpha[r];
#if DIRECT
                for (int jj = 0; jj < valid; jj++) {
                    float16 vv[VC];
#pragma unroll
                    for (int x = 0; x < VC; x++)
                        vv[x] = load16_as(V_DTYPE, v_rows,
                                          (j0 + jj) * lay16_row(lay, LAY_V) + 16 * (c + x));
#else
                for (int jj = 0; jj < KB; jj++) {
                    float16 vv[VC];
#pragma unroll
                    for (int x = 0; x < VC; x++)
                        vv[x] = vb[jj * (HEAD_DV / 16) + c + x];
#endif
#pragma unroll
                    for (int r = 0; r < ROWS; r++) {
                        if (need_mask && hidden_key[r][jj]) continue; /* select, not 0 * v */
                        const float16 pv = (float16)(p[r][jj]);
#pragma unroll
                        for (int x = 0; x < VC; x++)
                            a[r][x] = fma(pv, vv[x], a[r][x]);
                    }
                }
#pragma unroll
                for (int r = 0; r < ROWS; r++)
#pragma unroll
                    for (int x = 0; x < VC; x++)
                        acc[t * ROWS + r][c + x] = a[r][x];
            }
        }
    }

    const idx_t bhs = get_global_size(1) * HEADS; /* batch * q_heads: the partials' rows */
    for (int r = 0; r < rows; r++) {
        const idx_t y = row0 + r, i = ROW_I(y);
        const uint h = h0 + ROW_H(y);
        __global O_ELEM *o_row = o + lay16_base(lay, LAY_O, b, h) + i * lay16_row(lay, LAY_O);
        __global float *lse_row =
            lse ? lse + lay8_base(lay2, LAY2_LSE, b, h) + i * lay8_row(lay2, LAY2_LSE) : 0;
        const idx_t prow = ((idx_t)split * bhs + (idx_t)b * q_heads + h) * M + i;
        store_row((__private const float *)acc[r], m_run[r], clattn_hsum16(l_run[r]), s_run[r],
                  part ? (idx_t)HEAD_DV : dv, o_row, lse_row, part ? part + prow * HEAD_DV : 0,
                  part ? stats + prow * 4 : 0, sinks && !part ? sinks + h : 0);
    }
}
#else
#error "attention.cl is the CPU shape (CLATTN_CPU); GPUs build attention_gpu.cl"
#endif
