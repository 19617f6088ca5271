/* Built-in device profiles: the limits an OpenCL driver reports for each target. Sources:
 * vendor OpenCL drivers' clinfo (CL_DEVICE_* queries) and the architecture manuals.
 * Sub-groups: NVIDIA's OpenCL reports none; ROCm reports cl_khr_subgroups but, as far as we
 * could confirm, not cl_khr_subgroup_shuffle (so no shuffle here); Intel's compute runtime
 * reports both shuffles; Mali, Adreno and Apple are left without (not confirmed). */
#include "profile.h"

#include <string.h>

#define KIB 1024ull
#define GIB (1024ull * 1024 * 1024)

static const clattn_device_profile profiles[] = {
    /* PoCL 3.x on a 2-core AVX-512 host (this project's reference machine). */
    {.name = "cpu",
     .kind = CLATTN_DEVICE_KIND_CPU,
     .vendor = CLATTN_VENDOR_OTHER,
     .variant = CLATTN_VARIANT_CPU,
     .max_work_group_size = 4096,
     .max_unannotated_work_group_size = 4096,
     .local_mem_size = 512 * KIB,
     .max_alloc_size = 1 * GIB,
     .compute_units = 2,
     .mem_base_addr_align = 128,
     .subgroups = false,
     .subgroup_sizes = {16},
     .fp16 = false,
     .opencl_c_major = 1,
     .opencl_c_minor = 2},
    /* NVIDIA A100: 108 SMs, warp 32, 48 KiB static local memory per work-group in OpenCL. */
    {.name = "sm_80",
     .kind = CLATTN_DEVICE_KIND_GPU,
     .vendor = CLATTN_VENDOR_NVIDIA,
     .variant = CLATTN_VARIANT_GPU,
     .max_work_group_size = 1024,
     .max_unannotated_work_group_size = 1024,
     .local_mem_size = 48 * KIB,
     .max_alloc_size = 10 * GIB,
     .compute_units = 108,
     .mem_base_addr_align = 512,
     .subgroups = false,
     .subgroup_sizes = {32},
     .fp16 = false,
     .opencl_c_major = 1,
     .opencl_c_minor = 2},
    /* NVIDIA H100 SXM: 132 SMs, otherwise as sm_80. */
    {.name = "sm_90",
     .kind = CLATTN_DEVICE_KIND_GPU,
     .vendor = CLATTN_VENDOR_NVIDIA,
     .variant = CLATTN_VARIANT_GPU,
     .max_work_group_size = 1024,
     .max_unannotated_work_group_size = 1024,
     .local_mem_size = 48 * KIB,
     .max_alloc_size = 20 * GIB,
     .compute_units = 132,
     .mem_base_addr_align = 512,
     .subgroups = false,
     .subgroup_sizes = {32},
     .fp16 = false,
     .opencl_c_major = 1,
     .opencl_c_minor = 2},
    /* AMD MI250X (one GCD) on ROCm: 110 CUs, wave 64, 64 KiB LDS; 1024 work-items only with
     * reqd_work_group_size, 256 without. */
    {.name = "gfx90a",
     .kind = CLATTN_DEVICE_KIND_GPU,
     .vendor = CLATTN_VENDOR_AMD,
     .variant = CLATTN_VARIANT_GPU,
     .max_work_group_size = 1024,
     .max_unannotated_work_group_size = 256,
     .local_mem_size = 64 * KIB,
     .max_alloc_size = 54 * GIB,
     .compute_units = 110,
     .mem_base_addr_align = 256,
     .subgroups = true, /* ROCm: cl_khr_subgroups, no cl_khr_subgroup_shuffle reported */
     .subgroup_sizes = {64},
     .fp16 = true,
     .opencl_c_major = 2,
     .opencl_c_minor = 0},
    /* AMD RX 7900 XTX (RDNA 3) on ROCm: 96 CUs (48 WGPs), wave 32 or 64, 64 KiB LDS. */
    {.name = "gfx1100",
     .kind = CLATTN_DEVICE_KIND_GPU,
     .vendor = CLATTN_VENDOR_AMD,
     .variant = CLATTN_VARIANT_GPU,
     .max_work_group_size = 1024,
     .max_unannotated_work_group_size = 256,
     .local_mem_size = 64 * KIB,
     .max_alloc_size = 20 * GIB,
     .compute_units = 96,
     .mem_base_addr_align = 256,
     .subgroups = true, /* ROCm: cl_khr_subgroups, no cl_khr_subgroup_shuffle reported */
     .subgroup_sizes = {32, 64},
     .fp16 = true,
     .opencl_c_major = 2,
     .opencl_c_minor = 0},
    /* Intel Arc A770 (Xe-HPG) on the compute runtime: 32 Xe-cores reported as 512 compute
     * units (EUs), 64 KiB SLM, SIMD 8/16/32 subgroups, 4 GiB allocations. */
    {.name = "intel_xe",
     .kind = CLATTN_DEVICE_KIND_GPU,
     .vendor = CLATTN_VENDOR_INTEL,
     .variant = CLATTN_VARIANT_GPU,
     .max_work_group_size = 1024,
     .max_unannotated_work_group_size = 1024,
     .local_mem_size = 64 * KIB,
     .max_alloc_size = 4 * GIB,
     .compute_units = 512,
     .mem_base_addr_align = 128,
     .subgroups = true,
     .shuffle_khr = true, /* OpenCL C 3.0 with __opencl_c_subgroups */
     .shuffle_intel = true,
     .subgroup_sizes = {8, 16, 32},
     .fp16 = true,
     .opencl_c_major = 3,
     .opencl_c_minor = 0},
    /* ARM Mali-G78 (Valhall) on ARM's driver: 20 cores, 16-wide warps, 512 work-items, 32 KiB
     * of local memory (carved out of the core's caches and shared by its resident groups). */
    {.name = "mali",
     .kind = CLATTN_DEVICE_KIND_GPU,
     .vendor = CLATTN_VENDOR_ARM,
     .variant = CLATTN_VARIANT_GPU,
     .max_work_group_size = 512,
     .max_unannotated_work_group_size = 512,
     .local_mem_size = 32 * KIB,
     .max_alloc_size = 2 * GIB,
     .compute_units = 20,
     .mem_base_addr_align = 128,
     .subgroups = false,
     .subgroup_sizes = {16},
     .fp16 = true,
     .opencl_c_major = 1,
     .opencl_c_minor = 2},
    /* Qualcomm Adreno 740 (Snapdragon 8 Gen 2): waves of 64 or 128 fibers, 1024 work-items,
     * 32 KiB of local memory. */
    {.name = "adreno",
     .kind = CLATTN_DEVICE_KIND_GPU,
     .vendor = CLATTN_VENDOR_QUALCOMM,
     .variant = CLATTN_VARIANT_GPU,
     .max_work_group_size = 1024,
     .max_unannotated_work_group_size = 1024,
     .local_mem_size = 32 * KIB,
     .max_alloc_size = 1 * GIB,
     .compute_units = 6,
     .mem_base_addr_align = 128,
     .subgroups = false,
     .subgroup_sizes = {64, 128},
     .fp16 = true,
     .opencl_c_major = 1,
     .opencl_c_minor = 2},
    /* Apple M2 on Apple's OpenCL 1.2: 10 GPU cores, SIMD groups of 32, 256 work-items, 32 KiB
     * of threadgroup memory. */
    {.name = "apple",
     .kind = CLATTN_DEVICE_KIND_GPU,
     .vendor = CLATTN_VENDOR_APPLE,
     .variant = CLATTN_VARIANT_GPU,
     .max_work_group_size = 256,
     .max_unannotated_work_group_size = 256,
     .local_mem_size = 32 * KIB,
     .max_alloc_size = 4 * GIB,
     .compute_units = 10,
     .mem_base_addr_align = 128,
     .subgroups = false,
     .subgroup_sizes = {32},
     .fp16 = false,
     .opencl_c_major = 1,
     .opencl_c_minor = 2},
};

const clattn_device_profile *clattn__profiles(size_t *count) {
    *count = sizeof profiles / sizeof profiles[0];
    return profiles;
}

const clattn_device_profile *clattn__profile_named(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++)
        if (strcmp(profiles[i].name, name) == 0) return &profiles[i];
    return NULL;
}

size_t clattn__profile_group_limit(const clattn_device_profile *p, bool reqd_size) {
    size_t limit = p->max_work_group_size;
    if (!reqd_size && p->max_unannotated_work_group_size < limit)
        limit = p->max_unannotated_work_group_size;
    return limit ? limit : 1;
}
