/* clattn__plan_normalize: weights = norm(scores), a two-level reduction (kernels/normalize.cl). */
#include "planners.h"
#include "tuning.h"
#include "size.h"

#include <string.h>

#define STATS_BYTES (2 * sizeof(float)) /* a float2 (max, sum) */

clattn_status clattn__plan_normalize(const clattn_device_profile *p, clattn_norm norm, size_t n,
                                     clattn_normalize_plan *out) {
    const clattn_normalize_tuning *t = &clattn_normalize_tune;
    memset(out, 0, sizeof *out);
    if (norm == CLATTN_NORM_NONE || n == 0) return CLATTN_SUCCESS; /* a copy or a marker */
    const size_t limit = clattn__profile_group_limit(p, false);
    const size_t local = clattn__pow2_at_most(t->group, limit);
    /* One work-group does it all (no scratch) while each work-item has few scores. */
    out->small =
        n <= p->max_work_group_size * t->small_per_item && n <= t->group * t->small_per_item;
    if (out->small) {
        clattn_launch *l = clattn__plan_add(&out->base, "normalize.cl", "norm_small", NULL, 1);
        l->global[0] = l->local[0] = local;
        l->local_bytes = local * STATS_BYTES;
        return CLATTN_SUCCESS;
    }
    size_t groups = (n + local - 1) / local;
    if (groups > t->max_groups) groups = t->max_groups;
    if (p->variant == CLATTN_VARIANT_CPU && groups > t->cpu_groups_per_unit * p->compute_units)
        groups = t->cpu_groups_per_unit * p->compute_units;
    if (groups == 0) groups = 1;
    out->groups = (unsigned)groups;
    /* A (max, sum) pair per level-1 work-group (sized for the most there can be, so that
     * clattn_scratch_size need not know the device's compute units) and one for the total. */
    const size_t most = n < t->max_groups ? n : t->max_groups;
    out->base.scratch_bytes = (most + 1) * STATS_BYTES;

    clattn_launch *l = clattn__plan_add(&out->base, "normalize.cl", "norm_partials", NULL, 1);
    l->local[0] = local;
    l->global[0] = groups * local;
    l->local_bytes = local * STATS_BYTES;
    l = clattn__plan_add(&out->base, "normalize.cl", "norm_finish", NULL, 1);
    l->global[0] = l->local[0] = local;
    l->local_bytes = local * STATS_BYTES;
    l = clattn__plan_add(&out->base, "normalize.cl", "norm_apply", NULL, 1);
    l->local[0] = local;
    l->global[0] = clattn__round_up(n, local);
    return CLATTN_SUCCESS;
}
