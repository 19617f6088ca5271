/* Fused attention for GPUs, in the FlashAttention-2 shape: O = norm(scale * Q K^T + mask) V.
 * (The CPU shape is kernels/attention.cl; both take the same arguments and write the same
 * results and split-KV partials, merged by kernels/attention_merge.cl.)
 *
 * A work-group of WG work-items owns a block of BM query rows of one GQA group: the rows of
 * the group's query heads are numbered head by head (row r = (h % group) * M + i), so a decode
 * step's few rows of all the heads sharing one K/V head read K and V once. K/V tiles of BN
 * keys stream through local memory. The work-items form BM / RPT row groups of TPR
 * work-items; each owns RPT rows and, of those rows,
 *   - the scores of KPT = BN / TPR keys (key tg + TPR * y for its index tg in the row group),
 *   - the output columns tg + TPR * x (x < CPT = HEAD_DV / TPR): Dv is split across the row
 *     group, so D = 256 needs no more registers per work-item than a wider work-group gives.
 * Every private array is indexed by constants only (fully unrolled loops), so it lives in
 * registers. Only the row maximum is exchanged per tile; each work-item keeps its own share
 * of the row sum, added up once at the end.
 *
 * The exchanges go through local memory and a barrier (portable OpenCL C 1.2), or, when the
 * planner defines SUBGROUP_SHUFFLE (contract.h: the device offers cl_khr_subgroup_shuffle or
 * cl_intel_subgroups), through a butterfly of shuffles within the row group: xor masks 1 ..
 * TPR/2 (TPR a power of two), after which every lane holds the identical maximum or sum
 * (fmax and + are commutative), and the barrier for the maximum disappears. No sub-group
 * size is assumed: the work-group takes the shuffles only when the sub-group size is a
 * multiple of TPR and divides WG, and when its sub-groups are consecutive, aligned ranges of
 * local ids (true on every implementation we know; checked at run time) - then each row
 * group lies in one sub-group. The decision is the same for the whole work-group (it
 * depends on the sub-group size and on a flag in local memory), so the local-memory path,
 * compiled in beside it, keeps its barriers legal.
 *
 * Q and K pass through local memory in SLICE-wide slices of D; the weights P (BM x BN) go
 * to local memory and V follows in chunks of VCH keys. Scores are in base 2 (q is scaled by
 * scale * log2(e)); the running maximum starts at -inf and 0 stands in for it while it is
 * -inf, so a fully masked row ends with l = 0 and is written as zeros.
 *
 * Masked keys are SELECTED out, never multiplied by a zero weight: a causal- or
 * boolean-masked key's score becomes -inf whatever it was (a NaN from garbage in a padded KV
 * cache included), and in tiles that hold masked keys a zero weight skips its V row, so an
 * Inf or NaN there reaches no output. Tiles every row sees whole take the plain path.
 *
 * Compile-time: HEAD_D, HEAD_DV (multiples of 16), NORM (contract.h), WG, BM, BN, RPT, SLICE, VCH;
 * optional PAGED (a paged KV cache; contract.h) and SUBGROUP_SHUFFLE (OpenCL C 1.2 without it; the
 * khr shuffle builds as CL2.0/3.0). Helpers are static inline (plain inline ones are left undefined
 * under -cl-opt-disable). Layouts as in attention.cl: lay = {q | k | v | o} x {off, b, h, row},
 * lay2 = {mask | lse} x {off, b, h, row}.
 */
#if !defined(HEAD_D) || !defined(HEAD_DV) || !defined(NORM) || !defined(WG) || !defined(BM) ||     \
    !defined(BN) || !defined(RPT) || !defined(SLICE) || !defined(VCH)
#error "attention_gpu.cl needs -DHEAD_D -DHEAD_DV -DNORM -DWG -DBM -DBN -DRPT -DSLICE -DVCH"
#endif
/* NORM_* and MASK_* come from kernels/contract.h. */
#define SUM_NORM (NORM == NORM_SUM)

#define TPR (WG * RPT / BM) /* work-items per row group */
#define KPT (BN / TPR)      /* keys per work-item in the scores */
#define CPT (HEAD_DV / TPR) /* output columns per work-item */
#if BM % RPT || (WG * RPT) % BM || BN % TPR || HEAD_DV % TPR || HEAD_D % SLICE || SLICE % 4 ||     \
    BN % VCH || HEAD_DV % 4 || KPT < 1 || CPT < 1
#error "attention_gpu.cl: inconsistent tile defines"
#endif

#ifdef SUBGROUP_SHUFFLE
#if TPR & (TPR - 1)
#error "attention_gpu.cl: SUBGROUP_SHUFFLE needs a power-of-two TPR"
#endif
#if SUBGROUP_SHUFFLE == SUBGROUP_SHUFFLE_KHR
#pragma OPENCL EXTENSION cl_khr_subgroup_shuffle : enable
#define SHUFFLE_XOR(x, mask) sub_group_shuffle_xor((x), (mask))
#elif SUBGROUP_SHUFFLE == SUBGROUP_SHUFFLE_INTEL
#pragma OPENCL EXTENSION cl_intel_subgroups : enable
#define SHUFFLE_XOR(x, mask) intel_sub_group_shuffle_xor((x), (mask))
#else
#error "attention_gpu.cl: unknown SUBGROUP_SHUFFLE"
#endif

/* The maximum and the sum over the TPR lanes of a row group; every lane gets the identical
 * value. All lanes of the sub-group must call them (no divergence). */
static inline float row_group_max(float x) {
#pragma unroll
    for (uint mask = 1; mask < TPR; mask <<= 1)
        x = fmax(x, SHUFFLE_XOR(x, mask));
    return x;
}

static inline float row_group_sum(float x) {
#pragma unroll
    for (uint mask = 1; mask < TPR; mask <<= 1)
        x += SHUFFLE_XOR(x, mask);
    return x;
}

/* Whether this work-group may reduce through shuffles (see the header); the same answer
 * in every work-item. Sub-groups are assumed to be consecutive, aligned ranges of local
 * ids; a work-item that sees otherwise clears the flag. */
static inline bool shuffles_usable(__local int *layout_ok, uint lid) {
    const uint size = get_max_sub_group_size();
    if (lid == 0) *layout_ok = 1;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (size == 0 || get_sub_group_size() != size || get_sub_group_id() != lid / size ||
        get_sub_group_local_id() != lid % size)
        atomic_and(layout_ok, 0);
    barrier(CLK_LOCAL_MEM_FENCE);
    return *layout_ok && size % TPR == 0 && WG % size == 0;
}
#endif

#define LOG2E 1.44269504088896341f
#define LN2   0.693147180559945309f

/* Local memory: the Q and K slices, or (later in a tile) a V chunk, share one region. */
#define SLICE_STRIDE  (SLICE + 1) /* +1: work-items reading one column hit different banks */
#define QK_FLOATS     ((BM + BN) * SLICE_STRIDE)
#define V_FLOATS      (VCH * HEAD_DV)
#define SHARED_FLOATS (QK_FLOATS > V_FLOATS ? QK_FLOATS : V_FLOATS)
#define P_STRIDE      (BN + 1)

/* The per-row offsets kept in local memory. */
#define ROW_Q       0
#define ROW_MASK    1
#define ROW_O       2
#define ROW_LSE     3
#define ROW_PART    4
#define ROW_OFFSETS 5

/* Score s of key j for a row whose keys end at `end`, after the mask: -inf (selected, not
 * added) for keys it may not see, for boolean-masked keys and for an additive -inf; other
 * additive values add in base 2 (as the reference does: a NaN score stays NaN unless an -inf
 * hides its key). */
static inline float masked_score(float s, long j, long end, __global const uchar *mask, int kind,
                                 idx_t mask_row) {
    if (j >= end) return -INFINITY;
    if (kind == MASK_ADDITIVE) {
        const float mv = load_as(MASK_DTYPE, mask, mask_row + (idx_t)j);
        return mv == -INFINITY ? -INFINITY : s + mv * LOG2E;
    }
    if (kind == MASK_BOOLEAN) return mask[mask_row + j] ? s : -INFINITY;
    return s;
}

/* Copies an nrows x ncols block (ncols a multiple of 4) into local memory at `stride`: rows
 * >= rows_valid and columns >= cols_valid are zeros; neighbouring work-items take
 * neighbouring float4 pieces of a row (coalesced). Source row r starts at
 * src + row_offset(r) where row_offset is `offsets[r]` when offsets is given, else r * step;
 * with a block table (a paged KV cache), row r is key j0 + r of sequence b in its page
 * (paged_offset: page_step the page stride, step the row stride). One function per storage
 * type DT of the sources (load_block_0, _1, _2; load_block_q, _k and _v name Q's, K's and V's),
 * widening to float on the way in; a float32 program defines load_block_0 alone, the same
 * code as before the storage types. */
#define DEFINE_LOAD_BLOCK(DT)                                                                      \
    static inline void DTYPE_PASTE(load_block_, DT)(                                               \
        __local float *dst, uint stride, __global const ELEM(DT) * src,                            \
        __local const ulong *offsets, idx_t step, long rows_valid, int cols_valid, uint nrows,     \
        uint ncols, float scale, uint lid, __global const int *table, uint4 paging, uint b,        \
        long j0, ulong page_step) {                                                                \
        const uint pieces = ncols / 4;                                                             \
        for (uint t = lid; t < nrows * pieces; t += WG) {                                          \
            const uint r = t / pieces, c = 4 * (t % pieces);                                       \
            float4 x = (float4)(0.0f);                                                             \
            if ((long)r < rows_valid) {                                                            \
                const ulong row = offsets          ? offsets[r]                                    \
                                  : PAGED && table ? paged_offset(table, paging, b, j0 + (long)r,  \
                                                                  page_step, step)                 \
                                                   : r * step;                                     \
                __global const ELEM(DT) *p = src + row + c;                                        \
                if ((int)c + 4 <= cols_valid) {                                                    \
                    x = load4_as(DT, p, 0);                                                        \
                } else {                                                                           \
                    x.s0 = (int)c < cols_valid ? load_as(DT, p, 0) : 0.0f;                         \
                    x.s1 = (int)c + 1 < cols_valid ? load_as(DT, p, 1) : 0.0f;                     \
                    x.s2 = (int)c + 2 < cols_valid ? load_as(DT, p, 2) : 0.0f;                     \
                }                                                                                  \
            }                                                                                      \
            x *= scale;                                                                            \
            __local float *d = dst + r * stride + c;                                               \
            d[0] = x.s0;                                                                           \
            d[1] = x.s1;                                                                           \
            d[2] = x.s2;                                                                           \
            d[3] = x.s3;                                                                           \
        }                                                                                          \
    }
DEFINE_LOAD_BLOCK(0)
#if Q_DTYPE == DTYPE_F16 || K_DTYPE == DTYPE_F16 || V_DTYPE == DTYPE_F16
DEFINE_LOAD_BLOCK(1)
#endif
#if Q_DTYPE == DTYPE_BF16 || K_DTYPE == DTYPE_BF16 || V_DTYPE == DTYPE_BF16
DEFINE_LOAD_BLOCK(2)
#endif
#define load_block_q DTYPE_PASTE(load_block_, Q_DTYPE)
#define load_block_k DTYPE_PASTE(load_block_, K_DTYPE)
#define load_block_v DTYPE_PASTE(load_block_, V_DTYPE)

__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
attention_gpu(idx_t M, idx_t N, uint d, uint dv, uint q_heads, uint group, float scale2, int causal,
              long diag, int mask_kind, idx_t chunk, idx_t npad, ulong16 lay, ulong8 lay2,
              __global const Q_ELEM *q, __global const K_ELEM *k, __global const V_ELEM *v,
              __global const uchar *mask, __global O_ELEM *o, __global float *lse,
              __global float *part, __global float *stats, int varlen, __global const int *cu_q,
              __global const int *cu_k, ulong cap_q, ulong cap_k, __global const int *block_table,
              __global const int *seqlens_k, uint4 paging, __global const float *sinks,
              long sink_keys, ulong drop_seed, ulong drop_offset, uint drop_threshold,
              float drop_scale) {
    __local float shared[SHARED_FLOATS];
    __local float lp[BM * P_STRIDE];
    __local float lred[BM * TPR];
    __local ulong row_off[ROW_OFFSETS][BM];
    __local long row_end[BM];
#if WIN_LEFT >= 0
    __local long row_beg[BM];
#endif
#if DROPOUT
    __local ulong row_stream[BM]; /* dropout_offset + b * Hq + h */
    __local ulong row_i[BM];
#endif
#if ALIBI
    __local float row_slope[BM]; /* in base 2 */
    __local long row_diag[BM];   /* i + diag: ALiBi's zero */
#endif
    __local float *lq = shared, *lk = shared + BM * SLICE_STRIDE, *lv = shared;
    (void)npad;

    /* varlen: sequence b alone. A block past its rows of the GQA group computes and writes
     * nothing (no padding computed); it runs on to the end instead of returning, since an
     * early return before barriers miscompiled on PoCL (wrong last rows in every block). */
    bool live = true;
    if (varlen) {
        const uint b = get_group_id(1) / (q_heads / group);
        varlen_sequence(varlen, cu_q, cu_k, cap_q, cap_k, b, &lay, &lay2, &M, &N, &diag);
        const idx_t blk = causal ? get_num_groups(0) - 1 - get_group_id(0) : get_group_id(0);
        live = blk * BM < (idx_t)group * M;
        M = max(M, (idx_t)1); /* keeps the row arithmetic below defined */
    }
    const uint lid = get_local_id(0);
    const uint rg = lid / TPR, tg = lid % TPR;
#ifdef SUBGROUP_SHUFFLE
    __local int layout_ok;
    const bool shuffles = shuffles_usable(&layout_ok, lid);
#else
    const bool shuffles = false;
#endif
    const uint kv_heads = q_heads / group;
    const uint bhk = get_group_id(1), split = get_group_id(2);
    const uint b = bhk / kv_heads, hk = bhk % kv_heads;
    /* A paged KV cache: this sequence's keys and its own bottom-right diagonal; K and V rows
     * are found through the block table (load_block). */
    const bool paged = PAGED && paging.s0 > 0; /* without -DPAGED=1 (dense): false */
    if (paged) {
        const long n_seq = paged_keys(seqlens_k, b, (long)N);
        if (paging.s3) diag = n_seq - (long)M;
        N = (idx_t)n_seq;
    }
    __global const int *table = paged ? block_table : 0;
    const idx_t blocks = get_num_groups(0);
    /* Causal: the heaviest blocks (the last rows) first, so that the tail is short. */
    const idx_t blk = causal ? blocks - 1 - get_group_id(0) : get_group_id(0);
    const idx_t R = (idx_t)group * M; /* the GQA group's rows */
    const idx_t r0 = blk * BM;
    const idx_t rows = live ? min((idx_t)BM, R - r0) : 0;

    /* The block's range of row indices i: its rows span at most a few heads. */
    const idx_t first = r0 % M, last = (r0 + rows - 1) % M;
    const bool one_head = r0 / M == (r0 + rows - 1) / M;
    const long i_min = one_head ? (long)first : 0, i_max = one_head ? (long)last : (long)M - 1;

    const long split_beg = (long)split * chunk;
    const long split_end = min((long)N, split_beg + (long)chunk);
    /* (a dead varlen block: no key tiles at all) */
    const long block_end = live ? min(split_end, visible_end(i_max, N, causal, diag)) : 0;
    /* Keys below this are seen by every row of the block. */
    const long full_end = min(split_end, visible_end(i_min, N, causal, diag));
    /* The window's left side: keys from here on are seen by every row; the block's keys
     * start where its first row's do. */
    const long full_beg = visible_begin(i_max, N, diag);
#if WIN_LEFT >= 0 /* the sink keys left of the window: from the split's start */
    const long block_beg =
        sink_keys > 0 ? split_beg : max(split_beg, visible_begin(i_min, N, diag));
#else
    const long block_beg = max(split_beg, visible_begin(i_min, N, diag));
#endif

    /* Per row of the block (clamped to the last valid row): the element offsets of its Q,
     * mask, O and LSE rows and its split-KV partials row, and the end of the keys it sees.
     * Kept in local memory rather than in registers (the layout vectors alone would take 48
     * registers through the loop). */
    for (uint r = lid; r < BM; r += WG) {
        const idx_t rr = r0 + min((idx_t)r, rows - 1);
        const idx_t h = (idx_t)hk * group + rr / M, i = rr % M;
        row_off[ROW_Q][r] = lay.s0 + b * lay.s1 + h * lay.s2 + i * lay.s3;
        row_off[ROW_MASK][r] = lay2.s0 + b * lay2.s1 + h * lay2.s2 + i * lay2.s3;
        row_off[ROW_O][r] = lay.sc + b * lay.sd + h * lay.se + i * lay.sf;
        row_off[ROW_LSE][r] = lay2.s4 + b * lay2.s5 + h * lay2.s6 + i * lay2.s7;
        /* the merge's row numbering: (split, batch * q head, row) */
        row_off[ROW_PART][r] =
            (((idx_t)split * (get_num_groups(1) / kv_heads) + b) * q_heads + h) * M + i;
        row_end[r] = min(split_end, visible_end((long)i, N, causal, diag));
#if WIN_LEFT >= 0
        row_beg[r] = visible_begin((long)i, N, diag);
#endif
#if DROPOUT
        row_stream[r] = drop_offset + (ulong)b * q_heads + h;
        row_i[r] = i;
#endif
#if ALIBI
        row_slope[r] = alibi_slope((uint)h, q_heads) * LOG2E;
        row_diag[r] = (long)i + diag;
#endif
    }
    const uint b_dense = paged ? 0 : b; /* paged: the head's origin, pages added per key */
    __global const K_ELEM *k_base = k + lay.s4 + b_dense * lay.s5 + hk * lay.s6;
    __global const V_ELEM *v_base = v + lay.s8 + b_dense * lay.s9 + hk * lay.sa;
    const idx_t k_stride = lay.s7, v_stride = lay.sb;

    float acc[RPT][CPT], m_run[RPT], l_part[RPT], s_part[RPT];
#pragma unroll
    for (int r = 0; r < RPT; r++) {
        m_run[r] = -INFINITY;
        l_part[r] = 0.0f;
        s_part[r] = 0.0f;
#pragma unroll
        for (int x = 0; x < CPT; x++)
            acc[r][x] = 0.0f;
    }

    for (long j0 = block_beg; j0 < block_end; j0 += BN) {
#if WIN_LEFT >= 0
        /* Between the sink keys and the window (the same test in every work-item). */
        if (j0 >= sink_keys && j0 + BN <= visible_begin(i_min, N, diag)) continue;
#endif
        /* ---- scores S = Q K^T of RPT rows x KPT keys, slice by slice of D ---- */
        float s[RPT][KPT];
#pragma unroll
        for (int r = 0; r < RPT; r++)
#pragma unroll
            for (int y = 0; y < KPT; y++)
                s[r][y] = 0.0f;
        for (uint s0 = 0; s0 < HEAD_D; s0 += SLICE) {
            barrier(CLK_LOCAL_MEM_FENCE); /* the previous slice (or V chunk) is no longer read */
            load_block_q(lq, SLICE_STRIDE, q + s0, row_off[ROW_Q], 0, (long)rows, (int)d - (int)s0,
                         BM, SLICE, scale2, lid, 0, paging, b, 0, 0);
            load_block_k(lk, SLICE_STRIDE, k_base + (paged ? 0 : j0 * k_stride) + s0, 0, k_stride,
                         split_end - j0, (int)d - (int)s0, BN, SLICE, 1.0f, lid, table, paging, b,
                         j0, lay.s5);
            barrier(CLK_LOCAL_MEM_FENCE);
            /* Not unrolled: unrolling loops that index no private array only hoists loads
             * and addresses into registers. */
#pragma unroll 1
            for (int c = 0; c < SLICE; c++) {
                float qv[RPT];
#pragma unroll
                for (int r = 0; r < RPT; r++)
                    qv[r] = lq[(rg * RPT + r) * SLICE_STRIDE + c];
#pragma unroll
                for (int y = 0; y < KPT; y++) {
                    const float kv = lk[(tg + TPR * y) * SLICE_STRIDE + c];
#pragma unroll
                    for (int r = 0; r < RPT; r++)
                        s[r][y] = fma(qv[r], kv, s[r][y]);
                }
            }
        }

        /* ---- masks: only in tiles where some row does not see every key ---- */
#ifdef SOFTCAP
        /* The natural score s becomes SOFTCAP tanh(s / SOFTCAP); these are s log2(e). */
#pragma unroll
        for (int r = 0; r < RPT; r++)
#pragma unroll
            for (int y = 0; y < KPT; y++)
                s[r][y] = (SOFTCAP * LOG2E) * tanh(s[r][y] * (LN2 / SOFTCAP));
#endif
        const bool partial = mask_kind != MASK_NONE || ALIBI || j0 + BN > full_end || j0 < full_beg;
        if (partial) {
#pragma unroll
            for (int r = 0; r < RPT; r++) {
                const uint row = rg * RPT + r;
                const long end = row_end[row];
#if WIN_LEFT >= 0
                const long beg = row_beg[row];
#else
                const long beg = 0;
#endif
                const idx_t mask_row = row_off[ROW_MASK][row];
#pragma unroll
                for (int y = 0; y < KPT; y++) {
                    const long j = j0 + tg + TPR * y;
#if ALIBI /* slope (j - (i + diag)), 0 on the diagonal */
                    s[r][y] += row_slope[row] * (float)(j - row_diag[row]);
#endif
#if WIN_LEFT >= 0
                    s[r][y] = j < beg && j >= sink_keys
                                  ? -INFINITY
                                  : masked_score(s[r][y], j, end, mask, mask_kind, mask_row);
#else
                    s[r][y] = j < beg ? -INFINITY
                                      : masked_score(s[r][y], j, end, mask, mask_kind, mask_row);
#endif
                }
            }
        }

        /* ---- the row maximum across the row group: shuffles or local memory ---- */
        float tile_max[RPT];
#pragma unroll
        for (int r = 0; r < RPT; r++) {
            tile_max[r] = s[r][0];
#pragma unroll
            for (int y = 1; y < KPT; y++)
                tile_max[r] = fmax(tile_max[r], s[r][y]);
        }
        if (shuffles) {
#ifdef SUBGROUP_SHUFFLE
#pragma unroll
            for (int r = 0; r < RPT; r++)
                tile_max[r] = row_group_max(tile_max[r]);
#endif
        } else {
#pragma unroll
            for (int r = 0; r < RPT; r++)
                lred[(rg * RPT + r) * TPR + tg] = tile_max[r];
            barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
            for (int r = 0; r < RPT; r++) {
                const uint row = rg * RPT + r;
                tile_max[r] = lred[row * TPR];
                for (int t = 1; t < TPR; t++) /* the same order in every work-item */
                    tile_max[r] = fmax(tile_max[r], lred[row * TPR + t]);
            }
        }
#pragma unroll
        for (int r = 0; r < RPT; r++) {
            const uint row = rg * RPT + r;
            const float mx = fmax(m_run[r], tile_max[r]);
            const float m_use = mx == -INFINITY ? 0.0f : mx;
            const float alpha = exp2(m_run[r] - m_use); /* 0 while m_run is -inf */
            m_run[r] = mx;
            l_part[r] *= alpha;
#if !SUM_NORM
#pragma unroll
            for (int x = 0; x < CPT; x++)
                acc[r][x] *= alpha;
#endif
#pragma unroll
            for (int y = 0; y < KPT; y++) {
                const float e = exp2(s[r][y] - m_use);
                l_part[r] += e;
#if SUM_NORM
                float w = s[r][y] == -INFINITY ? 0.0f : s[r][y] * LN2;
                s_part[r] += w;
#else
                float w = e;
#endif
#if DROPOUT /* after the sums: dropout scales the normalised weights */
                if (!philox_dropout_keep(drop_seed, row_stream[row], row_i[row],
                                         (ulong)(j0 + tg + TPR * y), drop_threshold))
                    w = 0.0f;
                w *= drop_scale;
#endif
                lp[row * P_STRIDE + tg + TPR * y] = w;
            }
        }

        /* ---- O += P V, V in chunks of VCH keys ---- */
        for (int kc = 0; kc < BN && j0 + kc < block_end; kc += VCH) {
            barrier(CLK_LOCAL_MEM_FENCE); /* P written; the slices or last chunk read */
            load_block_v(lv, HEAD_DV, v_base + (paged ? 0 : (j0 + kc) * v_stride), 0, v_stride,
                         split_end - j0 - kc, (int)dv, VCH, HEAD_DV, 1.0f, lid, table, paging, b,
                         j0 + kc, lay.s9);
            barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll 1
            for (int kk = 0; kk < VCH; kk++) {
                float w[RPT];
#pragma unroll
                for (int r = 0; r < RPT; r++)
                    w[r] = lp[(rg * RPT + r) * P_STRIDE + kc + kk];
#pragma unroll
                for (int x = 0; x < CPT; x++) {
                    const float vv = lv[kk * HEAD_DV + tg + TPR * x];
#pragma unroll
                    for (int r = 0; r < RPT; r++)
                        acc[r][x] = partial && w[r] == 0.0f ? acc[r][x] : fma(w[r], vv, acc[r][x]);
                }
            }
        }
    }

    /* ---- the row sums across the row group (the same in every lane), then the results ---- */
    float l_row[RPT], sum_row[RPT];
    if (shuffles) {
#ifdef SUBGROUP_SHUFFLE
#pragma unroll
        for (int r = 0; r < RPT; r++) {
            l_row[r] = row_group_sum(l_part[r]);
            sum_row[r] = row_group_sum(s_part[r]);
        }
#endif
    } else {
        barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
        for (int r = 0; r < RPT; r++) {
            lred[(rg * RPT + r) * TPR + tg] = l_part[r];
            lp[(rg * RPT + r) * P_STRIDE + tg] = s_part[r];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
        for (int r = 0; r < RPT; r++) {
            const uint row = rg * RPT + r;
            l_row[r] = sum_row[r] = 0.0f;
            for (int t = 0; t < TPR; t++) {
                l_row[r] += lred[row * TPR + t];
                sum_row[r] += lp[row * P_STRIDE + t];
            }
        }
    }
#pragma unroll
    for (int r = 0; r < RPT; r++) {
        const uint row = rg * RPT + r;
        if (row >= rows) break;
        const float l = l_row[r], sum = sum_row[r];
        if (part) {
            __global float *p_row = part + row_off[ROW_PART][row] * HEAD_DV;
#pragma unroll
            for (int x = 0; x < CPT; x++)
                p_row[tg + TPR * x] = acc[r][x];
            if (tg == 0) {
                stats[row_off[ROW_PART][row] * 4] = m_run[r];
                stats[row_off[ROW_PART][row] * 4 + 1] = l;
                stats[row_off[ROW_PART][row] * 4 + 2] = sum;
            }
            continue;
        }
        float l_sunk = l, m_sunk = m_run[r], f = 1.0f;
#if SINKS /* a define: the default program keeps its registers (gfx90a spilled without it) */
        if (sinks) /* the sink joins once (split partials take it at the merge) */
            f = sink_fold(sinks[hk * group + (r0 + row) / M], &m_sunk, &l_sunk);
#endif
        const bool empty = l_sunk == 0.0f; /* every key masked */
        const float denom = (SUM_NORM ? sum : l_sunk) / f;
        __global O_ELEM *o_row = o + row_off[ROW_O][row];
#pragma unroll
        for (int x = 0; x < CPT; x++) {
            const uint c = tg + TPR * x;
            if (c < dv) store_as(O_DTYPE, empty ? 0.0f : acc[r][x] / denom, o_row, c);
        }
        if (lse && tg == 0)
            lse[row_off[ROW_LSE][row]] = empty ? -INFINITY : (m_sunk + log2(l_sunk)) * LN2;
    }
}
