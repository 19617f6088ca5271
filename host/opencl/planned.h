/* Kernels and launches from a plan (planned.c): the ops' bridge from a pure launch plan
 * (host/plan/) to OpenCL. */
#ifndef CLATTN_OPENCL_PLANNED_H
#define CLATTN_OPENCL_PLANNED_H

#include "handle.h"
#include "launch.h"
#include "launch_plan.h"

/* Builds (or takes from the cache) the kernel of every launch of plan into kernels[]. When
 * a compiled kernel allows fewer work-items than its launch plans, lowers the profile's
 * limits to what the kernels allow, releases the kernels and sets *replan: the caller plans
 * again with *profile (the planners stay pure). */
clattn_status clattn__plan_kernels(clattn_handle *h, const clattn_plan *plan,
                                   clattn_device_profile *profile, cl_kernel *kernels,
                                   bool *replan);
void clattn__release_kernels(const clattn_plan *plan, cl_kernel *kernels);

/* Enqueues kernel with the launch's geometry on the chain. */
clattn_status clattn__launch_planned(clattn_chain *chain, cl_kernel kernel, const clattn_launch *l);

#endif
