/* The OpenCL C version the kernels are built as (cl_std.c). */
#ifndef CLATTN_OPENCL_CL_STD_H
#define CLATTN_OPENCL_CL_STD_H

#include "clattn.h"
#include "profile.h"

/* Sets profile->build_cl_std from CLATTN_CL_STD ("1.2", the default, or "3.0"), checked
 * against the device: asking for 3.0 on a device without OpenCL C 3.0 fails with
 * CLATTN_ERROR_UNSUPPORTED, an unknown value with CLATTN_ERROR_INVALID_VALUE (never a silent
 * fallback: the test matrix must know what it ran). */
clattn_status clattn__choose_cl_std(cl_device_id device, clattn_device_profile *profile);

#endif
