/* clattn__plan_context: context[c] = sum_j w[j] v[j][c] over row blocks (kernels/context.cl). */
#include "planners.h"
#include "tuning.h"
#include "size.h"
#include "status.h"
#include "contract.h"

#include <string.h>

clattn_status clattn__plan_context(const clattn_device_profile *p, size_t n, size_t d,
                                   const clattn_seed_dtypes *dtypes, clattn_context_plan *out) {
    const clattn_context_tuning *t = &clattn_context_tune;
    memset(out, 0, sizeof *out);
    if (n == 0 || d == 0)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE, "context: n (%zu) and d (%zu) must be > 0",
                            n, d);
    const bool cpu = p->variant == CLATTN_VARIANT_CPU;
    /* A block per min_rows rows, enough to fill the device (CPU: a few per compute unit). */
    size_t max_blocks = cpu ? t->cpu_blocks_per_unit * p->compute_units : t->max_blocks;
    if (max_blocks == 0) max_blocks = 1;
    /* Rounded-up divisions that cannot wrap for n near SIZE_MAX. */
    size_t blocks = n / t->min_rows + (n % t->min_rows != 0);
    if (blocks > max_blocks) blocks = max_blocks;
    out->rows_per_block = n / blocks + (n % blocks != 0);
    out->blocks = n / out->rows_per_block + (n % out->rows_per_block != 0);
    size_t floats;
    if (!clattn__mul_size(out->blocks, d, &floats) ||
        !clattn__mul_size(floats, sizeof(float), &out->base.scratch_bytes))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "context: scratch size overflows");

    const size_t limit = clattn__profile_group_limit(p, false);
    char defines[32] = ""; /* one program: the finish kernel shares it */
    clattn__plan_seed_dtype_defines(dtypes, "v", defines, sizeof defines);
    clattn_launch *l = clattn__plan_add(
        &out->base, "context.cl", cpu ? "context_partials_vec" : "context_partials", defines, 2);
    if (cpu) {
        l->global[0] = (d + CONTEXT_VEC_COLS - 1) / CONTEXT_VEC_COLS;
        l->global[1] = out->blocks;
        l->any_local = true;
    } else {
        const size_t group = clattn__pow2_at_most(t->partials_group, limit);
        size_t cols =
            clattn__next_pow2(d) < t->gpu_max_cols ? clattn__next_pow2(d) : t->gpu_max_cols;
        if (cols > group) cols = group;
        l->local[0] = cols;
        l->local[1] = group / cols;
        l->global[0] = clattn__round_up(d, cols);
        l->global[1] = out->blocks * l->local[1];
        l->local_bytes = l->local[0] * l->local[1] * sizeof(float);
    }
    l = clattn__plan_add(&out->base, "context.cl", "context_finish", defines, 1);
    l->local[0] = clattn__pow2_at_most(t->finish_group, limit);
    l->global[0] = clattn__round_up(d, l->local[0]);
    return CLATTN_SUCCESS;
}
