/* Square work-groups for local-memory tiled kernels (GPU shape). */
#ifndef CLATTN_TILES_H
#define CLATTN_TILES_H

#include "clattn.h"

#include <stdbool.h>
#include <stdint.h>

/* Builds kernel_name of source with "-D<define>=E" for the largest power-of-two edge
 * E <= max_edge whose E x E work-group fits the handle's limit and the compiled kernel's
 * CL_KERNEL_WORK_GROUP_SIZE, and whose local memory, local_bytes(E), fits the device (the
 * kernels declare reqd_work_group_size(E, E, 1), so E is compile-time). */
clattn_status clattn__get_square_kernel(clattn_handle *h, const char *source, const char *define,
                                        const char *kernel_name, size_t max_edge,
                                        size_t (*local_bytes)(size_t edge), cl_kernel *kernel,
                                        size_t *edge);

#endif
