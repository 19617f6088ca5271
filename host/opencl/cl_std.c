/* CLATTN_CL_STD: build the kernels as OpenCL C 1.2 (default) or 3.0. */
#include "cl_std.h"
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* OpenCL C 3.0 is required of every OpenCL 3.x device, but such a device may still report
 * "OpenCL C 1.2" as CL_DEVICE_OPENCL_C_VERSION (PoCL does: the query names the newest fully
 * backwards-compatible version), so the device version decides as well. */
static int offers_opencl_c_3(cl_device_id device, const clattn_device_profile *profile) {
    if (profile->opencl_c_major >= 3) return 1;
    char version[128] = "";
    if (clGetDeviceInfo(device, CL_DEVICE_VERSION, sizeof version - 1, version, NULL) != CL_SUCCESS)
        return 0;
    unsigned major = 0, minor = 0;
    return sscanf(version, "OpenCL %u.%u", &major, &minor) == 2 && major >= 3;
}

clattn_status clattn__choose_cl_std(cl_device_id device, clattn_device_profile *profile) {
    const char *want = getenv("CLATTN_CL_STD");
    profile->build_cl_std = 12;
    if (!want || !*want || strcmp(want, "1.2") == 0 || strcmp(want, "CL1.2") == 0)
        return CLATTN_SUCCESS;
    if (strcmp(want, "3.0") != 0 && strcmp(want, "CL3.0") != 0)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "CLATTN_CL_STD=%s: expected 1.2 or 3.0",
                            want);
    if (!offers_opencl_c_3(device, profile))
        return clattn__fail(CLATTN_ERROR_UNSUPPORTED,
                            "CLATTN_CL_STD=3.0: device %s offers OpenCL C %u.%u, not 3.0",
                            profile->name, profile->opencl_c_major, profile->opencl_c_minor);
    profile->build_cl_std = 30;
    return CLATTN_SUCCESS;
}
