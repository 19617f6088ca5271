/* clattn__profile_from_device: a device's limits as a planner profile. */
#include "device_profile.h"
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static clattn_vendor vendor_of(const char *vendor) {
    if (strstr(vendor, "NVIDIA")) return CLATTN_VENDOR_NVIDIA;
    if (strstr(vendor, "Advanced Micro Devices") || strstr(vendor, "AMD")) return CLATTN_VENDOR_AMD;
    if (strstr(vendor, "Intel")) return CLATTN_VENDOR_INTEL;
    if (strncmp(vendor, "ARM", 3) == 0) return CLATTN_VENDOR_ARM;
    if (strstr(vendor, "QUALCOMM") || strstr(vendor, "Qualcomm")) return CLATTN_VENDOR_QUALCOMM;
    if (strstr(vendor, "Apple")) return CLATTN_VENDOR_APPLE;
    return CLATTN_VENDOR_OTHER;
}

/* Whether the space-separated extension list holds name. */
static bool has_extension(const char *list, const char *name) {
    const size_t len = strlen(name);
    for (const char *s = strstr(list, name); s; s = strstr(s + 1, name))
        if ((s == list || s[-1] == ' ') && (s[len] == ' ' || s[len] == '\0')) return true;
    return false;
}

/* The extension list (malloc'd, "" when it cannot be read). */
static char *extensions(cl_device_id device) {
    size_t size = 0;
    if (clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, 0, NULL, &size) != CL_SUCCESS) size = 0;
    char *list = malloc(size + 1);
    if (!list) return NULL;
    if (size == 0 || clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, size, list, NULL) != CL_SUCCESS)
        size = 0;
    list[size] = '\0';
    return list;
}

/* OpenCL 3.0's feature query (the library builds against the 1.2 headers). */
#define FEATURES_QUERY 0x106F /* CL_DEVICE_OPENCL_C_FEATURES */
typedef struct feature_name_version {
    cl_uint version;
    char name[64]; /* CL_NAME_VERSION_MAX_NAME_SIZE */
} feature_name_version;

/* Whether the device's OpenCL C features (3.0 only; false where it cannot be read) hold
 * name. */
static bool has_c_feature(cl_device_id device, const char *name) {
    size_t size = 0;
    if (clGetDeviceInfo(device, FEATURES_QUERY, 0, NULL, &size) != CL_SUCCESS || size == 0)
        return false;
    feature_name_version *features = malloc(size);
    bool found = false;
    if (features && clGetDeviceInfo(device, FEATURES_QUERY, size, features, NULL) == CL_SUCCESS)
        for (size_t i = 0; i < size / sizeof *features && !found; i++)
            found = strncmp(features[i].name, name, sizeof features[i].name) == 0;
    free(features);
    return found;
}

clattn_status clattn__profile_from_device(cl_device_id device, clattn_device_profile *out) {
    memset(out, 0, sizeof *out);
    cl_device_type type = 0;
    size_t max_wg = 0;
    cl_ulong local = 0, alloc = 0;
    cl_uint units = 0, align_bits = 0, float_width = 0;
    char vendor[128] = "", version[128] = "";
    cl_int err = clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    if (!err)
        err = clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_wg, &max_wg, NULL);
    if (!err) err = clGetDeviceInfo(device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local, &local, NULL);
    if (!err)
        err = clGetDeviceInfo(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof alloc, &alloc, NULL);
    if (!err)
        err = clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    if (!err)
        err = clGetDeviceInfo(device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits, &align_bits,
                              NULL);
    if (!err)
        err = clGetDeviceInfo(device, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof float_width,
                              &float_width, NULL);
    if (!err) err = clGetDeviceInfo(device, CL_DEVICE_NAME, sizeof out->name - 1, out->name, NULL);
    if (!err) err = clGetDeviceInfo(device, CL_DEVICE_VENDOR, sizeof vendor - 1, vendor, NULL);
    if (!err)
        err =
            clGetDeviceInfo(device, CL_DEVICE_OPENCL_C_VERSION, sizeof version - 1, version, NULL);
    if (err) return clattn__cl(err, "clGetDeviceInfo");

    out->kind = (type & CL_DEVICE_TYPE_CPU)   ? CLATTN_DEVICE_KIND_CPU
                : (type & CL_DEVICE_TYPE_GPU) ? CLATTN_DEVICE_KIND_GPU
                                              : CLATTN_DEVICE_KIND_ACCELERATOR;
    out->vendor = vendor_of(vendor);
    out->variant = out->kind == CLATTN_DEVICE_KIND_CPU ? CLATTN_VARIANT_CPU : CLATTN_VARIANT_GPU;
    out->max_work_group_size = max_wg ? max_wg : 1;
    /* Learnt per kernel at run time (CL_KERNEL_WORK_GROUP_SIZE) where it is smaller. */
    out->max_unannotated_work_group_size = out->max_work_group_size;
    out->local_mem_size = local;
    out->max_alloc_size = alloc;
    out->compute_units = units;
    out->mem_base_addr_align = align_bits / 8;
    out->native_float_width = float_width;
    unsigned major = 1, minor = 2;
    if (sscanf(version, "OpenCL C %u.%u", &major, &minor) == 2)
        out->opencl_c_major = major, out->opencl_c_minor = minor;
    else
        out->opencl_c_major = 1, out->opencl_c_minor = 2;

    char *ext = extensions(device);
    if (!ext) return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    out->fp16 = has_extension(ext, "cl_khr_fp16");
    const bool khr_subgroups = has_extension(ext, "cl_khr_subgroups");
    const bool c3_subgroups =
        out->opencl_c_major >= 3 && has_c_feature(device, "__opencl_c_subgroups");
    out->shuffle_intel = has_extension(ext, "cl_intel_subgroups");
    out->subgroups = khr_subgroups || c3_subgroups || out->shuffle_intel;
    /* The khr shuffle needs the sub-group built-ins of OpenCL C 2.0 or 3.0 beside it. */
    out->shuffle_khr = has_extension(ext, "cl_khr_subgroup_shuffle") &&
                       (c3_subgroups || (khr_subgroups && out->opencl_c_major >= 2));
    free(ext);
    /* SIMD widths by vendor (OpenCL 1.2 cannot query them): warp, wavefront, Intel SIMD. */
    static const unsigned nvidia[] = {32, 0}, amd[] = {64, 0}, intel[] = {8, 16, 32, 0},
                          mali[] = {16, 0}, adreno[] = {64, 128, 0}, apple[] = {32, 0};
    const unsigned *sizes = out->vendor == CLATTN_VENDOR_NVIDIA     ? nvidia
                            : out->vendor == CLATTN_VENDOR_AMD      ? amd
                            : out->vendor == CLATTN_VENDOR_INTEL    ? intel
                            : out->vendor == CLATTN_VENDOR_ARM      ? mali
                            : out->vendor == CLATTN_VENDOR_QUALCOMM ? adreno
                            : out->vendor == CLATTN_VENDOR_APPLE    ? apple
                                                                    : NULL;
    for (int i = 0; sizes && sizes[i] && i < CLATTN_PROFILE_MAX_SUBGROUP_SIZES; i++)
        out->subgroup_sizes[i] = sizes[i];
    return CLATTN_SUCCESS;
}
