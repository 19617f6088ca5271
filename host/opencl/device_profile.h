/* The device profile of a real device, for the planners (device_profile.c). */
#ifndef CLATTN_OPENCL_DEVICE_PROFILE_H
#define CLATTN_OPENCL_DEVICE_PROFILE_H

#include "profile.h"

/* Fills *out from the device's CL_DEVICE_* queries. The variant is the device type's
 * default (CPU devices: CPU shape); the handle then applies its options. */
clattn_status clattn__profile_from_device(cl_device_id device, clattn_device_profile *out);

#endif
