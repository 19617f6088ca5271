/* clattn__get_square_kernel: the tile edge of a GPU-shaped kernel from the device limits. */
#include "tiles.h"
#include "status.h"
#include "handle.h"
#include "program.h"

#include <stdio.h>

clattn_status clattn__get_square_kernel(clattn_handle *h, const char *source, const char *define,
                                        const char *kernel_name, size_t max_edge,
                                        size_t (*local_bytes)(size_t edge), cl_kernel *kernel,
                                        size_t *edge) {
    size_t e = max_edge;
    while (e > 1 && (e * e > h->max_work_group_size || local_bytes(e) > h->local_mem_size))
        e /= 2;
    for (;; e /= 2) {
        char defines[96];
        snprintf(defines, sizeof defines, "-D%s=%zu", define, e);
        clattn_status status = clattn__get_kernel(h, source, defines, kernel_name, kernel);
        if (status) return status;
        size_t kernel_max = 0;
        cl_int err = clGetKernelWorkGroupInfo(*kernel, h->device, CL_KERNEL_WORK_GROUP_SIZE,
                                              sizeof kernel_max, &kernel_max, NULL);
        if (err) {
            clReleaseKernel(*kernel);
            return clattn__cl(err, "clGetKernelWorkGroupInfo");
        }
        if (e * e <= kernel_max || e == 1) break;
        clReleaseKernel(*kernel); /* the compiled kernel allows fewer work-items: retry */
    }
    *edge = e;
    return CLATTN_SUCCESS;
}
