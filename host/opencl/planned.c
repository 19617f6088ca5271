/* Kernels and launches from a plan. */
#include "planned.h"
#include "status.h"
#include "program.h"

clattn_status clattn__plan_kernels(clattn_handle *h, const clattn_plan *plan,
                                   clattn_device_profile *profile, cl_kernel *kernels,
                                   bool *replan) {
    *replan = false;
    for (size_t i = 0; i < plan->count; i++)
        kernels[i] = NULL;
    size_t allowed = SIZE_MAX, planned = 1;
    for (size_t i = 0; i < plan->count; i++) {
        const clattn_launch *l = &plan->launch[i];
        clattn_status status = clattn__get_kernel(h, l->source, l->options, l->kernel, &kernels[i]);
        if (status) {
            clattn__release_kernels(plan, kernels);
            return status;
        }
        if (l->any_local) continue;
        size_t kernel_max = 0;
        cl_int err = clGetKernelWorkGroupInfo(kernels[i], h->device, CL_KERNEL_WORK_GROUP_SIZE,
                                              sizeof kernel_max, &kernel_max, NULL);
        if (err) {
            clattn__release_kernels(plan, kernels);
            return clattn__cl(err, "clGetKernelWorkGroupInfo");
        }
        const size_t items = l->local[0] * l->local[1] * l->local[2];
        if (kernel_max && items > kernel_max && kernel_max < allowed) {
            allowed = kernel_max;
            planned = items;
        }
    }
    if (allowed != SIZE_MAX && planned > 1) {
        clattn__release_kernels(plan, kernels);
        profile->max_work_group_size = allowed;
        if (profile->max_unannotated_work_group_size > allowed)
            profile->max_unannotated_work_group_size = allowed;
        *replan = true;
    }
    return CLATTN_SUCCESS;
}

void clattn__release_kernels(const clattn_plan *plan, cl_kernel *kernels) {
    for (size_t i = 0; i < plan->count; i++)
        if (kernels[i]) {
            clReleaseKernel(kernels[i]);
            kernels[i] = NULL;
        }
}

clattn_status clattn__launch_planned(clattn_chain *chain, cl_kernel kernel,
                                     const clattn_launch *l) {
    return clattn__chain_launch(chain, kernel, l->dims, l->global, l->any_local ? NULL : l->local);
}
