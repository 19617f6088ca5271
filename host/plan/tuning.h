/* Tuning tables: every tile size, rows per work-item, work-group size and split limit the
 * planners use, one named table per operation (values in tuning.c, each with why).
 *
 * Where a tuned value comes from, first match wins:
 *   1. the environment overrides below (CLATTN_ATTENTION_CPU_TILE, CLATTN_ATTENTION_GPU_TILE),
 *      when well-formed and within the kernel's rules;
 *   2. the device's tuned table, written by `clattn tune` (tools/cmd_tune.c) to
 *      <cache folder>/tune-<hash of device name and driver>.txt (format: host/opencl/
 *      tune_file.h; the cache folder is the program cache's: CLATTN_CACHE_DIR, else
 *      $XDG_CACHE_HOME/clattn, else ~/.cache/clattn; "off" disables both). The opencl layer
 *      reads it when a handle is created (host/opencl/tune_table.c) and hands its entries
 *      down in the profile (profile.h: tuned); a corrupt, truncated or foreign table is
 *      ignored whole, an entry out of range or beyond the device's limits alone
 *      (clattn__attention_tuned_fits: work-group limit, local memory, the kernel's rules).
 *      Entries exist for the attention tiles (CPU and GPU shape, prefill) per head dim D;
 *   3. the defaults per device family: the CPU register tile in clattn_attention_tune
 *      (cpu_rows, cpu_kv, cpu_vc; row tiles from the head width), the GPU tile per vendor in
 *      tuning.c's gpu_tiles (clattn__attention_gpu_tile), halved by the planner where the
 *      device allows fewer work-items or less local memory; every other operation's values
 *      in the tables below (not tuned per device yet).
 *
 * Environment overrides (read by the planners; the only ones the library has):
 *   CLATTN_ATTENTION_CPU_TILE="rows,kv,vc,tiles"  the attention CPU shape's register tile:
 *       query rows per tile (1-16), float16 key vectors per block (1-4), float16 output
 *       chunks per P V step (1-4) and row tiles per work-item (1-16); for tuning on a new CPU.
 *   CLATTN_ATTENTION_GPU_TILE="wg,bm,bn,rpt"  the attention GPU shape's tile instead of the
 *       device family's (clattn__attention_gpu_tile); for tuning on a new GPU.
 *   CLATTN_SUBGROUPS=0|khr|intel  the attention GPU shape's row-group reductions: 0 forces
 *       the portable local-memory path; khr or intel allows only that sub-group shuffle
 *       (cl_khr_subgroup_shuffle, cl_intel_subgroups) where the device offers it; unset (or
 *       anything else): the device's, khr first.
 *   CLATTN_NATIVE_HALF=1|0  the seed op's float16 inputs read with native half loads
 *       (-DNATIVE_HALF, cl_khr_fp16) or with core vload_half; 1 only takes effect where the
 *       device reports cl_khr_fp16; unset (or anything else): clattn_seed_dtype_tune.
 * Other variables of the library (not tuning): CLATTN_MULTI_SPLIT=rows|keys (the axis
 * clattn_attention_multi splits; host/multi/split.c), CLATTN_DEVICE, CLATTN_CACHE_DIR,
 * CLATTN_KERNEL_DIR, CLATTN_CPU_THREADS (see README.md), CLATTN_CPU_TILES=wide|narrow (the
 * fast CPU attention's register tiles, 8 x 32 or 4 x 16; default by the CPU's vector width;
 * host/cpu/attention.c), and CLATTN_CL_STD="1.2"|"3.0": the
 * OpenCL C version the kernels are built as (-cl-std; default 1.2; 3.0 only where the device
 * offers it, else handle creation fails with CLATTN_ERROR_UNSUPPORTED; host/opencl/cl_std.c),
 * so that tools/matrix.sh tests both. */
#ifndef CLATTN_PLAN_TUNING_H
#define CLATTN_PLAN_TUNING_H

#include "profile.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct clattn_scores_tuning {
    size_t cpu_rows;       /* rows per work-item of scores_rows (-DSCORES_ROWS) */
    size_t cpu_group;      /* work-group of scores_rows */
    size_t gpu_group;      /* work-group of scores_lanes */
    size_t gpu_max_lanes;  /* work-items sharing a row */
    size_t gpu_lane_elems; /* elements per lane the lane count aims at */
} clattn_scores_tuning;
extern const clattn_scores_tuning clattn_scores_tune;

typedef struct clattn_normalize_tuning {
    size_t group;               /* work-group of every normalize kernel */
    size_t small_per_item;      /* up to this many scores per work-item: one launch, no scratch */
    size_t max_groups;          /* level-1 work-groups (the finishing group combines them) */
    size_t cpu_groups_per_unit; /* CPU: level-1 work-groups per compute unit */
} clattn_normalize_tuning;
extern const clattn_normalize_tuning clattn_normalize_tune;

typedef struct clattn_context_tuning {
    size_t min_rows;            /* rows per block at least */
    size_t max_blocks;          /* GPU: row blocks at most */
    size_t cpu_blocks_per_unit; /* CPU: row blocks per compute unit at most */
    size_t partials_group;      /* GPU: work-group of context_partials */
    size_t gpu_max_cols;        /* GPU: columns of a context_partials work-group */
    size_t finish_group;        /* work-group of context_finish */
} clattn_context_tuning;
extern const clattn_context_tuning clattn_context_tune;

typedef struct clattn_query_small_tuning {
    size_t max_elements; /* n * d at most for the one-launch path */
    size_t max_rows;     /* n at most */
    size_t group;        /* its one work-group */
} clattn_query_small_tuning;
extern const clattn_query_small_tuning clattn_query_small_tune;

/* The seed programs' float16 loads (kernels/common.h). */
typedef struct clattn_seed_dtype_tuning {
    bool native_half; /* native half loads where the device reports cl_khr_fp16 */
} clattn_seed_dtype_tuning;
extern const clattn_seed_dtype_tuning clattn_seed_dtype_tune;

typedef struct clattn_weights_tuning {
    size_t max_tile;        /* GPU: largest edge of the square scores work-group */
    size_t cpu_group;       /* CPU: work-group of weights_scores_rows at most */
    size_t normalize_group; /* work-group of weights_normalize_rows at most */
    size_t normalize_elems; /* scores per work-item the normalize group aims at */
} clattn_weights_tuning;
extern const clattn_weights_tuning clattn_weights_tune;

typedef struct clattn_linear_tuning {
    size_t max_edge;  /* GPU: largest edge of gemm_tiled's square work-group (-DGEMM_WG) */
    size_t cpu_group; /* CPU: work-group of gemm_bcast */
} clattn_linear_tuning;
extern const clattn_linear_tuning clattn_linear_tune;

typedef struct clattn_attention_tuning {
    size_t cpu_rows, cpu_kv, cpu_vc; /* CPU register tile (-DROWS -DKV -DVC) */
    /* The tile where a SIMD register holds at most 8 floats (AVX2: 16 registers) */
    size_t narrow_rows, narrow_kv, narrow_vc;
    size_t direct_max_rows;            /* CPU: M at most for reading K/V in place (-DDIRECT) */
    size_t direct_kv;                  /* CPU: key vectors per block when direct */
    size_t large_kv_bytes;             /* CPU: K + V of a head beyond this: 4x the row tiles */
    size_t cpu_units_per_cu;           /* CPU: work-groups per compute unit at least */
    size_t gpu_decode_rows;            /* GPU: a GQA group's rows at most for the decode tile */
    size_t min_split_keys, max_splits; /* split-KV: keys per chunk at least, chunks at most */
    size_t cpu_split_target, gpu_split_target; /* split-KV: work-groups per compute unit */
    size_t merge_group;                        /* work-group of attention_merge */
} clattn_attention_tuning;
extern const clattn_attention_tuning clattn_attention_tune;

/* The GPU attention tile of one device family (kernels/attention_gpu.cl), chosen by the
 * profile's vendor; CLATTN_ATTENTION_GPU_TILE="wg,bm,bn,rpt" overrides it. */
typedef struct clattn_attention_gpu_tile {
    const char *family;
    size_t group;                /* work-items a work-group (-DWG) */
    size_t bm, bn;               /* rows per work-group, keys per tile */
    size_t decode_bm, decode_bn; /* the decode tile (a GQA group's rows <= gpu_decode_rows) */
    size_t local_budget;         /* local memory the tile plans with at most */
} clattn_attention_gpu_tile;
const clattn_attention_gpu_tile *clattn__attention_gpu_tile(clattn_vendor vendor);

#endif
