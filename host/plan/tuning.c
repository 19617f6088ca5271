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

/* Off: on Intel's CPU runtime (the one device here with cl_khr_fp16; PoCL 3.1 has none) native
 * half loads were no faster than vload_half (bench_dtype, n = 2^20, d = 64, 15 alternating
 * rounds on a shared machine: scores 39.9 vs 40.1 ms, pipeline 196 vs 192 ms). Turn it on per
 * device family only where a measurement shows a gain. */
const clattn_seed_dtype_tuning clattn_seed_dtype_tune = {
    .native_half = false,
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
    /* AVX2 (PoCL "haswell", 2 Zen cores, 2026-11-30): 6 x 4 float16 accumulators are 48 of
     * 16 ymm registers, and perf showed 53% of the kernel's cycles on stack operands against
     * 16% on FMAs. 4 rows x 16 keys, one output chunk: 1.66x at GPT-2's shape (B=1 H=12
     * T=1024 D=64 causal), 1.51x at Hq=8 Hkv=2 T=2048 D=128 causal (medians of alternating
     * runs on a loaded machine); 2,2,2 was as fast, 4,2,1 and 3,2,1 slower. */
    .narrow_rows = 4,
    .narrow_kv = 1,
    .narrow_vc = 1,
    /* Decoding (a few rows): K and V read once in place, 32-key blocks. */
    .direct_max_rows = 8,
    .direct_kv = 2,
    /* N = 16384, D = 64 (8 MiB): 160 vs 120 GFLOP/s/core with 4x the tiles. */
    .large_kv_bytes = 4u << 20,
    .cpu_units_per_cu = 4,
    /* Decoding: up to 16 rows of a GQA group take the family's decode tile. */
    .gpu_decode_rows = 16,
    .min_split_keys = 256,
    .max_splits = 64,
    .cpu_split_target = 4,
    .gpu_split_target = 2,
    .merge_group = 64,
};

/* Per device family. Every tile keeps the kernel's rules (tools/kernel-report.sh, test_plan):
 * row groups of TPR = group / bm work-items dividing bn and 16 (Dv is padded to 16). Local
 * bytes of a tile (plan_attention.c) at D = 256: 27.5 KB for 256 x 32 x 32, 23 KB for
 * 128 x 16 x 32; the budget leaves room for a second resident work-group where the hardware
 * has it. Indexed by clattn_vendor. */
static const clattn_attention_gpu_tile gpu_tiles[] = {
    /* Other GPUs (and the GPU shape on CPU runtimes, PoCL and Oclgrind): the NVIDIA/AMD tile,
     * within OpenCL 1.2's minimum of 32 KiB of local memory for a GPU. */
    [CLATTN_VENDOR_OTHER] = {"other", 256, 32, 32, 16, 64, 32768},
    /* NVIDIA: 256 work-items = 8 whole warps; row groups of 8 keep 64-94 registers a
     * work-item (no spills; 25-50 % occupancy, register-bound); 32 KiB of the 48 KiB static
     * limit (up to 228 KiB per SM on sm_90: several groups stay resident). Decoding: 16
     * work-items a row, 64-key tiles. */
    [CLATTN_VENDOR_NVIDIA] = {"nvidia", 256, 32, 32, 16, 64, 32768},
    /* AMD: 256 = 4 wave64s (8 wave32s on RDNA), the most a kernel gets without
     * reqd_work_group_size on ROCm; 64 KiB of LDS per CU binds first (11-15 KB a group at
     * D <= 128: 4 groups a CU), so no more local memory than NVIDIA. */
    [CLATTN_VENDOR_AMD] = {"amd", 256, 32, 32, 16, 64, 32768},
    /* Intel Xe: 256 work-items = 16 SIMD16 threads of one Xe-core, 64 KiB of SLM per
     * Xe-core: 32 KiB leaves room for two groups. */
    [CLATTN_VENDOR_INTEL] = {"intel", 256, 32, 32, 16, 64, 32768},
    /* ARM Mali (Valhall/Bifrost): 384-512 work-items at most and 64 registers a thread for
     * full occupancy; local memory is carved from the core's caches (32 KiB reported): half
     * the work-items and rows, 24 KiB (D = 256: 23 KB prefill, 21 KB decode). */
    [CLATTN_VENDOR_ARM] = {"mali", 128, 16, 32, 8, 32, 24576},
    /* Qualcomm Adreno: waves of 64/128 fibers with a small register file per fiber at full
     * occupancy, 32 KiB of local memory: as Mali, one 128-wide wave or two 64-wide ones. */
    [CLATTN_VENDOR_QUALCOMM] = {"adreno", 128, 16, 32, 8, 32, 24576},
    /* Apple (OpenCL 1.2 on Metal): 256 work-items at most = 8 SIMD groups of 32, 32 KiB of
     * threadgroup memory: the NVIDIA tile fits it (27.5 KB at D = 256). */
    [CLATTN_VENDOR_APPLE] = {"apple", 256, 32, 32, 16, 64, 32768},
};

const clattn_attention_gpu_tile *clattn__attention_gpu_tile(clattn_vendor vendor) {
    if ((size_t)vendor >= sizeof gpu_tiles / sizeof gpu_tiles[0] || !gpu_tiles[vendor].family)
        return &gpu_tiles[CLATTN_VENDOR_OTHER];
    return &gpu_tiles[vendor];
}
