/* The tuning tables (tuning.h). Measurements: PoCL 3.1 on 2 AVX-512 cores unless noted. */
#include "tuning.h"

const clattn_scores_tuning clattn_scores_tune = {
    /* 8 consecutive rows a work-item: one sequential stream, 0.90-0.98 of a read kernel. */
    .cpu_rows = 8,
    .cpu_group = 64,
    .gpu_group = 256,
    /* About four elements a lane, at most a 32-lane row (one warp on most GPUs). */
    .gpu_max_lanes = 32,
    .gpu_lane_elems = 4,
};

const clattn_normalize_tuning clattn_normalize_tune = {
    .group = 256,
    .small_per_item = 16,
    .max_groups = 1024,
    /* A CPU runs work-groups one after another per core: n = 262144 took 1.7 ms with 1024
     * groups, 1.0 ms with 8. */
    .cpu_groups_per_unit = 4,
};

const clattn_context_tuning clattn_context_tune = {
    .min_rows = 64,
    .max_blocks = 1024,
    .cpu_blocks_per_unit = 8,
    .partials_group = 256,
    .gpu_max_cols = 32,
    .finish_group = 64,
};

const clattn_query_small_tuning clattn_query_small_tune = {
    .max_elements = 65536,
    .max_rows = 16384,
    .group = 256,
};

const clattn_weights_tuning clattn_weights_tune = {
    .max_tile = 16,
    .cpu_group = 16,
    .normalize_group = 256,
    .normalize_elems = 4,
};

const clattn_linear_tuning clattn_linear_tune = {
    .max_edge = 16, /* 16 x 16 = 256 work-items, a 64 x 64 block of y */
    /* One work-item a work-group: PoCL runs the register tile as written instead of looping
     * work-items around it (2x faster than 16). */
    .cpu_group = 1,
};

const clattn_attention_tuning clattn_attention_tune = {
    /* 6 rows x 64 keys (KV = 4): 64 keys a block rather than 32 spread each block's softmax
     * over twice the FMAs (+4% at D = 64 and 128, M = N = 4096); 6 rows keep the 24 score
     * accumulators and 4 key vectors within the 32 registers. */
    .cpu_rows = 6,
    .cpu_kv = 4,
    .cpu_vc = 2,
    /* Decoding (a few rows): K and V read once in place, 32-key blocks. */
    .direct_max_rows = 8,
    .direct_kv = 2,
    /* N = 16384, D = 64 (8 MiB): 160 vs 120 GFLOP/s/core with 4x the tiles. */
    .large_kv_bytes = 4u << 20,
    .cpu_units_per_cu = 4,
    /* What a typical GPU offers, even where the device reports more (PoCL reports its
     * global memory as local). */
    .gpu_local_budget = 32768,
    /* kernels/attention_gpu.cl: 256 work-items (whole NVIDIA warps and AMD waves) in row
     * groups of 8 keep 64-86 registers a work-item at D <= 128 and 11-15 KB of local memory
     * (tools/kernel-report.sh: no spills, 25-62 % occupancy on sm_80/sm_90/gfx90a, more on
     * gfx1100); decoding (a GQA group's rows <= 16) uses 16 work-items a row, 64-key tiles. */
    .gpu_group = 256,
    .gpu_bm = 32,
    .gpu_bn = 32,
    .gpu_decode_rows = 16,
    .gpu_decode_bm = 16,
    .gpu_decode_bn = 64,
    .min_split_keys = 256,
    .max_splits = 64,
    .cpu_split_target = 4,
    .gpu_split_target = 2,
    .merge_group = 64,
};
