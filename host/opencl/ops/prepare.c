/* clattn_handle_prepare: builds every program now instead of at first use. */
#include "status.h"
#include "program.h"

typedef struct program_use {
    const char *source;
    const char *kernel;
} program_use;

/* One kernel of each program, as the operations build them (same defines). */
static const program_use programs[] = {
    {"scores.cl", "scores_rows"},     {"normalize.cl", "norm_small"},
    {"context.cl", "context_finish"}, {"weights.cl", "weights_normalize_rows"},
    {"linear.cl", "gemm_bcast"},
};

clattn_status clattn_handle_prepare(clattn_handle *h) {
    if (!h) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "handle is NULL");
    for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++) {
        cl_kernel kernel = NULL;
        clattn_status status =
            clattn__get_kernel(h, programs[i].source, NULL, programs[i].kernel, &kernel);
        if (status) return status;
        clReleaseKernel(kernel);
    }
    clattn__clear_error();
    return CLATTN_SUCCESS;
}
