/* clattn__plan_query_small: the whole query pipeline for a small problem in one work-group
 * (kernels/query_small.cl). */
#include "planners.h"
#include "tuning.h"

#include <string.h>

bool clattn__plan_query_small_fits(size_t n, size_t d) {
    const clattn_query_small_tuning *t = &clattn_query_small_tune;
    return n <= t->max_rows && d <= t->max_elements && n * d <= t->max_elements;
}

clattn_status clattn__plan_query_small(const clattn_device_profile *p, size_t n, size_t d,
                                       const clattn_seed_dtypes *dtypes, clattn_plan *out) {
    (void)n, (void)d;
    memset(out, 0, sizeof *out);
    char defines[64] = "";
    clattn__plan_seed_dtype_defines(dtypes, "xqv", defines, sizeof defines);
    clattn_launch *l = clattn__plan_add(out, "query_small.cl", "query_small", defines, 1);
    l->global[0] = l->local[0] =
        clattn__pow2_at_most(clattn_query_small_tune.group, clattn__profile_group_limit(p, false));
    l->local_bytes = l->local[0] * 2 * sizeof(float);
    return CLATTN_SUCCESS;
}
