/* clattn__plan_attention: the fused attention (kernels/attention.cl on CPUs,
 * attention_gpu.cl on GPUs, attention_merge.cl):
 * variant, tiles, KV splits, scratch regions and the launches [pack K/V] -> attention ->
 * [merge]. */
#include "planners.h"
#include "tuning.h"
#include "size.h"
#include "status.h"
#include "contract.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The GPU shape's tile (kernels/attention_gpu.cl): the device family's work-group and rows
 * (clattn__attention_gpu_tile), or its decode tile for a few rows; halved (work-items first,
 * then rows and keys) where the device allows fewer work-items or less local memory.
 * CLATTN_ATTENTION_GPU_TILE="wg,bm,bn,rpt" overrides (for tuning on a new device). */
static size_t gpu_local_bytes(const clattn_attention_plan *a) {
    const size_t tpr = a->wg * a->rpt / a->bm;
    return sizeof(float) * ((a->bm + a->bn) * (a->slice + 1) + a->bm * (a->bn + 1) + a->bm * tpr +
                            a->vch * a->head_dv) +
           a->bm * 6 * sizeof(cl_ulong);
}

/* The kernel's rules for a GPU tile (tools/kernel-report.sh, test_plan): rows a multiple of
 * the rows per work-item, row groups of TPR = wg * rpt / bm work-items dividing bn and Dv. */
static bool gpu_tile_rules(size_t head_dv, unsigned wg, unsigned bm, unsigned bn, unsigned rpt) {
    return wg >= 1 && wg <= 1024 && bm >= 1 && bm <= 256 && bn >= 1 && bn <= 256 && rpt >= 1 &&
           rpt <= 4 && bm % rpt == 0 && (wg * rpt) % bm == 0 && bn % ((wg * rpt) / bm) == 0 &&
           head_dv % ((wg * rpt) / bm) == 0;
}

/* A tuned GPU tile within the device's limits as it is (not halved): work-items and local
 * memory. */
static bool gpu_tile_fits(const clattn_device_profile *p, clattn_attention_plan a,
                          const unsigned v[CLATTN_TUNED_VALUES]) {
    if (!gpu_tile_rules(a.head_dv, v[0], v[1], v[2], v[3])) return false;
    a.wg = v[0], a.bm = v[1], a.bn = v[2], a.rpt = v[3], a.slice = 16, a.vch = 16;
    if (a.vch > a.bn || a.bn % a.vch) a.vch = a.bn;
    return a.wg <= clattn__profile_group_limit(p, true) && gpu_local_bytes(&a) <= p->local_mem_size;
}

static void gpu_tiles(const clattn_device_profile *p, const clattn_attention_desc *d,
                      clattn_attention_plan *a) {
    const clattn_attention_gpu_tile *f = clattn__attention_gpu_tile(p->vendor);
    const size_t budget =
        p->local_mem_size < f->local_budget ? (size_t)p->local_mem_size : f->local_budget;
    const size_t max_wg = clattn__profile_group_limit(p, true);
    const bool decode = (d->q_heads / d->kv_heads) * d->m <= clattn_attention_tune.gpu_decode_rows;
    a->wg = f->group, a->rpt = 1, a->slice = 16, a->vch = 16;
    a->bm = decode ? f->decode_bm : f->bm;
    a->bn = decode ? f->decode_bn : f->bn;
    /* Precedence: the environment, then the device's tuned table (prefill only: the winner
     * was measured there), then the family's tile. */
    const char *env = getenv("CLATTN_ATTENTION_GPU_TILE");
    const clattn_tuned_entry *tuned =
        decode ? NULL : clattn__tuned_find(&p->tuned, CLATTN_TUNED_ATTENTION_GPU, d->d);
    unsigned wg, bm, bn, rpt;
    if (env && sscanf(env, "%u,%u,%u,%u", &wg, &bm, &bn, &rpt) == 4 &&
        gpu_tile_rules(a->head_dv, wg, bm, bn, rpt))
        a->wg = wg, a->bm = bm, a->bn = bn, a->rpt = rpt;
    else if (tuned && gpu_tile_fits(p, *a, tuned->value))
        a->wg = tuned->value[0], a->bm = tuned->value[1], a->bn = tuned->value[2],
        a->rpt = tuned->value[3];
    for (;;) {
        if (a->vch > a->bn || a->bn % a->vch) a->vch = a->bn;
        if ((a->wg <= max_wg && gpu_local_bytes(a) <= budget) || a->wg <= 16) break;
        a->wg /= 2; /* half the work-items, the same rows: fewer per row */
        if (a->wg * a->rpt / a->bm < 2 || a->bn % (a->wg * a->rpt / a->bm)) a->bm /= 2, a->bn /= 2;
    }
}

/* The sub-group shuffle the GPU shape's row groups reduce with (SUBGROUP_SHUFFLE_*), or 0
 * for the portable local-memory path: the device's, khr first. CLATTN_SUBGROUPS=0 forces
 * the local-memory path, =khr or =intel allows only that shuffle (documented in tuning.h).
 * The kernel's butterfly needs a power-of-two row group. */
static int gpu_shuffle(const clattn_device_profile *p, size_t tpr) {
    const char *env = getenv("CLATTN_SUBGROUPS");
    if ((tpr & (tpr - 1)) || (env && strcmp(env, "0") == 0)) return 0;
    const bool only_khr = env && strcmp(env, "khr") == 0;
    const bool only_intel = env && strcmp(env, "intel") == 0;
    if (p->shuffle_khr && !only_intel) return SUBGROUP_SHUFFLE_KHR;
    if (p->shuffle_intel && !only_khr) return SUBGROUP_SHUFFLE_INTEL;
    return 0;
}

static void choose_splits(const clattn_device_profile *p, const clattn_attention_desc *d,
                          clattn_attention_plan *a) {
    const clattn_attention_tuning *t = &clattn_attention_tune;
    const size_t blocks = (d->n + a->key_align - 1) / a->key_align;
    size_t splits = 1;
    if (d->varlen) {
        /* varlen: one chunk (the merge knows no sequences); the row blocks of all the
         * sequences usually fill the device anyway */
    } else if (d->kv_splits > 1) {
        splits = d->kv_splits < blocks ? d->kv_splits : blocks;
    } else if (d->kv_splits == 0) {
        /* Few work-groups for the device (decoding: M small) and long N: split the keys. */
        const size_t units =
            a->row_groups * d->batch * (a->cpu ? d->q_heads / a->heads : d->kv_heads);
        const size_t target =
            (a->cpu ? t->cpu_split_target : t->gpu_split_target) * (size_t)p->compute_units;
        if (units < target && d->n >= 2 * t->min_split_keys) {
            splits = (target + units - 1) / units;
            if (splits > d->n / t->min_split_keys) splits = d->n / t->min_split_keys;
            if (splits > t->max_splits) splits = t->max_splits;
        }
    }
    a->chunk = clattn__round_up((d->n + splits - 1) / splits, a->key_align);
    a->splits = (d->n + a->chunk - 1) / a->chunk;
}

/* The ranges of a CPU register tile (rows, kv, vc, tiles), as tuning.h documents them. */
static bool cpu_tile_rules(const unsigned v[CLATTN_TUNED_VALUES]) {
    return v[0] >= 1 && v[0] <= 16 && v[1] >= 1 && v[1] <= 4 && v[2] >= 1 && v[2] <= 4 &&
           v[3] >= 1 && v[3] <= 16;
}

/* A tuned CPU tile within the device's limits: one key block's weights in local memory. */
static bool cpu_tile_fits(const clattn_device_profile *p, const unsigned v[CLATTN_TUNED_VALUES]) {
    return cpu_tile_rules(v) &&
           (uint64_t)v[0] * HEAD_PAD * v[1] * sizeof(float) <= p->local_mem_size;
}

/* CLATTN_ATTENTION_CPU_TILE="rows,kv,vc,tiles" (documented in tuning.h), else the device's
 * tuned entry for this head dim when it fits. */
static void tile_override(const clattn_device_profile *p, const clattn_attention_desc *d,
                          clattn_attention_plan *a) {
    const char *tile = getenv("CLATTN_ATTENTION_CPU_TILE");
    const clattn_tuned_entry *tuned =
        clattn__tuned_find(&p->tuned, CLATTN_TUNED_ATTENTION_CPU, d->d);
    unsigned v[CLATTN_TUNED_VALUES];
    bool use =
        tile && sscanf(tile, "%u,%u,%u,%u", &v[0], &v[1], &v[2], &v[3]) == 4 && cpu_tile_rules(v);
    if (!use && tuned && cpu_tile_fits(p, tuned->value)) {
        memcpy(v, tuned->value, sizeof v);
        use = true;
    }
    if (use) {
        a->rows = v[0], a->kv = v[1], a->vc = v[2], a->tiles = v[3];
        a->head_dv = clattn__round_up(a->head_dv, HEAD_PAD * a->vc);
    }
}

bool clattn__attention_tuned_fits(const clattn_device_profile *p, const clattn_tuned_entry *e) {
    if (e->head_d < 1 || e->head_d > CLATTN_TUNED_MAX_HEAD_DIM) return false;
    if (e->op == CLATTN_TUNED_ATTENTION_CPU) return cpu_tile_fits(p, e->value);
    if (e->op != CLATTN_TUNED_ATTENTION_GPU) return false;
    clattn_attention_plan a;
    memset(&a, 0, sizeof a);
    a.head_d = a.head_dv = clattn__round_up(e->head_d, HEAD_PAD);
    return gpu_tile_fits(p, a, e->value);
}

static void cpu_tiles(const clattn_device_profile *p, const clattn_attention_desc *d,
                      clattn_attention_plan *a) {
    const clattn_attention_tuning *t = &clattn_attention_tune;
    if (p->native_float_width && p->native_float_width <= 8) /* 16 registers of 8 floats */
        a->rows = t->narrow_rows, a->kv = t->narrow_kv, a->vc = t->narrow_vc;
    else
        a->rows = t->cpu_rows, a->kv = t->cpu_kv, a->vc = t->cpu_vc;
    a->head_dv = clattn__round_up(d->dv, HEAD_PAD * a->vc); /* whole chunks of VC float16 */
    /* Several tiles share each K/V block from the cache; fewer when the head is wide (the
     * accumulators must stay in L1); four times more when one head's K and V outgrow the
     * caches (each pass over them then costs memory bandwidth). */
    const size_t width = a->head_d + a->head_dv;
    a->tiles = width <= 128 ? 4 : width <= 256 ? 2 : 1;
    if (d->n * width * sizeof(float) > t->large_kv_bytes) a->tiles *= 4;
    tile_override(p, d, a);
    /* No tile beyond the rows, and enough work-groups for every compute unit. */
    while (a->tiles > 1 && (a->tiles / 2) * a->rows >= d->m)
        a->tiles /= 2;
    while (a->tiles > 1 &&
           (d->m + a->tiles * a->rows - 1) / (a->tiles * a->rows) * d->batch * d->q_heads <
               t->cpu_units_per_cu * (size_t)p->compute_units)
        a->tiles /= 2;
    /* Decoding (a few rows): reading K and V once in place beats repacking them. */
    /* A paged KV cache is gathered by the pack kernel: never direct. */
    a->direct = d->m <= t->direct_max_rows && d->d % HEAD_PAD == 0 && d->dv % HEAD_PAD == 0 &&
                !d->page_size;
    /* Direct with grouped-query heads: the group's heads are the rows of one work-group (one
     * pass over K and V for all of them), in tiles of at most direct_max_rows rows. */
    const size_t group = d->q_heads / d->kv_heads;
    a->heads = a->direct && group > 1 && group * d->m <= t->direct_max_rows * t->direct_max_rows
                   ? group
                   : 1;
    if (a->direct) { /* tiles of exactly the heads * M rows */
        const size_t total = a->heads * d->m;
        a->kv = t->direct_kv;
        /* The whole output row per key (VC = Dv / 16): each V row is read once, front to
         * back, instead of in Dv / 16 strided passes over the block (perf: the V loads took
         * 61% of the kernel at N = 2^20; 1.15-1.35x faster measured alternately). */
        a->head_dv = d->dv;
        a->vc = a->head_dv / HEAD_PAD;
        a->rows = total <= t->direct_max_rows ? total : t->direct_max_rows;
        a->tiles = (total + a->rows - 1) / a->rows;
    }
    a->group_rows = a->tiles * a->rows;
    a->key_align = HEAD_PAD * a->kv;
    a->npad = clattn__round_up(d->n, a->key_align);
}

/* Scratch regions, each aligned for a sub-buffer. */
static clattn_status scratch_layout(const clattn_device_profile *p, const clattn_attention_desc *d,
                                    clattn_attention_plan *a) {
    const size_t align = p->mem_base_addr_align > 64 ? p->mem_base_addr_align : 64;
    size_t sizes[4] = {0, 0, 0, 0}, bhkv, rows, bytes;
    bool ok = clattn__mul_size(d->batch, d->kv_heads, &bhkv);
    if (a->cpu && !a->direct)
        ok = ok && clattn__mul_size(bhkv, a->npad, &rows) &&
             clattn__mul_size(rows, a->head_d * sizeof(float), &sizes[0]) &&
             clattn__mul_size(rows, a->head_dv * sizeof(float), &sizes[1]);
    if (a->splits > 1)
        ok = ok && clattn__mul_size(a->splits, d->batch * d->q_heads, &rows) &&
             clattn__mul_size(rows, d->m, &rows) &&
             clattn__mul_size(rows, a->head_dv * sizeof(float), &sizes[2]) &&
             clattn__mul_size(rows, 4 * sizeof(float), &sizes[3]);
    size_t offset = 0, *out[4] = {&a->kp_offset, &a->vp_offset, &a->part_offset, &a->stats_offset};
    for (int i = 0; ok && i < 4; i++) {
        *out[i] = offset;
        bytes = clattn__round_up(sizes[i], align);
        ok = bytes >= sizes[i] && offset <= SIZE_MAX - bytes;
        offset += bytes;
    }
    if (!ok) return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "attention: scratch size overflows");
    a->base.scratch_bytes = offset;
    return CLATTN_SUCCESS;
}

_Static_assert(DTYPE_F32 == CLATTN_F32 && DTYPE_F16 == CLATTN_F16 && DTYPE_BF16 == CLATTN_BF16,
               "kernels/contract.h's DTYPE_* must equal clattn_dtype");

/* The storage-type defines of the tensors not stored as float32 (contract.h: absent means
 * float32, so float32 programs keep their options and their cache entries). The mask's only
 * for an additive mask. */
static void add_dtype_defines(const clattn_attention_desc *d, char *defines, size_t size) {
    const struct {
        const char *name;
        clattn_dtype dtype;
    } tensors[] = {{"Q", d->q_dtype},
                   {"K", d->k_dtype},
                   {"V", d->v_dtype},
                   {"O", d->o_dtype},
                   {"MASK", d->mask_kind == CLATTN_MASK_ADDITIVE ? d->mask_dtype : CLATTN_F32}};
    for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++) {
        if (tensors[i].dtype == CLATTN_F32) continue;
        const size_t used = strlen(defines);
        snprintf(defines + used, size - used, "%s-D%s_DTYPE=%d", used ? " " : "", tensors[i].name,
                 (int)tensors[i].dtype);
    }
}

static void add_launches(const clattn_device_profile *p, const clattn_attention_desc *d,
                         clattn_attention_plan *a) {
    char defines[CLATTN_PLAN_OPTIONS_SIZE];
    if (a->cpu)
        snprintf(defines, sizeof defines,
                 "-DHEAD_D=%zu -DHEAD_DV=%zu -DNORM=%d -DTILES=%zu -DROWS=%zu -DKV=%zu -DVC=%zu "
                 "-DDIRECT=%d -DHEADS=%zu",
                 a->head_d, a->head_dv, (int)d->norm, a->tiles, a->rows, a->kv, a->vc,
                 (int)a->direct, a->heads);
    else
        snprintf(defines, sizeof defines,
                 "-DHEAD_D=%zu -DHEAD_DV=%zu -DNORM=%d -DWG=%zu -DBM=%zu -DBN=%zu -DRPT=%zu "
                 "-DSLICE=%zu -DVCH=%zu",
                 a->head_d, a->head_dv, (int)d->norm, a->wg, a->bm, a->bn, a->rpt, a->slice,
                 a->vch);
    /* Model variants as defines (constants of a model, so few programs): softcap as a
     * hexadecimal float literal (exact), the window sides (-1 = unbounded). */
    if (d->softcap > 0.0f) {
        const size_t used = strlen(defines);
        snprintf(defines + used, sizeof defines - used, " -DSOFTCAP=%af", (double)d->softcap);
    }
    if (d->alibi) {
        const size_t used = strlen(defines);
        snprintf(defines + used, sizeof defines - used, " -DALIBI=1");
    }
    if (d->window) {
        const size_t used = strlen(defines);
        snprintf(defines + used, sizeof defines - used, " -DWIN_LEFT=%ldL -DWIN_RIGHT=%ldL",
                 d->window_left, d->window_right);
    }
    if (d->page_size && !a->cpu) { /* the GPU shape's block-table addressing */
        const size_t used = strlen(defines);
        snprintf(defines + used, sizeof defines - used, " -DPAGED=1");
    }
    if (d->sinks && !a->cpu) { /* the GPU shape folds the sink in only when built for it */
        const size_t used = strlen(defines);
        snprintf(defines + used, sizeof defines - used, " -DSINKS=1");
    }
    if (d->dropout != 0.0f) { /* training only: the inference programs stay as they are */
        const size_t used = strlen(defines);
        snprintf(defines + used, sizeof defines - used, " -DDROPOUT=1");
    }
    add_dtype_defines(d, defines, sizeof defines);
    if (a->shuffle) {
        /* The khr shuffle's sub-group built-ins need OpenCL C 2.0 or 3.0; this -cl-std
         * replaces the base options' CL1.2 (clattn__program_options). */
        const char *std = a->shuffle != SUBGROUP_SHUFFLE_KHR ? ""
                          : p->opencl_c_major >= 3           ? " -cl-std=CL3.0"
                                                             : " -cl-std=CL2.0";
        const size_t used = strlen(defines);
        snprintf(defines + used, sizeof defines - used, " -DSUBGROUP_SHUFFLE=%d%s", a->shuffle,
                 std);
    }
    a->pack = a->attention = a->merge = -1;
    clattn_launch *l;
    if (a->cpu && !a->direct) {
        a->pack = (int)a->base.count;
        l = clattn__plan_add(&a->base, "attention.cl", "attention_pack_kv", defines, 2);
        l->global[0] = a->npad / a->key_align;
        l->global[1] = d->batch * d->kv_heads;
        l->any_local = true;
    }
    a->attention = (int)a->base.count;
    l = clattn__plan_add(&a->base, a->cpu ? "attention.cl" : "attention_gpu.cl",
                         a->cpu ? "attention_cpu" : "attention_gpu", defines, 3);
    l->reqd_size = true;
    l->global[0] = a->row_groups;
    /* GPU: one work-group serves all the query heads sharing a K/V head; CPU: a->heads */
    l->global[1] = d->batch * (a->cpu ? d->q_heads / a->heads : d->kv_heads);
    l->global[2] = a->splits;
    if (a->cpu) {
        l->local_bytes = a->rows * a->key_align * sizeof(float); /* one key block's weights */
    } else {
        l->global[0] *= a->wg;
        l->local[0] = a->wg;
        l->local_bytes = gpu_local_bytes(a);
    }
    if (a->splits == 1) return;
    a->merge = (int)a->base.count;
    char merge_defines[32] = ""; /* the merge writes O: its dtype only */
    if (d->o_dtype != CLATTN_F32)
        snprintf(merge_defines, sizeof merge_defines, "-DO_DTYPE=%d", (int)d->o_dtype);
    l = clattn__plan_add(&a->base, "attention_merge.cl", "attention_merge",
                         merge_defines[0] ? merge_defines : NULL, 2);
    l->local[0] = clattn__pow2_at_most(clattn_attention_tune.merge_group,
                                       clattn__profile_group_limit(p, false));
    l->global[0] = clattn__round_up(d->m, l->local[0]);
    l->global[1] = d->batch * d->q_heads;
}

clattn_status clattn__plan_attention(const clattn_device_profile *p,
                                     const clattn_attention_desc *desc,
                                     clattn_attention_plan *out) {
    memset(out, 0, sizeof *out);
    out->cpu = p->variant == CLATTN_VARIANT_CPU;
    out->head_d = clattn__round_up(desc->d, HEAD_PAD);
    out->head_dv = clattn__round_up(desc->dv, HEAD_PAD);
    if (out->cpu) {
        cpu_tiles(p, desc, out);
    } else {
        gpu_tiles(p, desc, out);
        out->shuffle = gpu_shuffle(p, out->wg * out->rpt / out->bm);
        out->group_rows = out->bm;
        out->key_align = out->bn;
    }
    /* The rows of a GQA group's heads are numbered together (row = head * M + i): on GPUs
     * always, on CPUs for out->heads heads. */
    const size_t rows = (out->cpu ? out->heads : desc->q_heads / desc->kv_heads) * desc->m;
    out->row_groups = (rows + out->group_rows - 1) / out->group_rows;
    choose_splits(p, desc, out);
    clattn_status status = scratch_layout(p, desc, out);
    if (status) return status;
    add_launches(p, desc, out);
    return CLATTN_SUCCESS;
}
