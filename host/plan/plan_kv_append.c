/* clattn__plan_kv_append: the paged KV cache's append (kernels/kv_append.cl), one
 * work-group per (sequence * kv head, new token). */
#include "planners.h"
#include "contract.h"

#include <string.h>

clattn_status clattn__plan_kv_append(const clattn_device_profile *p,
                                     const clattn_kv_append_desc *desc, clattn_plan *out) {
    memset(out, 0, sizeof *out);
    clattn_launch *l = clattn__plan_add(out, "kv_append.cl", "kv_append", NULL, 3);
    l->local[0] = clattn__pow2_at_most(KV_APPEND_GROUP, clattn__profile_group_limit(p, false));
    l->local[1] = l->local[2] = 1;
    l->global[0] = l->local[0];
    l->global[1] = desc->batch * desc->kv_heads;
    l->global[2] = desc->tokens;
    return CLATTN_SUCCESS;
}
