/* clattn__plan_linear: y = x W^T + b (kernels/linear.cl): a local-memory tiled GEMM on GPUs, W
 * packed transposed into scratch and a register-blocked float16 kernel on CPUs. */
#include "planners.h"
#include "tuning.h"
#include "size.h"
#include "status.h"
#include "contract.h"

#include <stdio.h>
#include <string.h>

/* Local memory of gemm_tiled: x and W tiles of GEMM_KT x (GEMM_BLOCK * edge + 1) floats. */
static size_t gemm_local_bytes(size_t edge) {
    return 2 * GEMM_KT * (GEMM_BLOCK * edge + 1) * sizeof(float);
}

_Static_assert(DTYPE_F32 == CLATTN_F32 && DTYPE_F16 == CLATTN_F16 && DTYPE_BF16 == CLATTN_BF16,
               "kernels/contract.h's DTYPE_* must equal clattn_dtype");

/* " -DGEMM_X_DTYPE=1" ... for the tensors not stored as float32 (absent means float32, so
 * float32 programs keep their options and cache entries). */
static void add_dtype_defines(const clattn_linear_dtypes *d, char *defines, size_t size) {
    if (!d) return;
    const struct {
        const char *name;
        clattn_dtype dtype;
    } tensors[] = {{"X", d->x}, {"W", d->w}, {"B", d->bias}, {"Y", d->y}};
    for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++) {
        if (tensors[i].dtype == CLATTN_F32) continue;
        const size_t used = strlen(defines);
        snprintf(defines + used, size - used, " -DGEMM_%s_DTYPE=%d", tensors[i].name,
                 (int)tensors[i].dtype);
    }
}

clattn_status clattn__plan_linear(const clattn_device_profile *p, size_t rows, size_t cols,
                                  size_t k, clattn_linear_plan *out) {
    return clattn__plan_linear_ex(p, rows, cols, k, NULL, out);
}

clattn_status clattn__plan_linear_ex(const clattn_device_profile *p, size_t rows, size_t cols,
                                     size_t k, const clattn_linear_dtypes *dtypes,
                                     clattn_linear_plan *out) {
    const clattn_linear_tuning *t = &clattn_linear_tune;
    memset(out, 0, sizeof *out);
    out->cpu = p->variant == CLATTN_VARIANT_CPU;
    size_t edge = t->max_edge;
    if (!out->cpu)
        while (edge > 1 && (edge * edge > clattn__profile_group_limit(p, true) ||
                            gemm_local_bytes(edge) > p->local_mem_size))
            edge /= 2;
    out->edge = edge;
    char defines[160];
    snprintf(defines, sizeof defines, "-DGEMM_WG=%zu", edge);
    add_dtype_defines(dtypes, defines, sizeof defines);
    if (!out->cpu) {
        const size_t tile = GEMM_BLOCK * edge;
        clattn_launch *l = clattn__plan_add(&out->base, "linear.cl", "gemm_tiled", defines, 2);
        l->reqd_size = true;
        l->local[0] = l->local[1] = edge;
        l->global[0] = (cols + tile - 1) / tile * edge;
        l->global[1] = (rows + tile - 1) / tile * edge;
        l->local_bytes = gemm_local_bytes(edge);
        return CLATTN_SUCCESS;
    }
    out->cols_padded = clattn__round_up(cols, GEMM_CPU_COLS);
    size_t packed_bytes;
    if (!clattn__mul_size(out->cols_padded, k, &packed_bytes) ||
        !clattn__mul_size(packed_bytes, sizeof(float), &packed_bytes))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "linear: packed W overflows size_t");
    if (packed_bytes > p->max_alloc_size)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE,
                            "linear: the packed W (%zu bytes) exceeds the device's largest "
                            "allocation",
                            packed_bytes);
    out->base.scratch_bytes = packed_bytes;
    clattn_launch *l = clattn__plan_add(&out->base, "linear.cl", "gemm_pack_wt", defines, 2);
    l->global[0] = k;
    l->global[1] = out->cols_padded;
    /* A fixed local size: with the implementation's choice, which follows the global size,
     * PoCL compiled and kept one kernel per new (k, cols) pair. 32-64 columns of one k. */
    const size_t limit = clattn__profile_group_limit(p, false);
    size_t along = clattn__pow2_at_most(GEMM_CPU_COLS, limit);
    while (along < 64 && along * 2 <= limit && out->cols_padded % (along * 2) == 0)
        along *= 2;
    l->local[0] = 1;
    l->local[1] = along;
    const size_t blocks =
        ((rows + GEMM_CPU_ROWS - 1) / GEMM_CPU_ROWS) * (out->cols_padded / GEMM_CPU_COLS);
    l = clattn__plan_add(&out->base, "linear.cl", "gemm_bcast", defines, 1);
    l->local[0] = clattn__pow2_at_most(t->cpu_group, clattn__profile_group_limit(p, false));
    l->global[0] = clattn__round_up(blocks, l->local[0]);
    return CLATTN_SUCCESS;
}
