/* The launch planners (host/plan/) without a device, on the built-in profiles of a CPU, NVIDIA,
 * AMD and Intel GPUs: every launch fits the profile's limits and covers its problem, the
 * options hold every define the kernel #errors without, each profile gets its kernel shape.
 * Then on the default device: every planned kernel builds with exactly the planner's
 * options and has the argument count kernels/contract.h gives it, and clattn_scratch_size
 * reports the planners' scratch bytes. */
#include "test_common.h"
#include "contract.h"
#include "planners.h"
#include "profile.h"
#include "tuning.h"
#include "handle.h"
#include "program.h"

#include <stdlib.h>
#include <string.h>

static const char *const profile_names[] = {"cpu",      "sm_80", "sm_90",  "gfx90a", "gfx1100",
                                            "intel_xe", "mali",  "adreno", "apple"};
#define PROFILES (sizeof profile_names / sizeof profile_names[0])
static const size_t sizes[] = {1, 3, 113, 4097};
#define SIZES (sizeof sizes / sizeof sizes[0])
static const size_t head_dims[] = {1, 64, 80, 128, 256};
#define HEAD_DIMS (sizeof head_dims / sizeof head_dims[0])

static const clattn_device_profile *profile(const char *name) {
    const clattn_device_profile *p = clattn__profile_named(name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    return p;
}

static bool has_define(const char *options, const char *name) {
    char key[64];
    snprintf(key, sizeof key, "-D%s=", name);
    return strstr(options, key) != NULL;
}

/* The defines each source #errors without (the variant's shape decides attention's tiles). */
static void check_defines(const clattn_device_profile *p, const clattn_launch *l) {
    const bool cpu = p->variant == CLATTN_VARIANT_CPU;
    if (strcmp(l->source, "scores.cl") == 0) CU_ASSERT(has_define(l->options, "SCORES_ROWS"));
    if (strcmp(l->source, "weights.cl") == 0) CU_ASSERT(has_define(l->options, "WEIGHTS_TILE"));
    if (strcmp(l->source, "linear.cl") == 0) CU_ASSERT(has_define(l->options, "GEMM_WG"));
    if (strcmp(l->source, "attention.cl") == 0 || strcmp(l->source, "attention_gpu.cl") == 0) {
        static const char *const common[] = {"HEAD_D", "HEAD_DV", "NORM"};
        static const char *const cpu_tiles[] = {"ROWS", "TILES", "KV", "VC", "DIRECT"};
        static const char *const gpu_tiles[] = {"WG", "BM", "BN", "RPT", "SLICE", "VCH"};
        CU_ASSERT_EQUAL(strcmp(l->source, "attention.cl") == 0, cpu);
        for (size_t i = 0; i < 3; i++)
            CU_ASSERT(has_define(l->options, common[i]));
        for (size_t i = 0; cpu && i < 5; i++)
            CU_ASSERT(has_define(l->options, cpu_tiles[i]));
        for (size_t i = 0; !cpu && i < 6; i++)
            CU_ASSERT(has_define(l->options, gpu_tiles[i]));
        /* sub-group shuffles only where the profile offers them (and only CL3.0/CL2.0 for them) */
        CU_ASSERT(!has_define(l->options, "SUBGROUP_SHUFFLE") ||
                  (!cpu && (p->shuffle_khr || p->shuffle_intel)));
        CU_ASSERT((strstr(l->options, "-cl-std=") != NULL) ==
                  (strstr(l->options, "-DSUBGROUP_SHUFFLE=1") != NULL));
    }
}

/* Limits every launch of every plan must keep. */
static void check_plan(const clattn_device_profile *p, const clattn_plan *plan) {
    CU_ASSERT(plan->count <= CLATTN_PLAN_MAX_LAUNCHES);
    for (size_t i = 0; i < plan->count; i++) {
        const clattn_launch *l = &plan->launch[i];
        CU_ASSERT(l->dims >= 1 && l->dims <= 3);
        CU_ASSERT(l->local_bytes <= p->local_mem_size);
        for (unsigned k = 0; k < l->dims; k++)
            CU_ASSERT(l->global[k] >= 1);
        check_defines(p, l);
        if (l->any_local) continue;
        const size_t items = l->local[0] * l->local[1] * l->local[2];
        CU_ASSERT(items >= 1 && items <= clattn__profile_group_limit(p, l->reqd_size));
        for (unsigned k = 0; k < l->dims; k++)
            if (l->local[k] == 0 || l->global[k] % l->local[k] != 0) {
                CU_FAIL("global size not a multiple of the local size");
                fprintf(stderr, "  %s %s dim %u: global %zu local %zu\n", p->name, l->kernel, k,
                        l->global[k], l->local[k]);
            }
    }
}

static bool is_cpu(const clattn_device_profile *p) {
    return p->variant == CLATTN_VARIANT_CPU;
}

static void test_profiles(void) {
    CU_ASSERT_PTR_NULL(clattn__profile_named("no_such_gpu"));
    CU_ASSERT_PTR_NULL(clattn__profile_named(NULL));
    size_t count = 0;
    const clattn_device_profile *all = clattn__profiles(&count);
    CU_ASSERT_EQUAL(count, PROFILES);
    for (size_t i = 0; i < count; i++) {
        CU_ASSERT_PTR_EQUAL(clattn__profile_named(all[i].name), &all[i]);
        CU_ASSERT(all[i].max_work_group_size >= all[i].max_unannotated_work_group_size);
        CU_ASSERT(all[i].subgroup_sizes[0] > 0);
        CU_ASSERT(all[i].compute_units > 0 && all[i].local_mem_size > 0);
    }
    CU_ASSERT_EQUAL(profile("sm_90")->compute_units, 132);
    CU_ASSERT_EQUAL(profile("sm_90")->local_mem_size, 48 * 1024);
    CU_ASSERT_EQUAL(profile("gfx90a")->subgroup_sizes[0], 64);
    CU_ASSERT_EQUAL(profile("gfx90a")->max_unannotated_work_group_size, 256);
    CU_ASSERT_EQUAL(profile("intel_xe")->subgroup_sizes[2], 32);
    CU_ASSERT_EQUAL(profile("cpu")->variant, CLATTN_VARIANT_CPU);
    CU_ASSERT_EQUAL(profile("sm_80")->variant, CLATTN_VARIANT_GPU);
}

static void test_scores(void) {
    for (size_t pi = 0; pi < PROFILES; pi++) {
        const clattn_device_profile *p = profile(profile_names[pi]);
        for (size_t ni = 0; ni < SIZES; ni++)
            for (size_t di = 0; di < HEAD_DIMS; di++) {
                const size_t n = sizes[ni], d = head_dims[di];
                clattn_scores_plan s;
                CU_ASSERT_EQUAL_FATAL(clattn__plan_scores(p, n, d, NULL, &s), CLATTN_SUCCESS);
                check_plan(p, &s.base);
                CU_ASSERT_EQUAL(s.base.count, 1);
                CU_ASSERT_EQUAL(s.base.scratch_bytes, 0);
                const clattn_launch *l = &s.base.launch[0];
                CU_ASSERT_STRING_EQUAL(l->kernel, is_cpu(p) ? "scores_rows" : "scores_lanes");
                if (is_cpu(p)) { /* SCORES_ROWS rows a work-item */
                    CU_ASSERT(l->global[0] * clattn_scores_tune.cpu_rows >= n);
                } else {
                    CU_ASSERT(s.lanes >= 1 && l->local[0] % s.lanes == 0);
                    CU_ASSERT(l->global[0] / s.lanes >= n);
                    CU_ASSERT_EQUAL(l->local_bytes, l->local[0] * sizeof(float));
                }
            }
    }
}

static void test_normalize(void) {
    static const clattn_norm norms[] = {CLATTN_NORM_NONE, CLATTN_NORM_SUM, CLATTN_NORM_SOFTMAX};
    const size_t big[] = {1, 3, 113, 4097, 1000003};
    for (size_t pi = 0; pi < PROFILES; pi++) {
        const clattn_device_profile *p = profile(profile_names[pi]);
        for (size_t ni = 0; ni < 5; ni++)
            for (size_t k = 0; k < 3; k++) {
                const size_t n = big[ni];
                clattn_normalize_plan s;
                CU_ASSERT_EQUAL_FATAL(clattn__plan_normalize(p, norms[k], n, &s), CLATTN_SUCCESS);
                check_plan(p, &s.base);
                if (norms[k] == CLATTN_NORM_NONE) {
                    CU_ASSERT_EQUAL(s.base.count, 0);
                    continue;
                }
                CU_ASSERT_EQUAL(s.base.count, s.small ? 1 : 3);
                CU_ASSERT_EQUAL(s.base.scratch_bytes == 0, s.small);
                if (s.small) continue;
                /* Partials for every level-1 group plus the total, every score applied. */
                CU_ASSERT(s.base.scratch_bytes >= (s.groups + 1) * 2 * sizeof(float));
                CU_ASSERT_EQUAL(s.base.launch[0].global[0] / s.base.launch[0].local[0], s.groups);
                CU_ASSERT(s.base.launch[2].global[0] >= n);
            }
    }
}

static void test_context(void) {
    for (size_t pi = 0; pi < PROFILES; pi++) {
        const clattn_device_profile *p = profile(profile_names[pi]);
        for (size_t ni = 0; ni < SIZES; ni++)
            for (size_t di = 0; di < HEAD_DIMS; di++) {
                const size_t n = sizes[ni], d = head_dims[di];
                clattn_context_plan s;
                CU_ASSERT_EQUAL_FATAL(clattn__plan_context(p, n, d, NULL, &s), CLATTN_SUCCESS);
                check_plan(p, &s.base);
                CU_ASSERT_EQUAL(s.base.count, 2);
                CU_ASSERT_STRING_EQUAL(s.base.launch[0].kernel,
                                       is_cpu(p) ? "context_partials_vec" : "context_partials");
                CU_ASSERT(s.blocks * s.rows_per_block >= n);
                CU_ASSERT((s.blocks - 1) * s.rows_per_block < n); /* no empty block */
                CU_ASSERT_EQUAL(s.base.scratch_bytes, s.blocks * d * sizeof(float));
                const size_t cols = s.base.launch[0].global[0] * (is_cpu(p) ? CONTEXT_VEC_COLS : 1);
                CU_ASSERT(cols >= d);
                CU_ASSERT(s.base.launch[1].global[0] >= d);
            }
        clattn_context_plan s;
        CU_ASSERT_EQUAL(clattn__plan_context(p, 0, 3, NULL, &s), CLATTN_ERROR_INVALID_SIZE);
    }
}

static void test_weights(void) {
    for (size_t pi = 0; pi < PROFILES; pi++) {
        const clattn_device_profile *p = profile(profile_names[pi]);
        for (size_t ni = 0; ni < SIZES; ni++)
            for (size_t di = 0; di < HEAD_DIMS; di++) {
                const size_t m = sizes[(ni + 1) % SIZES], n = sizes[ni], d = head_dims[di];
                clattn_attention_desc desc;
                clattn_attention_desc_init(&desc, 2, 4, 2, m, n, d, d);
                desc.norm = di % 2 ? CLATTN_NORM_SOFTMAX : CLATTN_NORM_NONE;
                clattn_weights_launch_plan s;
                CU_ASSERT_EQUAL_FATAL(clattn__plan_weights(p, &desc, &s), CLATTN_SUCCESS);
                check_plan(p, &s.base);
                CU_ASSERT_EQUAL(s.base.count, desc.norm == CLATTN_NORM_NONE ? 1 : 2);
                const clattn_launch *l = &s.base.launch[0];
                CU_ASSERT_EQUAL(l->global[2], 8);
                if (is_cpu(p)) {
                    CU_ASSERT_STRING_EQUAL(l->kernel, "weights_scores_rows");
                    CU_ASSERT(l->global[0] * WEIGHTS_KEYS >= n);
                    CU_ASSERT_EQUAL(l->global[1], m);
                } else {
                    CU_ASSERT_STRING_EQUAL(l->kernel, "weights_scores_tiled");
                    CU_ASSERT(l->reqd_size && l->local[0] == s.tile && l->local[1] == s.tile);
                    CU_ASSERT(l->global[0] >= n && l->global[1] >= m);
                }
                if (s.base.count == 2) /* a work-group per row */
                    CU_ASSERT_EQUAL(s.base.launch[1].global[0] / s.base.launch[1].local[0], 8 * m);
            }
    }
}

static void test_linear(void) {
    for (size_t pi = 0; pi < PROFILES; pi++) {
        const clattn_device_profile *p = profile(profile_names[pi]);
        for (size_t ri = 0; ri < SIZES; ri++)
            for (size_t ci = 0; ci < HEAD_DIMS; ci++) {
                const size_t rows = sizes[ri], cols = head_dims[ci], k = sizes[(ri + 2) % SIZES];
                clattn_linear_plan s;
                CU_ASSERT_EQUAL_FATAL(clattn__plan_linear(p, rows, cols, k, &s), CLATTN_SUCCESS);
                check_plan(p, &s.base);
                CU_ASSERT_EQUAL(s.cpu, is_cpu(p));
                if (s.cpu) {
                    CU_ASSERT_EQUAL(s.base.count, 2);
                    CU_ASSERT_EQUAL(s.cols_padded % GEMM_CPU_COLS, 0);
                    CU_ASSERT(s.cols_padded >= cols);
                    CU_ASSERT_EQUAL(s.base.scratch_bytes, s.cols_padded * k * sizeof(float));
                    const size_t blocks = (rows + GEMM_CPU_ROWS - 1) / GEMM_CPU_ROWS *
                                          (s.cols_padded / GEMM_CPU_COLS);
                    CU_ASSERT(s.base.launch[1].global[0] >= blocks);
                } else {
                    CU_ASSERT_EQUAL(s.base.count, 1);
                    CU_ASSERT_EQUAL(s.base.scratch_bytes, 0);
                    const clattn_launch *l = &s.base.launch[0];
                    CU_ASSERT_STRING_EQUAL(l->kernel, "gemm_tiled");
                    CU_ASSERT(l->global[0] / s.edge * GEMM_BLOCK * s.edge >= cols);
                    CU_ASSERT(l->global[1] / s.edge * GEMM_BLOCK * s.edge >= rows);
                }
            }
    }
    /* A packed W beyond the largest allocation is refused, not planned. */
    clattn_linear_plan s;
    CU_ASSERT_EQUAL(clattn__plan_linear(profile("cpu"), 1, 1u << 20, 1u << 20, &s),
                    CLATTN_ERROR_INVALID_SIZE);
}

static void check_attention(const clattn_device_profile *p, const clattn_attention_desc *desc) {
    clattn_attention_plan s;
    CU_ASSERT_EQUAL_FATAL(clattn__plan_attention(p, desc, &s), CLATTN_SUCCESS);
    check_plan(p, &s.base);
    CU_ASSERT_EQUAL(s.cpu, is_cpu(p));
    CU_ASSERT(s.attention >= 0);
    const clattn_launch *l = &s.base.launch[s.attention];
    CU_ASSERT_STRING_EQUAL(l->kernel, s.cpu ? "attention_cpu" : "attention_gpu");
    CU_ASSERT(s.head_d >= desc->d && s.head_d % HEAD_PAD == 0);
    CU_ASSERT(s.head_dv >= desc->dv);
    /* GPU: a work-group of s.wg serves s.bm rows of a GQA group's heads (head * M + i). */
    const size_t groups = s.cpu ? l->global[0] : l->global[0] / s.wg;
    const size_t group = desc->q_heads / desc->kv_heads;
    CU_ASSERT(groups * s.group_rows >= (s.cpu ? 1 : group) * desc->m);
    CU_ASSERT_EQUAL(l->global[1], desc->batch * (s.cpu ? desc->q_heads : desc->kv_heads));
    CU_ASSERT_EQUAL(l->global[2], s.splits);
    CU_ASSERT(s.splits * s.chunk >= desc->n && (s.splits - 1) * s.chunk < desc->n);
    CU_ASSERT_EQUAL(s.merge >= 0, s.splits > 1);
    CU_ASSERT_EQUAL(s.pack >= 0, s.cpu && !s.direct);
    if (!s.cpu) {
        /* the kernel's #error checks: whole row groups, keys and columns per work-item */
        const size_t tpr = s.wg * s.rpt / s.bm;
        CU_ASSERT(s.bm >= 1 && l->local[0] == s.wg && s.wg % 16 == 0);
        CU_ASSERT(s.bm % s.rpt == 0 && (s.wg * s.rpt) % s.bm == 0 && tpr >= 1);
        CU_ASSERT(s.bn % tpr == 0 && s.head_dv % tpr == 0 && s.bn % s.vch == 0);
        CU_ASSERT(s.head_d % s.slice == 0);
    }
    /* Scratch: packed K/V (CPU, not direct) and the split partials, regions in order. */
    CU_ASSERT(s.kp_offset <= s.vp_offset && s.vp_offset <= s.part_offset &&
              s.part_offset <= s.stats_offset && s.stats_offset <= s.base.scratch_bytes);
    if (s.pack >= 0)
        CU_ASSERT(s.vp_offset - s.kp_offset >=
                  desc->batch * desc->kv_heads * s.npad * s.head_d * sizeof(float));
    if (s.splits > 1)
        CU_ASSERT(s.base.scratch_bytes - s.stats_offset >=
                  s.splits * desc->batch * desc->q_heads * desc->m * 4 * sizeof(float));
    if (s.pack < 0 && s.splits == 1) CU_ASSERT_EQUAL(s.base.scratch_bytes, 0);
}

static void test_attention(void) {
    for (size_t pi = 0; pi < PROFILES; pi++) {
        const clattn_device_profile *p = profile(profile_names[pi]);
        for (size_t mi = 0; mi < SIZES; mi++)
            for (size_t ni = 0; ni < SIZES; ni++)
                for (size_t di = 0; di < HEAD_DIMS; di++) {
                    clattn_attention_desc desc;
                    const size_t d = head_dims[di], dv = head_dims[(di + 1) % HEAD_DIMS];
                    clattn_attention_desc_init(&desc, 1 + mi % 2, 4, 2, sizes[mi], sizes[ni], d,
                                               dv);
                    desc.norm = ni % 2 ? CLATTN_NORM_SUM : CLATTN_NORM_SOFTMAX;
                    desc.causal = (clattn_causal)(mi % 3);
                    check_attention(p, &desc);
                    desc.kv_splits = 3; /* forced splits */
                    check_attention(p, &desc);
                }
    }
    /* Decoding on a GPU: one query row, a long cache: the keys are split, then merged. */
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, 1, 1, 1, 1, 1 << 16, 128, 128);
    clattn_attention_plan s;
    CU_ASSERT_EQUAL_FATAL(clattn__plan_attention(profile("sm_90"), &desc, &s), CLATTN_SUCCESS);
    CU_ASSERT(s.splits > 1 && s.merge >= 0);
    CU_ASSERT(has_define(s.base.launch[s.attention].options, "BM"));
    CU_ASSERT_STRING_EQUAL(s.base.launch[s.attention].source, "attention_gpu.cl");
    /* the decode tile: 16 rows of 16 work-items each, 64-key tiles */
    const clattn_attention_gpu_tile *f = clattn__attention_gpu_tile(CLATTN_VENDOR_NVIDIA);
    CU_ASSERT(s.bm == f->decode_bm && s.bn == f->decode_bn);
}

/* Each GPU family's tile fits its profile as tabled (no halving for want of work-items or
 * local memory) at every head dim, prefilling and decoding; the small-GPU families get a
 * smaller tile; CLATTN_ATTENTION_GPU_TILE still overrides. */
static void test_family_tiles(void) {
    static const struct {
        const char *profile, *family;
    } families[] = {{"sm_80", "nvidia"},  {"sm_90", "nvidia"},   {"gfx90a", "amd"},
                    {"gfx1100", "amd"},   {"intel_xe", "intel"}, {"mali", "mali"},
                    {"adreno", "adreno"}, {"apple", "apple"}};
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        const clattn_device_profile *p = profile(families[i].profile);
        const clattn_attention_gpu_tile *f = clattn__attention_gpu_tile(p->vendor);
        CU_ASSERT_STRING_EQUAL(f->family, families[i].family);
        CU_ASSERT(f->group <= clattn__profile_group_limit(p, true) && f->group % 16 == 0);
        CU_ASSERT(f->local_budget <= p->local_mem_size);
        for (size_t di = 1; di < HEAD_DIMS; di++)
            for (int decode = 0; decode < 2; decode++) {
                clattn_attention_desc desc;
                clattn_attention_desc_init(&desc, 1, 8, 2, decode ? 1 : 4096, 4096, head_dims[di],
                                           head_dims[di]);
                clattn_attention_plan s;
                CU_ASSERT_EQUAL_FATAL(clattn__plan_attention(p, &desc, &s), CLATTN_SUCCESS);
                const clattn_launch *l = &s.base.launch[s.attention];
                const bool as_tabled = s.wg == f->group &&
                                       s.bm == (decode ? f->decode_bm : f->bm) &&
                                       s.bn == (decode ? f->decode_bn : f->bn);
                CU_ASSERT(as_tabled && l->local_bytes <= f->local_budget);
                if (!as_tabled || l->local_bytes > f->local_budget)
                    fprintf(stderr, "\n  %s D=%zu %s: wg %zu bm %zu bn %zu, %zu local bytes",
                            p->name, head_dims[di], decode ? "decode" : "prefill", s.wg, s.bm, s.bn,
                            l->local_bytes);
            }
    }
    /* Mali and Adreno: fewer work-items and less local memory than the desktop families. */
    const clattn_attention_gpu_tile *nvidia = clattn__attention_gpu_tile(CLATTN_VENDOR_NVIDIA);
    CU_ASSERT(clattn__attention_gpu_tile(CLATTN_VENDOR_ARM)->group < nvidia->group);
    CU_ASSERT(clattn__attention_gpu_tile(CLATTN_VENDOR_QUALCOMM)->local_budget <
              nvidia->local_budget);
    CU_ASSERT_STRING_EQUAL(clattn__attention_gpu_tile((clattn_vendor)99)->family, "other");
    /* The environment override wins over the family's tile. */
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, 1, 2, 2, 300, 300, 64, 64);
    clattn_attention_plan s;
    setenv("CLATTN_ATTENTION_GPU_TILE", "128,16,64,1", 1);
    CU_ASSERT_EQUAL(clattn__plan_attention(profile("sm_90"), &desc, &s), CLATTN_SUCCESS);
    unsetenv("CLATTN_ATTENTION_GPU_TILE");
    CU_ASSERT(s.wg == 128 && s.bm == 16 && s.bn == 64);
}

/* The attention kernel's options for p (d = 64, prefill), and the program's complete ones. */
static void attention_options(const clattn_device_profile *p, size_t d, char *defines,
                              char **program) {
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, 1, 2, 2, 300, 300, d, d);
    clattn_attention_plan s;
    CU_ASSERT_EQUAL_FATAL(clattn__plan_attention(p, &desc, &s), CLATTN_SUCCESS);
    snprintf(defines, CLATTN_PLAN_OPTIONS_SIZE, "%s", s.base.launch[s.attention].options);
    *program = clattn__program_options(p, defines, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*program);
}

/* How many times needle occurs in haystack. */
static int occurrences(const char *haystack, const char *needle) {
    int count = 0;
    for (const char *s = strstr(haystack, needle); s; s = strstr(s + 1, needle))
        count++;
    return count;
}

/* The sub-group shuffle define: the khr shuffle (with -cl-std=CL3.0, or CL2.0 on an OpenCL C
 * 2.x device, replacing the base CL1.2) where the profile offers it, else Intel's (CL1.2),
 * else none; CLATTN_SUBGROUPS=0 removes it, =khr / =intel restrict it; a row group that is
 * not a power of two never gets it. */
static void test_subgroup_define(void) {
    char defines[CLATTN_PLAN_OPTIONS_SIZE], *program;
    const clattn_device_profile *xe = profile("intel_xe");
    CU_ASSERT(xe->shuffle_khr && xe->shuffle_intel);
    attention_options(xe, 64, defines, &program);
    CU_ASSERT_PTR_NOT_NULL(strstr(defines, "-DSUBGROUP_SHUFFLE=1"));
    CU_ASSERT(occurrences(program, "-cl-std=") == 1 && strstr(program, "-cl-std=CL3.0"));
    free(program);

    clattn_device_profile intel_only = *xe, khr_20 = *xe;
    intel_only.shuffle_khr = false;
    attention_options(&intel_only, 64, defines, &program);
    CU_ASSERT_PTR_NOT_NULL(strstr(defines, "-DSUBGROUP_SHUFFLE=2"));
    CU_ASSERT(occurrences(program, "-cl-std=") == 1 && strstr(program, "-cl-std=CL1.2"));
    free(program);
    khr_20.opencl_c_major = 2;
    attention_options(&khr_20, 64, defines, &program);
    CU_ASSERT(strstr(defines, "-DSUBGROUP_SHUFFLE=1") && strstr(program, "-cl-std=CL2.0"));
    CU_ASSERT_EQUAL(occurrences(program, "-cl-std="), 1);
    free(program);

    /* No shuffle: NVIDIA (none reported), AMD (cl_khr_subgroups without the shuffle). */
    static const char *const without[] = {"sm_90", "gfx90a", "mali", "apple"};
    for (size_t i = 0; i < sizeof without / sizeof without[0]; i++) {
        attention_options(profile(without[i]), 64, defines, &program);
        CU_ASSERT_PTR_NULL(strstr(defines, "SUBGROUP_SHUFFLE"));
        CU_ASSERT_PTR_NOT_NULL(strstr(program, "-cl-std=CL1.2"));
        free(program);
    }

    const struct {
        const char *env;
        const clattn_device_profile *p;
        const char *want; /* NULL: no define */
    } forced[] = {{"0", NULL, NULL},
                  {"intel", NULL, "-DSUBGROUP_SHUFFLE=2"},
                  {"khr", NULL, "-DSUBGROUP_SHUFFLE=1"},
                  {"khr", &intel_only, NULL},
                  {"0", &intel_only, NULL},
                  {"1", NULL, "-DSUBGROUP_SHUFFLE=1"}};
    for (size_t i = 0; i < sizeof forced / sizeof forced[0]; i++) {
        setenv("CLATTN_SUBGROUPS", forced[i].env, 1);
        attention_options(forced[i].p ? forced[i].p : xe, 64, defines, &program);
        unsetenv("CLATTN_SUBGROUPS");
        if (forced[i].want) {
            CU_ASSERT_PTR_NOT_NULL(strstr(defines, forced[i].want));
        } else {
            CU_ASSERT(!strstr(defines, "SUBGROUP_SHUFFLE") && strstr(program, "-cl-std=CL1.2"));
        }
        free(program);
    }

    /* A row group of 3 work-items (96 work-items, 32 rows; D = 48) takes local memory. */
    setenv("CLATTN_ATTENTION_GPU_TILE", "96,32,48,1", 1);
    attention_options(xe, 48, defines, &program);
    unsetenv("CLATTN_ATTENTION_GPU_TILE");
    CU_ASSERT(strstr(defines, "-DWG=96 -DBM=32") && !strstr(defines, "SUBGROUP_SHUFFLE"));
    free(program);
}

/* ---- on the default device ---------------------------------------------------------- */

/* The argument count kernels/contract.h gives each kernel. */
static int contract_args(const char *kernel) {
    static const struct {
        const char *name;
        int count;
    } table[] = {{"scores_rows", SCORES_ROWS_ARG_COUNT},
                 {"scores_lanes", SCORES_LANES_ARG_COUNT},
                 {"norm_partials", NORM_PARTIALS_ARG_COUNT},
                 {"norm_finish", NORM_FINISH_ARG_COUNT},
                 {"norm_apply", NORM_APPLY_ARG_COUNT},
                 {"norm_small", NORM_SMALL_ARG_COUNT},
                 {"context_partials", CONTEXT_PARTIALS_ARG_COUNT},
                 {"context_partials_vec", CONTEXT_PARTIALS_VEC_ARG_COUNT},
                 {"context_finish", CONTEXT_FINISH_ARG_COUNT},
                 {"query_small", QUERY_SMALL_ARG_COUNT},
                 {"weights_scores_tiled", WEIGHTS_SCORES_ARG_COUNT},
                 {"weights_scores_rows", WEIGHTS_SCORES_ARG_COUNT},
                 {"weights_normalize_rows", WEIGHTS_NORMALIZE_ARG_COUNT},
                 {"gemm_tiled", GEMM_TILED_ARG_COUNT},
                 {"gemm_pack_wt", GEMM_PACK_WT_ARG_COUNT},
                 {"gemm_bcast", GEMM_BCAST_ARG_COUNT},
                 {"attention_pack_kv", ATTENTION_PACK_KV_ARG_COUNT},
                 {"attention_cpu", ATTENTION_ARG_COUNT},
                 {"attention_gpu", ATTENTION_ARG_COUNT},
                 {"attention_merge", ATTENTION_MERGE_ARG_COUNT},
                 {"kv_append", KV_APPEND_ARG_COUNT}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, kernel) == 0) return table[i].count;
    return -1;
}

static void build_plan(clattn_handle *h, const clattn_plan *plan) {
    for (size_t i = 0; i < plan->count; i++) {
        const clattn_launch *l = &plan->launch[i];
        cl_kernel kernel = NULL;
        clattn_status status = clattn__get_kernel(h, l->source, l->options, l->kernel, &kernel);
        CU_ASSERT_EQUAL(status, CLATTN_SUCCESS);
        if (status) {
            fprintf(stderr, "  %s (%s %s): %s\n", l->kernel, l->source, l->options,
                    clattn_build_log(h));
            continue;
        }
        cl_uint args = 0;
        CU_ASSERT_EQUAL(clGetKernelInfo(kernel, CL_KERNEL_NUM_ARGS, sizeof args, &args, NULL),
                        CL_SUCCESS);
        CU_ASSERT_EQUAL((int)args, contract_args(l->kernel));
        clReleaseKernel(kernel);
    }
}

static void test_kernels_build(void) {
    for (size_t v = 0; v < 2; v++) {
        clattn_handle *h = test_handle(test_variants[v]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        const clattn_device_profile *p = &h->profile;
        clattn_scores_plan scores;
        clattn_normalize_plan small, large;
        clattn_context_plan context;
        clattn_plan query;
        clattn_weights_launch_plan weights;
        clattn_linear_plan linear;
        clattn_attention_plan attention, split;
        clattn_attention_desc desc;
        clattn_attention_desc_init(&desc, 1, 2, 1, 3, 4097, 80, 64);
        desc.norm = CLATTN_NORM_SUM;
        CU_ASSERT_EQUAL_FATAL(clattn__plan_scores(p, 113, 64, NULL, &scores), CLATTN_SUCCESS);
        CU_ASSERT_EQUAL_FATAL(clattn__plan_normalize(p, CLATTN_NORM_SOFTMAX, 3, &small), 0);
        CU_ASSERT_EQUAL_FATAL(clattn__plan_normalize(p, CLATTN_NORM_SUM, 100003, &large), 0);
        CU_ASSERT_EQUAL_FATAL(clattn__plan_context(p, 4097, 3, NULL, &context), CLATTN_SUCCESS);
        CU_ASSERT_EQUAL_FATAL(clattn__plan_query_small(p, 6, 3, NULL, &query), CLATTN_SUCCESS);
        CU_ASSERT_EQUAL_FATAL(clattn__plan_weights(p, &desc, &weights), CLATTN_SUCCESS);
        CU_ASSERT_EQUAL_FATAL(clattn__plan_linear(p, 7, 80, 64, &linear), CLATTN_SUCCESS);
        CU_ASSERT_EQUAL_FATAL(clattn__plan_attention(p, &desc, &attention), CLATTN_SUCCESS);
        desc.m = 113, desc.kv_splits = 2, desc.norm = CLATTN_NORM_SOFTMAX;
        CU_ASSERT_EQUAL_FATAL(clattn__plan_attention(p, &desc, &split), CLATTN_SUCCESS);
        CU_ASSERT(split.merge >= 0);
        /* A paged KV cache: the CPU shape packs (gathers the pages), the GPU shape's
         * block-table addressing is its own program; and the append. */
        clattn_attention_plan paged;
        clattn_attention_desc_init(&desc, 2, 4, 2, 1, 1, 64, 64);
        clattn_attention_desc_paged(&desc, 16, 9, 4);
        CU_ASSERT_EQUAL_FATAL(clattn__plan_attention(p, &desc, &paged), CLATTN_SUCCESS);
        CU_ASSERT(paged.cpu ? paged.pack >= 0 && !paged.direct
                            : strstr(paged.base.launch[paged.attention].options, "-DPAGED=1") != 0);
        clattn_kv_append_desc append;
        clattn_plan append_plan;
        clattn_kv_append_desc_init(&append, 2, 2, 3, 64, 64, 16, 9, 4);
        CU_ASSERT_EQUAL_FATAL(clattn__plan_kv_append(p, &append, &append_plan), CLATTN_SUCCESS);
        const clattn_plan *plans[] = {&scores.base, &small.base,   &large.base,  &context.base,
                                      &query,       &weights.base, &linear.base, &attention.base,
                                      &split.base,  &paged.base,   &append_plan};
        for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++)
            build_plan(h, plans[i]);
    }
}

/* On the device: the GPU shape's attention plans the sub-group shuffle exactly when the
 * device's profile offers one (and CLATTN_SUBGROUPS does not forbid it), and builds with it
 * (test_kernels_build). Says which, for tests/run_intel_subgroups.sh. */
static void test_subgroup_device(void) {
    clattn_handle *h = test_handle(CLATTN_VARIANT_GPU);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const clattn_device_profile *p = &h->profile;
    char defines[CLATTN_PLAN_OPTIONS_SIZE], *program;
    attention_options(p, 64, defines, &program);
    const char *env = getenv("CLATTN_SUBGROUPS");
    const bool offered = p->shuffle_khr || p->shuffle_intel, forbidden = env && !strcmp(env, "0");
    const char *define = strstr(defines, "-DSUBGROUP_SHUFFLE=");
    CU_ASSERT_EQUAL(define != NULL, offered && !forbidden);
    printf("\n  %s: shuffles khr %d intel %d; attention_gpu planned with %s\n", p->name,
           p->shuffle_khr, p->shuffle_intel, define ? define : "local-memory reductions");
    free(program);
}

/* Without a define it needs, a kernel does not build (no silent default). */
static void test_missing_define_fails(void) {
    clattn_handle *h = test_handle(CLATTN_VARIANT_CPU);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    cl_kernel kernel = NULL;
    CU_ASSERT_EQUAL(clattn__get_kernel(h, "scores.cl", "", "scores_rows", &kernel),
                    CLATTN_ERROR_BUILD_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(clattn_build_log(h), "SCORES_ROWS"));
    CU_ASSERT_EQUAL(clattn__get_kernel(h, "attention.cl", "-DHEAD_D=16 -DHEAD_DV=16 -DNORM=2",
                                       "attention_cpu", &kernel),
                    CLATTN_ERROR_BUILD_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(clattn_build_log(h), "ROWS"));
}

/* clattn_scratch_size reports what the planners plan for the device. */
static void test_scratch_matches(void) {
    for (size_t v = 0; v < 2; v++) {
        clattn_handle *h = test_handle(test_variants[v]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        for (size_t ni = 0; ni < SIZES; ni++) {
            const size_t n = sizes[ni] * 97;
            size_t bytes = 1;
            clattn_normalize_plan norm;
            CU_ASSERT_EQUAL(clattn__plan_normalize(&h->profile, CLATTN_NORM_SOFTMAX, n, &norm), 0);
            CU_ASSERT_EQUAL(clattn_scratch_size(h, CLATTN_OP_NORMALIZE, n, 0, NULL, &bytes), 0);
            CU_ASSERT_EQUAL(bytes, norm.base.scratch_bytes);
            clattn_context_plan context;
            CU_ASSERT_EQUAL(clattn__plan_context(&h->profile, n, 80, NULL, &context), 0);
            CU_ASSERT_EQUAL(clattn_scratch_size(h, CLATTN_OP_CONTEXT, n, 80, NULL, &bytes), 0);
            CU_ASSERT_EQUAL(bytes, context.base.scratch_bytes);
            clattn_attention_desc desc;
            clattn_attention_desc_init(&desc, 1, 2, 1, sizes[(ni + 1) % SIZES], n, 64, 64);
            clattn_attention_plan attention;
            CU_ASSERT_EQUAL(clattn__plan_attention(&h->profile, &desc, &attention), 0);
            CU_ASSERT_EQUAL(clattn_scratch_size(h, CLATTN_OP_ATTENTION, 0, 0, &desc, &bytes), 0);
            CU_ASSERT_EQUAL(bytes, attention.base.scratch_bytes);
        }
    }
}

static void add_suites(void) {
    static const test_case offline[] = {{"profiles", test_profiles},
                                        {"scores", test_scores},
                                        {"normalize", test_normalize},
                                        {"context", test_context},
                                        {"weights", test_weights},
                                        {"linear", test_linear},
                                        {"attention", test_attention},
                                        {"family tiles", test_family_tiles},
                                        {"subgroup define", test_subgroup_define},
                                        {NULL, NULL}};
    test_add_suite("plan_offline", offline);
    static const test_case device[] = {{"kernels_build", test_kernels_build},
                                       {"missing_define_fails", test_missing_define_fails},
                                       {"scratch_matches", test_scratch_matches},
                                       {"subgroup_device", test_subgroup_device},
                                       {NULL, NULL}};
    test_add_suite("plan_device", device);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
