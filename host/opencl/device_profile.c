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

clattn_status clattn__profile_from_device(cl_device_id device, clattn_device_profile *out) {
    memset(out, 0, sizeof *out);
    cl_device_type type = 0;
    size_t max_wg = 0;
    cl_ulong local = 0, alloc = 0;
    cl_uint units = 0, align_bits = 0;
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
    unsigned major = 1, minor = 2;
    if (sscanf(version, "OpenCL C %u.%u", &major, &minor) == 2)
        out->opencl_c_major = major, out->opencl_c_minor = minor;
    else
        out->opencl_c_major = 1, out->opencl_c_minor = 2;

    char *ext = extensions(device);
    if (!ext) return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    out->fp16 = has_extension(ext, "cl_khr_fp16");
    out->subgroups =
        has_extension(ext, "cl_khr_subgroups") || has_extension(ext, "cl_intel_subgroups");
    free(ext);
    /* SIMD widths by vendor (OpenCL 1.2 cannot query them): warp, wavefront, Intel SIMD. */
    static const unsigned nvidia[] = {32, 0}, amd[] = {64, 0}, intel[] = {8, 16, 32, 0};
    const unsigned *sizes = out->vendor == CLATTN_VENDOR_NVIDIA  ? nvidia
                            : out->vendor == CLATTN_VENDOR_AMD   ? amd
                            : out->vendor == CLATTN_VENDOR_INTEL ? intel
                                                                 : NULL;
    for (int i = 0; sizes && sizes[i] && i < CLATTN_PROFILE_MAX_SUBGROUP_SIZES; i++)
        out->subgroup_sizes[i] = sizes[i];
    return CLATTN_SUCCESS;
}
