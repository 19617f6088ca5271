/* clattn__plan_weights: the materialised weights [B, Hq, M, N] (kernels/weights.cl): a scores
 * kernel, then one work-group per row normalising it in place. */
#include "planners.h"
#include "tuning.h"
#include "size.h"
#include "status.h"
#include "contract.h"

#include <stdio.h>
#include <string.h>

/* Local memory of the tiled scores kernel: Q and K tiles of edge x (WEIGHTS_TD + 1) floats. */
static size_t tile_local_bytes(size_t edge) {
    return 2 * edge * (WEIGHTS_TD + 1) * sizeof(float);
}

clattn_status clattn__plan_weights(const clattn_device_profile *p,
                                   const clattn_attention_desc *desc,
                                   clattn_weights_launch_plan *out) {
    const clattn_weights_tuning *t = &clattn_weights_tune;
    memset(out, 0, sizeof *out);
    const bool cpu = p->variant == CLATTN_VARIANT_CPU;
    size_t tile = t->max_tile;
    if (!cpu)
        while (tile > 1 && (tile * tile > clattn__profile_group_limit(p, true) ||
                            tile_local_bytes(tile) > p->local_mem_size))
            tile /= 2;
    out->tile = tile;
    char defines[64];
    snprintf(defines, sizeof defines, "-DWEIGHTS_TILE=%zu", tile);
    const size_t limit = clattn__profile_group_limit(p, false);
    const size_t heads_total = desc->batch * desc->q_heads; /* validated: no overflow */

    clattn_launch *l = clattn__plan_add(
        &out->base, "weights.cl", cpu ? "weights_scores_rows" : "weights_scores_tiled", defines, 3);
    if (cpu) {
        const size_t key_blocks = (desc->n + WEIGHTS_KEYS - 1) / WEIGHTS_KEYS;
        const size_t want = clattn__next_pow2(key_blocks);
        l->local[0] = clattn__pow2_at_most(want < t->cpu_group ? want : t->cpu_group, limit);
        l->global[0] = clattn__round_up(key_blocks, l->local[0]);
        l->global[1] = desc->m;
    } else {
        l->reqd_size = true;
        l->local[0] = l->local[1] = tile;
        l->global[0] = clattn__round_up(desc->n, tile);
        l->global[1] = clattn__round_up(desc->m, tile);
        l->local_bytes = tile_local_bytes(tile);
    }
    l->global[2] = heads_total;
    if (desc->norm == CLATTN_NORM_NONE) return CLATTN_SUCCESS;

    /* About normalize_elems scores a work-item, at most normalize_group work-items. */
    size_t want = clattn__next_pow2((desc->n + t->normalize_elems - 1) / t->normalize_elems);
    size_t local =
        clattn__pow2_at_most(want < t->normalize_group ? want : t->normalize_group, limit);
    while (local > 1 && local * 2 * sizeof(float) > p->local_mem_size)
        local /= 2;
    size_t rows, global;
    if (!clattn__mul_size(heads_total, desc->m, &rows) || !clattn__mul_size(rows, local, &global))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "weights: rows * work-group overflows");
    l = clattn__plan_add(&out->base, "weights.cl", "weights_normalize_rows", defines, 1);
    l->local[0] = local;
    l->global[0] = global;
    l->local_bytes = local * 2 * sizeof(float);
    return CLATTN_SUCCESS;
}
