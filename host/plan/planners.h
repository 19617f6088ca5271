/* One pure planner per operation: device profile + problem -> the kernels, their -D defines,
 * the launch geometry and the scratch bytes (see launch_plan.h). No OpenCL calls: the same
 * functions answer for the handle's device (host/opencl/ops/) and for a built-in profile of
 * a device that is not present (profile.h). Arguments are assumed validated by the
 * operation (sizes > 0, descriptors checked); sizes that overflow give a status. */
#ifndef CLATTN_PLAN_PLANNERS_H
#define CLATTN_PLAN_PLANNERS_H

#include "launch_plan.h"

/* ---- scores (kernels/scores.cl) ---------------------------------------------------------- */
typedef struct clattn_scores_plan {
    clattn_plan base; /* one launch: scores_rows (CPU) or scores_lanes (GPU) */
    bool cpu;
    unsigned lanes; /* GPU: work-items per row */
} clattn_scores_plan;
/* dtypes: x's and q's storage (NULL = float32; validated). */
clattn_status clattn__plan_scores(const clattn_device_profile *p, size_t n, size_t d,
                                  const clattn_seed_dtypes *dtypes, clattn_scores_plan *out);

/* ---- normalize (kernels/normalize.cl) ---------------------------------------------------- */
typedef struct clattn_normalize_plan {
    clattn_plan base; /* none (NONE: a copy or a marker), norm_small, or partials/finish/apply */
    bool small;
    unsigned groups; /* level-1 work-groups of the large path */
} clattn_normalize_plan;
clattn_status clattn__plan_normalize(const clattn_device_profile *p, clattn_norm norm, size_t n,
                                     clattn_normalize_plan *out);

/* ---- context (kernels/context.cl) -------------------------------------------------------- */
typedef struct clattn_context_plan {
    clattn_plan base; /* context_partials[_vec], context_finish */
    size_t blocks, rows_per_block;
} clattn_context_plan;
/* dtypes: v's storage (NULL = float32; validated). */
clattn_status clattn__plan_context(const clattn_device_profile *p, size_t n, size_t d,
                                   const clattn_seed_dtypes *dtypes, clattn_context_plan *out);

/* ---- the one-launch query pipeline for small problems (kernels/query_small.cl) ----------- */
/* Whether n x d is small enough for one work-group. */
bool clattn__plan_query_small_fits(size_t n, size_t d);
/* dtypes: x's, q's and v's storage (NULL = float32; validated; v's is the buffer bound as v). */
clattn_status clattn__plan_query_small(const clattn_device_profile *p, size_t n, size_t d,
                                       const clattn_seed_dtypes *dtypes, clattn_plan *out);

/* The seed programs' -DX_DTYPE/-DQ_DTYPE/-DV_DTYPE defines for the tensors a program reads
 * (uses: any of "xqv"), appended to defines: only the 2-byte ones, so float32 programs keep
 * their options; and -DNATIVE_HALF where a float16 input is read, the device reports
 * cl_khr_fp16 and clattn__seed_native_half asks for it (plan_seed_dtypes.c). */
void clattn__plan_seed_dtype_defines(const clattn_device_profile *p,
                                     const clattn_seed_dtypes *dtypes, const char *uses,
                                     char *defines, size_t size);
/* Whether the seed programs read float16 with native half loads on a device with
 * cl_khr_fp16: CLATTN_NATIVE_HALF=1 or 0 (tuning.h), else the tuning table's default. */
bool clattn__seed_native_half(const clattn_device_profile *p);

/* ---- attention weights (kernels/weights.cl) ---------------------------------------------- */
typedef struct clattn_weights_launch_plan {
    clattn_plan base; /* weights_scores_rows|tiled, [weights_normalize_rows] */
    size_t tile;      /* GPU: edge of the square scores work-group */
} clattn_weights_launch_plan;
clattn_status clattn__plan_weights(const clattn_device_profile *p,
                                   const clattn_attention_desc *desc,
                                   clattn_weights_launch_plan *out);

/* ---- linear layer (kernels/linear.cl) ---------------------------------------------------- */
typedef struct clattn_linear_plan {
    clattn_plan base; /* GPU: gemm_tiled; CPU: gemm_pack_wt, gemm_bcast (W^T in scratch) */
    bool cpu;
    size_t edge;        /* GPU: work-group edge (-DGEMM_WG) */
    size_t cols_padded; /* CPU: columns of the packed W^T */
} clattn_linear_plan;
clattn_status clattn__plan_linear(const clattn_device_profile *p, size_t rows, size_t cols,
                                  size_t k, clattn_linear_plan *out);
/* As clattn__plan_linear for tensors stored as dtypes (NULL: all float32; validated by the
 * caller): the same launches and geometry, with -DGEMM_X_DTYPE .. -DGEMM_Y_DTYPE for the
 * 2-byte tensors only (the packed W^T scratch of the CPU shape stays float32). */
clattn_status clattn__plan_linear_ex(const clattn_device_profile *p, size_t rows, size_t cols,
                                     size_t k, const clattn_linear_dtypes *dtypes,
                                     clattn_linear_plan *out);

/* ---- fused attention (kernels/attention.cl (CPU), attention_gpu.cl, attention_merge.cl) -- */
typedef struct clattn_attention_plan {
    clattn_plan base; /* [attention_pack_kv], attention_cpu|gpu, [attention_merge] */
    bool cpu;
    size_t head_d, head_dv; /* padded (-DHEAD_D -DHEAD_DV) */
    size_t tiles, rows, kv, vc;
    bool direct;  /* CPU: K and V read in place */
    size_t heads; /* CPU: query heads of one K/V head per work-group (-DHEADS), rows head * M + i */
    size_t bm, bn;     /* GPU: rows (of a GQA group) per work-group, keys per tile */
    size_t wg, rpt;    /* GPU: work-items per work-group, rows per work-item */
    size_t slice, vch; /* GPU: Q/K slice width of D, V chunk of keys */
    int shuffle;       /* GPU: SUBGROUP_SHUFFLE_* (contract.h) the row groups reduce with, 0 none */
    size_t group_rows; /* query rows per work-group */
    size_t row_groups;
    size_t key_align; /* split chunks are multiples of this */
    size_t npad;      /* CPU: N padded to the key block */
    size_t splits, chunk;
    /* Scratch regions (byte offsets; each aligned for a sub-buffer): packed K, packed V,
     * split partials, split statistics; base.scratch_bytes is the total. */
    size_t kp_offset, vp_offset, part_offset, stats_offset;
    /* Indices into base.launch (-1 when absent). */
    int pack, attention, merge;
} clattn_attention_plan;
/* Whether a tuned attention entry (tuned.h) fits profile p: the kernel's rules and ranges,
 * the work-group limit and local memory (the planner applies only such entries). */
bool clattn__attention_tuned_fits(const clattn_device_profile *p, const clattn_tuned_entry *e);
clattn_status clattn__plan_attention(const clattn_device_profile *p,
                                     const clattn_attention_desc *desc, clattn_attention_plan *out);

/* ---- the paged KV cache's append (kernels/kv_append.cl) -------------------------------- */
clattn_status clattn__plan_kv_append(const clattn_device_profile *p,
                                     const clattn_kv_append_desc *desc, clattn_plan *out);

#endif
