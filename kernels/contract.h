/* The host-kernel contract: every value the host and the kernels must agree on, in one file
 * that is valid C11 (included by host/opencl/ops/ and host/plan/) and OpenCL C 1.2 (prepended
 * to every kernel program, before common.h). A kernel argument added, removed or moved must be
 * changed here, and the host's argument arrays (sized by the _COUNT entries and checked with
 * _Static_assert) then fail to compile until they follow.
 *
 * Values compared in #if by the kernels are macros (the preprocessor cannot see enums); the
 * host checks that they equal the public enums of clattn.h. */
#ifndef CLATTN_KERNEL_CONTRACT_H
#define CLATTN_KERNEL_CONTRACT_H

/* ---- values of the public enums, as kernels see them ----------------------------------- */
/* clattn_norm: an int argument (normalize.cl, query_small.cl, weights.cl, attention_merge.cl)
 * or the -DNORM define (attention.cl), always one of these. */
#define NORM_NONE    0
#define NORM_SUM     1
#define NORM_SOFTMAX 2
/* clattn_causal */
#define CAUSAL_NONE         0
#define CAUSAL_TOP_LEFT     1
#define CAUSAL_BOTTOM_RIGHT 2
/* clattn_mask_kind */
#define MASK_NONE     0
#define MASK_ADDITIVE 1
#define MASK_BOOLEAN  2

/* clattn_dtype: the storage of a tensor, as the attention programs' -DQ_DTYPE, -DK_DTYPE,
 * -DV_DTYPE, -DO_DTYPE and -DMASK_DTYPE defines and the seed op's -DX_DTYPE, -DQ_DTYPE and
 * -DV_DTYPE (absent = DTYPE_F32, so float32 programs keep their options). Plain digits:
 * common.h pastes them into the names of its load and store helpers. */
#define DTYPE_F32  0
#define DTYPE_F16  1
#define DTYPE_BF16 2

/* ---- build-time capabilities the planners pass as defines ------------------------------ */
/* -DSUBGROUP_SHUFFLE (attention_gpu.cl, only when the device offers it): which shuffle the
 * row-group reductions use. Never defined as 0: without the define the kernel is plain
 * OpenCL C 1.2 and reduces through local memory. */
#define SUBGROUP_SHUFFLE_KHR   1 /* cl_khr_subgroup_shuffle: sub_group_shuffle_xor */
#define SUBGROUP_SHUFFLE_INTEL 2 /* cl_intel_subgroups: intel_sub_group_shuffle_xor */

/* ---- variable-length batches: the attention kernels' `varlen` argument ------------------ */
#define VARLEN_OFF          0
#define VARLEN_ON           1 /* the diagonal of row i is i (top-left, or no causal alignment) */
#define VARLEN_BOTTOM_RIGHT 2 /* the diagonal of row i is i + n_b - m_b (per sequence) */

/* ---- fixed tiles both sides compute with (the tunable ones are required -D defines) ---- */
#define HEAD_PAD         16 /* attention: HEAD_D and HEAD_DV are multiples of this */
#define CONTEXT_VEC_COLS 16 /* context_partials_vec: columns per work-item */
#define WEIGHTS_KEYS     8  /* weights_scores_rows: keys per work-item */
#define WEIGHTS_TD       32 /* weights_scores_tiled: head-dim chunk staged in local memory */
#define GEMM_BLOCK       4  /* gemm_tiled: register block edge per work-item */
#define GEMM_KT          16 /* gemm_tiled: k columns per local-memory tile */
#define GEMM_CPU_ROWS    8  /* gemm_bcast: rows of a work-item's block */
#define GEMM_CPU_COLS    32 /* gemm_bcast: columns of a work-item's block (W^T panel width) */

/* ---- packed layouts (attention.cl, attention_merge.cl, weights.cl) ----------------------
 * A tensor's layout is 4 consecutive ulong slots, in elements: */
#define LAYOUT_OFFSET 0
#define LAYOUT_BATCH  1 /* batch stride */
#define LAYOUT_HEAD   2 /* head stride */
#define LAYOUT_ROW    3 /* row stride */
#define LAYOUT_SLOTS  4
/* attention: `lay` (ulong16) holds Q, K, V, O and `lay2` (ulong8) the mask and LSE, at: */
#define LAY_Q      0
#define LAY_K      4
#define LAY_V      8
#define LAY_O      12
#define LAY_COUNT  16
#define LAY2_MASK  0
#define LAY2_LSE   4
#define LAY2_COUNT 8
/* weights.cl takes one ulong4 per tensor, slots in LAYOUT_ order. */

/* ---- a paged KV cache (clattn_attention_desc's page fields) -----------------------------
 * The attention and pack kernels take a uint4 `paging` with these slots (all 0: dense K/V),
 * the block table [B, max_pages] and seqlens_k [B] (int; NULL when not paged). Paged K and V
 * layouts read their batch stride as the page stride. */
#define PAGING_PAGE_SIZE    0
#define PAGING_MAX_PAGES    1
#define PAGING_NUM_PAGES    2
#define PAGING_BOTTOM_RIGHT 3  /* 1: the causal diagonal is each sequence's n_b - M */
#define KV_APPEND_GROUP     64 /* kv_append: work-items per work-group (columns of a row) */

/* ---- kernel argument indices (one enum per kernel signature) ----------------------------- */
enum scores_rows_arg { /* scores_rows */
                       SCORES_ROWS_ARG_N,
                       SCORES_ROWS_ARG_D,
                       SCORES_ROWS_ARG_SCALE,
                       SCORES_ROWS_ARG_X,
                       SCORES_ROWS_ARG_X_OFF,
                       SCORES_ROWS_ARG_Q,
                       SCORES_ROWS_ARG_Q_OFF,
                       SCORES_ROWS_ARG_OUT,
                       SCORES_ROWS_ARG_OUT_OFF,
                       SCORES_ROWS_ARG_COUNT
};
enum scores_lanes_arg { /* scores_lanes */
                        SCORES_LANES_ARG_N,
                        SCORES_LANES_ARG_D,
                        SCORES_LANES_ARG_SCALE,
                        SCORES_LANES_ARG_X,
                        SCORES_LANES_ARG_X_OFF,
                        SCORES_LANES_ARG_Q,
                        SCORES_LANES_ARG_Q_OFF,
                        SCORES_LANES_ARG_OUT,
                        SCORES_LANES_ARG_OUT_OFF,
                        SCORES_LANES_ARG_LANES,
                        SCORES_LANES_ARG_PARTIAL, /* local: a float per work-item */
                        SCORES_LANES_ARG_COUNT
};
enum norm_partials_arg { /* norm_partials */
                         NORM_PARTIALS_ARG_NORM,
                         NORM_PARTIALS_ARG_N,
                         NORM_PARTIALS_ARG_SCORES,
                         NORM_PARTIALS_ARG_S_OFF,
                         NORM_PARTIALS_ARG_PARTIALS,
                         NORM_PARTIALS_ARG_SCRATCH, /* local: a float2 per work-item */
                         NORM_PARTIALS_ARG_COUNT
};
enum norm_finish_arg { /* norm_finish */
                       NORM_FINISH_ARG_NORM,
                       NORM_FINISH_ARG_GROUPS,
                       NORM_FINISH_ARG_PARTIALS,
                       NORM_FINISH_ARG_SCRATCH, /* local: a float2 per work-item */
                       NORM_FINISH_ARG_COUNT
};
enum norm_apply_arg { /* norm_apply */
                      NORM_APPLY_ARG_NORM,
                      NORM_APPLY_ARG_N,
                      NORM_APPLY_ARG_SCORES,
                      NORM_APPLY_ARG_S_OFF,
                      NORM_APPLY_ARG_WEIGHTS,
                      NORM_APPLY_ARG_W_OFF,
                      NORM_APPLY_ARG_PARTIALS,
                      NORM_APPLY_ARG_GROUPS,
                      NORM_APPLY_ARG_COUNT
};
enum norm_small_arg { /* norm_small */
                      NORM_SMALL_ARG_NORM,
                      NORM_SMALL_ARG_N,
                      NORM_SMALL_ARG_SCORES,
                      NORM_SMALL_ARG_S_OFF,
                      NORM_SMALL_ARG_WEIGHTS,
                      NORM_SMALL_ARG_W_OFF,
                      NORM_SMALL_ARG_SCRATCH, /* local: a float2 per work-item */
                      NORM_SMALL_ARG_COUNT
};
enum context_partials_arg { /* context_partials (GPU) and context_partials_vec (CPU) */
                            CONTEXT_PARTIALS_ARG_N,
                            CONTEXT_PARTIALS_ARG_D,
                            CONTEXT_PARTIALS_ARG_W,
                            CONTEXT_PARTIALS_ARG_W_OFF,
                            CONTEXT_PARTIALS_ARG_V,
                            CONTEXT_PARTIALS_ARG_V_OFF,
                            CONTEXT_PARTIALS_ARG_ROWS_PER_GROUP,
                            CONTEXT_PARTIALS_ARG_PARTIALS,
                            CONTEXT_PARTIALS_VEC_ARG_COUNT, /* context_partials_vec ends here */
                            CONTEXT_PARTIALS_ARG_SCRATCH =
                                CONTEXT_PARTIALS_VEC_ARG_COUNT, /* local: a float per item */
                            CONTEXT_PARTIALS_ARG_COUNT
};
enum context_finish_arg { /* context_finish */
                          CONTEXT_FINISH_ARG_D,
                          CONTEXT_FINISH_ARG_GROUPS,
                          CONTEXT_FINISH_ARG_PARTIALS,
                          CONTEXT_FINISH_ARG_CONTEXT,
                          CONTEXT_FINISH_ARG_C_OFF,
                          CONTEXT_FINISH_ARG_COUNT
};
enum query_small_arg { /* query_small */
                       QUERY_SMALL_ARG_NORM,
                       QUERY_SMALL_ARG_N,
                       QUERY_SMALL_ARG_D,
                       QUERY_SMALL_ARG_SCALE,
                       QUERY_SMALL_ARG_X,
                       QUERY_SMALL_ARG_Q,
                       QUERY_SMALL_ARG_V,
                       QUERY_SMALL_ARG_OUT,
                       QUERY_SMALL_ARG_SCRATCH, /* local: a float2 per work-item */
                       QUERY_SMALL_ARG_COUNT
};
enum probe_read_arg { /* probe_read */
                      PROBE_READ_ARG_A,
                      PROBE_READ_ARG_N16,
                      PROBE_READ_ARG_PER_ITEM,
                      PROBE_READ_ARG_STRIDED,
                      PROBE_READ_ARG_OUT,
                      PROBE_READ_ARG_COUNT
};
enum probe_fma_arg { /* probe_fma */
                     PROBE_FMA_ARG_ITERATIONS,
                     PROBE_FMA_ARG_BS,
                     PROBE_FMA_ARG_OUT,
                     PROBE_FMA_ARG_COUNT
};
enum weights_scores_arg { /* weights_scores_tiled (GPU) and weights_scores_rows (CPU) */
                          WEIGHTS_SCORES_ARG_M,
                          WEIGHTS_SCORES_ARG_N,
                          WEIGHTS_SCORES_ARG_D,
                          WEIGHTS_SCORES_ARG_Q_HEADS,
                          WEIGHTS_SCORES_ARG_GROUP,
                          WEIGHTS_SCORES_ARG_SCALE,
                          WEIGHTS_SCORES_ARG_CAUSAL,
                          WEIGHTS_SCORES_ARG_MASK_KIND,
                          WEIGHTS_SCORES_ARG_Q,
                          WEIGHTS_SCORES_ARG_Q_LAYOUT,
                          WEIGHTS_SCORES_ARG_K,
                          WEIGHTS_SCORES_ARG_K_LAYOUT,
                          WEIGHTS_SCORES_ARG_MASK,
                          WEIGHTS_SCORES_ARG_MASK_LAYOUT,
                          WEIGHTS_SCORES_ARG_W,
                          WEIGHTS_SCORES_ARG_COUNT
};
enum weights_normalize_arg { /* weights_normalize_rows */
                             WEIGHTS_NORMALIZE_ARG_NORM,
                             WEIGHTS_NORMALIZE_ARG_N,
                             WEIGHTS_NORMALIZE_ARG_W,
                             WEIGHTS_NORMALIZE_ARG_SCRATCH, /* local: a float2 per work-item */
                             WEIGHTS_NORMALIZE_ARG_COUNT
};
enum gemm_tiled_arg { /* gemm_tiled */
                      GEMM_TILED_ARG_ROWS,
                      GEMM_TILED_ARG_COLS,
                      GEMM_TILED_ARG_K,
                      GEMM_TILED_ARG_X,
                      GEMM_TILED_ARG_X_OFF,
                      GEMM_TILED_ARG_LDX,
                      GEMM_TILED_ARG_W,
                      GEMM_TILED_ARG_W_OFF,
                      GEMM_TILED_ARG_LDW,
                      GEMM_TILED_ARG_BIAS,
                      GEMM_TILED_ARG_B_OFF,
                      GEMM_TILED_ARG_HAS_BIAS,
                      GEMM_TILED_ARG_Y,
                      GEMM_TILED_ARG_Y_OFF,
                      GEMM_TILED_ARG_LDY,
                      GEMM_TILED_ARG_COUNT
};
enum gemm_pack_wt_arg { /* gemm_pack_wt */
                        GEMM_PACK_WT_ARG_COLS,
                        GEMM_PACK_WT_ARG_COLS_PADDED,
                        GEMM_PACK_WT_ARG_W,
                        GEMM_PACK_WT_ARG_W_OFF,
                        GEMM_PACK_WT_ARG_LDW,
                        GEMM_PACK_WT_ARG_WT,
                        GEMM_PACK_WT_ARG_COUNT
};
enum gemm_bcast_arg { /* gemm_bcast */
                      GEMM_BCAST_ARG_ROWS,
                      GEMM_BCAST_ARG_COLS,
                      GEMM_BCAST_ARG_K,
                      GEMM_BCAST_ARG_X,
                      GEMM_BCAST_ARG_X_OFF,
                      GEMM_BCAST_ARG_LDX,
                      GEMM_BCAST_ARG_WT,
                      GEMM_BCAST_ARG_COLS_PADDED,
                      GEMM_BCAST_ARG_BIAS,
                      GEMM_BCAST_ARG_B_OFF,
                      GEMM_BCAST_ARG_HAS_BIAS,
                      GEMM_BCAST_ARG_Y,
                      GEMM_BCAST_ARG_Y_OFF,
                      GEMM_BCAST_ARG_LDY,
                      GEMM_BCAST_ARG_COUNT
};
enum attention_pack_kv_arg { /* attention_pack_kv */
                             ATTENTION_PACK_KV_ARG_N,
                             ATTENTION_PACK_KV_ARG_NPAD,
                             ATTENTION_PACK_KV_ARG_D,
                             ATTENTION_PACK_KV_ARG_DV,
                             ATTENTION_PACK_KV_ARG_KV_HEADS,
                             ATTENTION_PACK_KV_ARG_LAY,
                             ATTENTION_PACK_KV_ARG_K,
                             ATTENTION_PACK_KV_ARG_V,
                             ATTENTION_PACK_KV_ARG_KP,
                             ATTENTION_PACK_KV_ARG_VP,
                             ATTENTION_PACK_KV_ARG_VARLEN, /* VARLEN_*: then the next two */
                             ATTENTION_PACK_KV_ARG_CU_K,
                             ATTENTION_PACK_KV_ARG_CAP_K,
                             ATTENTION_PACK_KV_ARG_BLOCK_TABLE, /* paged KV: see PAGING_* */
                             ATTENTION_PACK_KV_ARG_SEQLENS_K,
                             ATTENTION_PACK_KV_ARG_PAGING,
                             ATTENTION_PACK_KV_ARG_COUNT
};
enum attention_arg { /* attention_cpu and attention_gpu */
                     ATTENTION_ARG_M,
                     ATTENTION_ARG_N,
                     ATTENTION_ARG_D,
                     ATTENTION_ARG_DV,
                     ATTENTION_ARG_Q_HEADS,
                     ATTENTION_ARG_GROUP,
                     ATTENTION_ARG_SCALE2,
                     ATTENTION_ARG_CAUSAL,
                     ATTENTION_ARG_DIAG,
                     ATTENTION_ARG_MASK_KIND,
                     ATTENTION_ARG_CHUNK,
                     ATTENTION_ARG_NPAD,
                     ATTENTION_ARG_LAY,
                     ATTENTION_ARG_LAY2,
                     ATTENTION_ARG_Q,
                     ATTENTION_ARG_K,
                     ATTENTION_ARG_V,
                     ATTENTION_ARG_MASK,
                     ATTENTION_ARG_O,
                     ATTENTION_ARG_LSE,
                     ATTENTION_ARG_PART,
                     ATTENTION_ARG_STATS,
                     ATTENTION_ARG_VARLEN, /* VARLEN_*: then the next four are read */
                     ATTENTION_ARG_CU_Q,
                     ATTENTION_ARG_CU_K,
                     ATTENTION_ARG_CAP_Q,
                     ATTENTION_ARG_CAP_K,
                     ATTENTION_ARG_BLOCK_TABLE, /* int [B, max_pages] or NULL (not paged) */
                     ATTENTION_ARG_SEQLENS_K,   /* int [B] or NULL */
                     ATTENTION_ARG_PAGING,      /* uint4, slots PAGING_* */
                     /* Attention sinks: [Hq] logits or NULL (added at the merge when split),
                      * and the sink keys (read only under a window). */
                     ATTENTION_ARG_SINKS,
                     ATTENTION_ARG_SINK_KEYS,
                     /* Dropout (read only under -DDROPOUT=1): Philox key, stream offset,
                      * threshold ceil(p 2^32) and 1 / (1 - p) (kernels/philox.h). */
                     ATTENTION_ARG_DROP_SEED,
                     ATTENTION_ARG_DROP_OFFSET,
                     ATTENTION_ARG_DROP_THRESHOLD,
                     ATTENTION_ARG_DROP_SCALE,
                     ATTENTION_ARG_COUNT
};
enum kv_append_arg { /* kv_append */
                     KV_APPEND_ARG_TOKENS,
                     KV_APPEND_ARG_KV_HEADS,
                     KV_APPEND_ARG_D,
                     KV_APPEND_ARG_DV,
                     KV_APPEND_ARG_PAGING, /* uint4, slots PAGING_* (BOTTOM_RIGHT unused) */
                     KV_APPEND_ARG_LAY,    /* ulong16: k_new, v_new, k_pages, v_pages (LAY_*) */
                     KV_APPEND_ARG_K_NEW,
                     KV_APPEND_ARG_V_NEW,
                     KV_APPEND_ARG_K_PAGES,
                     KV_APPEND_ARG_V_PAGES,
                     KV_APPEND_ARG_BLOCK_TABLE,
                     KV_APPEND_ARG_SEQLENS_K,
                     KV_APPEND_ARG_COUNT
};
enum attention_merge_arg { /* attention_merge */
                           ATTENTION_MERGE_ARG_M,
                           ATTENTION_MERGE_ARG_DV,
                           ATTENTION_MERGE_ARG_Q_HEADS,
                           ATTENTION_MERGE_ARG_SPLITS,
                           ATTENTION_MERGE_ARG_PSTRIDE,
                           ATTENTION_MERGE_ARG_NORM,
                           ATTENTION_MERGE_ARG_LAY,
                           ATTENTION_MERGE_ARG_LAY2,
                           ATTENTION_MERGE_ARG_PART,
                           ATTENTION_MERGE_ARG_STATS,
                           ATTENTION_MERGE_ARG_O,
                           ATTENTION_MERGE_ARG_LSE,
                           ATTENTION_MERGE_ARG_SINKS, /* [Hq] logits or NULL */
                           ATTENTION_MERGE_ARG_COUNT
};

#ifdef __OPENCL_VERSION__
/* Slot s of a packed layout vector (LAY_K + LAYOUT_ROW, ...). */
static inline ulong lay16(ulong16 v, uint s) {
    return ((const ulong *)&v)[s];
}
static inline ulong lay8(ulong8 v, uint s) {
    return ((const ulong *)&v)[s];
}
/* Element index of (batch b, head h, row 0) of tensor t (LAY_Q, ...), and its row stride. */
static inline ulong lay16_base(ulong16 v, uint t, ulong b, ulong h) {
    return lay16(v, t + LAYOUT_OFFSET) + b * lay16(v, t + LAYOUT_BATCH) +
           h * lay16(v, t + LAYOUT_HEAD);
}
static inline ulong lay16_row(ulong16 v, uint t) {
    return lay16(v, t + LAYOUT_ROW);
}
static inline ulong lay8_base(ulong8 v, uint t, ulong b, ulong h) {
    return lay8(v, t + LAYOUT_OFFSET) + b * lay8(v, t + LAYOUT_BATCH) +
           h * lay8(v, t + LAYOUT_HEAD);
}
static inline ulong lay8_row(ulong8 v, uint t) {
    return lay8(v, t + LAYOUT_ROW);
}

/* A paged KV cache: sequence b's key count, clamped into [0, n] (device data may be bad). */
static inline long paged_keys(__global const int *seqlens_k, uint b, long n) {
    return clamp((long)seqlens_k[b], 0L, n);
}
/* Element offset of key j (0 <= j < max_pages * page_size) of sequence b from its head's
 * origin (layout offset + head * head stride): in page block_table[b][j / P], row j % P; a
 * page id outside [0, num_pages) is clamped (never an out-of-bounds read). */
static inline ulong paged_offset(__global const int *table, uint4 paging, uint b, long j,
                                 ulong page_stride, ulong row_stride) {
    /* 32-bit division: the host checks that max_pages * page_size fits in int32. */
    const uint key = (uint)j, page_size = paging.s0;
    const int id = table[(ulong)b * paging.s1 + key / page_size];
    const ulong page = (ulong)clamp(id, 0, (int)paging.s2 - 1);
    return page * page_stride + (ulong)(key % page_size) * row_stride;
}

/* Attention variants (see clattn_attention_desc). ALiBi's standard slope of query head h out
 * of `heads`: 2^(-8 (h + 1) / n) for the first n = 2^floor(log2 heads) heads, then the odd
 * ones 2^(-4 (2 (h - n) + 1) / n). */
static inline float alibi_slope(uint h, uint heads) {
    uint n = 1;
    while (n * 2 <= heads)
        n *= 2;
    return h < n ? exp2(-8.0f * (float)(h + 1) / (float)n)
                 : exp2(-4.0f * (float)(2 * (h - n) + 1) / (float)n);
}
/* Model variants of the attention kernels (host/plan/plan_attention.c): SOFTCAP (the cap, a
 * float literal; absent = off), ALIBI (1: standard slopes), WIN_LEFT / WIN_RIGHT (the sliding
 * window, -1 = unbounded). Softcap applies to every score (in base 2: the natural score is
 * capped), ALiBi and the window where the masks do. DROPOUT (1: Philox dropout on the
 * weights, training only) and SINKS (attention_gpu.cl: 1 folds the sink logits in; the CPU
 * shape reads its `sinks` argument whenever it is not NULL). */
#ifndef ALIBI
#define ALIBI 0
#endif
/* PAGED (attention_gpu.cl): 1 compiles the paged KV cache's addressing in (the planner sets
 * it for a paged desc only: through the block table the GPU shape's dense path would need
 * more registers). The CPU shape reads `paging` at run time. */
#ifndef PAGED
#define PAGED 0
#endif
#ifndef DROPOUT
#define DROPOUT 0
#endif
#ifndef SINKS /* attention_gpu.cl: 1 when the desc has sink logits */
#define SINKS 0
#endif
#ifndef WIN_LEFT
#define WIN_LEFT (-1L)
#endif
/* Storage types of the attention tensors and of the seed op's x, q and v (DTYPE_*, the
 * planner defines the non-float32 ones). */
#ifndef X_DTYPE
#define X_DTYPE 0
#endif
#ifndef Q_DTYPE
#define Q_DTYPE 0
#endif
#ifndef K_DTYPE
#define K_DTYPE 0
#endif
#ifndef V_DTYPE
#define V_DTYPE 0
#endif
#ifndef O_DTYPE
#define O_DTYPE 0
#endif
#ifndef MASK_DTYPE
#define MASK_DTYPE 0
#endif
#ifndef WIN_RIGHT
#define WIN_RIGHT (-1L)
#endif
/* Storage types of the linear layer's x, W, bias and y (linear.cl; DTYPE_*, the planner
 * defines the non-float32 ones only, so float32 programs keep their options). */
#ifndef GEMM_X_DTYPE
#define GEMM_X_DTYPE 0
#endif
#ifndef GEMM_W_DTYPE
#define GEMM_W_DTYPE 0
#endif
#ifndef GEMM_B_DTYPE
#define GEMM_B_DTYPE 0
#endif
#ifndef GEMM_Y_DTYPE
#define GEMM_Y_DTYPE 0
#endif
/* The keys row i may see: [visible_begin, visible_end). The first, under a window of WIN_LEFT
 * keys to the left of the diagonal i + diag. */
static inline long visible_begin(long i, long n, long diag) {
    return WIN_LEFT < 0 ? 0 : clamp(i + diag - WIN_LEFT, 0L, n);
}
/* An attention sink joins a finished row (natural-log sink logit `sink`; m the row's base-2
 * maximum, -inf when nothing was attended, l its sum of 2^(s - m)): m and l take the sink in,
 * and the result is the factor for the row's accumulator. A row with nothing attended ends
 * with l = 1 and factor 0: O = 0 and LSE = sink. */
static inline float sink_fold(float sink, float *m, float *l) {
    const float sink2 = sink * 1.44269504088896341f;
    if (*m == -INFINITY) {
        *m = sink2;
        *l = 1.0f;
        return 0.0f;
    }
    const float mx = fmax(*m, sink2), f = exp2(*m - mx);
    *l = *l * f + exp2(sink2 - mx);
    *m = mx;
    return f;
}
/* The end (exclusive): causal j <= i + diag, and the window's right side
 * j <= i + diag + WIN_RIGHT. */
static inline long visible_end(long i, long n, int causal, long diag) {
    long end = causal ? i + diag + 1 : n;
    if (WIN_RIGHT >= 0) end = min(end, i + diag + WIN_RIGHT + 1);
    return clamp(end, 0L, n);
}
/* Variable-length batches: rows [*begin, *begin + *len) of sequence b in a packed tensor
 * whose buffers hold `cap` rows. The offsets are the caller's device data: cu[b] and
 * cu[b + 1] are clamped into [0, cap] and the length to max_len (the grid), so no offset
 * reads or writes out of bounds (a longer sequence is cut). */
static inline void varlen_rows(__global const int *cu, uint b, ulong cap, ulong max_len,
                               ulong *begin, ulong *len) {
    const long beg = clamp((long)cu[b], 0L, (long)cap);
    const long end = clamp((long)cu[b + 1], beg, (long)cap);
    *begin = (ulong)beg;
    *len = min((ulong)(end - beg), max_len);
}
/* Makes sequence b of a varlen batch an ordinary problem for the kernels: Q, O and the LSE
 * (and K, V) rebased on its first query (key) row, their batch strides 0, and *M, *N, *diag
 * those of the sequence. */
static inline void varlen_sequence(int varlen, __global const int *cu_q, __global const int *cu_k,
                                   ulong cap_q, ulong cap_k, uint b, ulong16 *lay, ulong8 *lay2,
                                   ulong *M, ulong *N, long *diag) {
    ulong q0, k0;
    varlen_rows(cu_q, b, cap_q, *M, &q0, M);
    varlen_rows(cu_k, b, cap_k, *N, &k0, N);
    (*lay).s0 += q0 * (*lay).s3;
    (*lay).s4 += k0 * (*lay).s7;
    (*lay).s8 += k0 * (*lay).sb;
    (*lay).sc += q0 * (*lay).sf;
    (*lay2).s4 += q0 * (*lay2).s7;
    (*lay).s1 = (*lay).s5 = (*lay).s9 = (*lay).sd = (*lay2).s5 = 0;
    *diag = varlen == VARLEN_BOTTOM_RIGHT ? (long)*N - (long)*M : 0;
}
#else
#include "clattn.h"

_Static_assert(NORM_NONE == CLATTN_NORM_NONE && NORM_SUM == CLATTN_NORM_SUM &&
                   NORM_SOFTMAX == CLATTN_NORM_SOFTMAX,
               "kernels/contract.h: norm values differ from clattn_norm");
_Static_assert(CAUSAL_NONE == CLATTN_CAUSAL_NONE && CAUSAL_TOP_LEFT == CLATTN_CAUSAL_TOP_LEFT &&
                   CAUSAL_BOTTOM_RIGHT == CLATTN_CAUSAL_BOTTOM_RIGHT,
               "kernels/contract.h: causal values differ from clattn_causal");
_Static_assert(MASK_NONE == CLATTN_MASK_NONE && MASK_ADDITIVE == CLATTN_MASK_ADDITIVE &&
                   MASK_BOOLEAN == CLATTN_MASK_BOOLEAN,
               "kernels/contract.h: mask values differ from clattn_mask_kind");

/* A host argument array must hold exactly the kernel's arguments. */
#define CLATTN_ARGS_MATCH(args, count)                                                             \
    _Static_assert(sizeof(args) / sizeof((args)[0]) == (count),                                    \
                   #args " does not match the kernel's arguments in kernels/contract.h")
#endif

#endif
