/* clattn__plan_scores: scores[j] = scale * dot(x_j, q) (kernels/scores.cl). */
#include "planners.h"
#include "tuning.h"
#include "size.h"
#include "contract.h"

#include <stdio.h>
#include <string.h>

clattn_status clattn__plan_scores(const clattn_device_profile *p, size_t n, size_t d,
                                  const clattn_seed_dtypes *dtypes, clattn_scores_plan *out) {
    const clattn_scores_tuning *t = &clattn_scores_tune;
    memset(out, 0, sizeof *out);
    out->cpu = p->variant == CLATTN_VARIANT_CPU;
    char defines[96];
    snprintf(defines, sizeof defines, "-DSCORES_ROWS=%zu", t->cpu_rows);
    clattn__plan_seed_dtype_defines(dtypes, "xq", defines, sizeof defines);
    const size_t limit = clattn__profile_group_limit(p, false);
    clattn_launch *l = clattn__plan_add(&out->base, "scores.cl",
                                        out->cpu ? "scores_rows" : "scores_lanes", defines, 1);
    if (out->cpu) {
        l->local[0] = clattn__pow2_at_most(t->cpu_group, limit);
        l->global[0] = clattn__round_up((n + t->cpu_rows - 1) / t->cpu_rows, l->local[0]);
        out->lanes = 1;
    } else {
        l->local[0] = clattn__pow2_at_most(t->gpu_group, limit);
        size_t want = clattn__next_pow2((d + t->gpu_lane_elems - 1) / t->gpu_lane_elems);
        size_t lanes = want > t->gpu_max_lanes ? t->gpu_max_lanes : want;
        if (lanes > l->local[0]) lanes = l->local[0];
        const size_t rows_per_group = l->local[0] / lanes;
        l->global[0] = (n + rows_per_group - 1) / rows_per_group * l->local[0];
        l->local_bytes = l->local[0] * sizeof(float);
        out->lanes = (unsigned)lanes;
    }
    return CLATTN_SUCCESS;
}
