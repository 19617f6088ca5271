/* Device profiles: what the planners know about a device (profile.c). Filled from a real
 * device by clattn__profile_from_device (host/opencl/device_profile.c; every handle keeps
 * one) or taken from the built-in table by name, so that a plan can be made for a device
 * that is not here ("what would clattn build and launch on an sm_90?"). */
#ifndef CLATTN_PLAN_PROFILE_H
#define CLATTN_PLAN_PROFILE_H

#include "clattn.h"
#include "tuned.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum clattn_device_kind {
    CLATTN_DEVICE_KIND_CPU = 1,
    CLATTN_DEVICE_KIND_GPU = 2,
    CLATTN_DEVICE_KIND_ACCELERATOR = 3
} clattn_device_kind;

typedef enum clattn_vendor {
    CLATTN_VENDOR_OTHER = 0,
    CLATTN_VENDOR_NVIDIA = 1,
    CLATTN_VENDOR_AMD = 2,
    CLATTN_VENDOR_INTEL = 3,
    CLATTN_VENDOR_ARM = 4,      /* Mali */
    CLATTN_VENDOR_QUALCOMM = 5, /* Adreno */
    CLATTN_VENDOR_APPLE = 6
} clattn_vendor;

#define CLATTN_PROFILE_MAX_SUBGROUP_SIZES 4

typedef struct clattn_device_profile {
    char name[64]; /* the built-in profile's name, or the device's name */
    clattn_device_kind kind;
    clattn_vendor vendor;
    /* The kernel shape the planners choose (CPU: register tiles, no barriers in hot loops;
     * GPU: local-memory tiles). A real device's comes from the handle's variant option. */
    clattn_variant variant;
    size_t max_work_group_size; /* device limit (a handle's, capped by its options) */
    /* The largest work-group of a kernel without reqd_work_group_size (AMD's compiler caps
     * those at 256); equal to max_work_group_size elsewhere. */
    size_t max_unannotated_work_group_size;
    uint64_t local_mem_size; /* bytes per work-group */
    uint64_t max_alloc_size; /* bytes */
    unsigned compute_units;
    unsigned mem_base_addr_align; /* bytes */
    /* Hardware SIMD widths (warp, wavefront, Intel SIMD modes); subgroups says whether OpenCL
     * exposes them (cl_khr_subgroups, cl_intel_subgroups or OpenCL C 3.0's
     * __opencl_c_subgroups feature). */
    bool subgroups;
    /* The sub-group shuffles a kernel may use (kernels/contract.h's SUBGROUP_SHUFFLE_*):
     * shuffle_khr: cl_khr_subgroup_shuffle together with sub-groups in OpenCL C >= 2.0
     * (cl_khr_subgroups, or __opencl_c_subgroups in 3.0), built with -cl-std=CL2.0/CL3.0;
     * shuffle_intel: cl_intel_subgroups (OpenCL C 1.2 is enough). */
    bool shuffle_khr, shuffle_intel;
    unsigned subgroup_sizes[CLATTN_PROFILE_MAX_SUBGROUP_SIZES]; /* 0-terminated */
    bool fp16;                                                  /* cl_khr_fp16 */
    unsigned opencl_c_major, opencl_c_minor;
    /* The OpenCL C version the kernels are built as (-cl-std): 12, also when 0 as in the
     * built-in profiles, or 30 (CLATTN_CL_STD=3.0 on a device offering it: opencl/cl_std.c). */
    unsigned build_cl_std;
    /* CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT: floats in one SIMD register (CPU runtimes: 8 with
     * AVX2's 16 registers, 16 with AVX-512's 32); 0 = unknown (the built-in profiles), which
     * the planners read as the wide case. */
    unsigned native_float_width;
    /* The device's tuned values (`clattn tune`; host/opencl/tune_table.c reads them from the
     * cache folder): empty in the built-in profiles, whose defaults per device family live
     * in tuning.c. */
    clattn_tuned_table tuned;
} clattn_device_profile;

/* The built-in profile called name ("cpu", "sm_80", "sm_90", "gfx90a", "gfx1100",
 * "intel_xe", "mali", "adreno", "apple"), or NULL. */
const clattn_device_profile *clattn__profile_named(const char *name);
/* The built-in profiles, for listing: *count is set to their number. */
const clattn_device_profile *clattn__profiles(size_t *count);

/* The work-group limit of a kernel, with or without reqd_work_group_size. */
size_t clattn__profile_group_limit(const clattn_device_profile *p, bool reqd_size);

#endif
