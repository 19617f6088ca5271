/* clattn_enqueue_attention: the fused attention operation (kernels/attention.cl).
 * validate -> plan (variant, tiles, KV splits) -> [pack K/V] -> attention -> [merge]. */
#include "status.h"
#include "size.h"
#include "attention_desc.h"
#include "handle.h"
#include "program.h"
#include "launch.h"
#include "scratch.h"
#include "alias.h"
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG2E 1.4426950408889634
/* The CPU shape's register tile: CPU_ROWS query rows x CPU_KV float16 vectors of keys for
 * the scores, CPU_ROWS rows x CPU_VC float16 chunks of the output for P V (ROWS, KV, VC in
 * kernels/attention.cl). */
#define CPU_ROWS 6
#define CPU_KV   4
#define CPU_VC   2
/* 64 keys a block (KV = 4) rather than 32 spreads each block's softmax and rescaling over
 * twice the FMAs: measured +4% at D = 64 and D = 128 (PoCL 3.1, AVX-512, M = N = 4096);
 * 6 rows keep the 24 score accumulators and 4 key vectors within the 32 registers.
 * Decoding (a few rows, K and V read in place) keeps 32-key blocks. */
#define DIRECT_MAX_ROWS 8
#define DIRECT_KV       2
/* K + V of one head beyond this (bytes) no longer stay in the caches between passes. */
#define LARGE_KV_BYTES (4u << 20)
/* Local memory the GPU shape plans with: what a typical GPU offers, even where the device
 * reports more (PoCL reports its global memory as local). */
#define GPU_LOCAL_BUDGET 32768
/* Split-KV: each chunk keeps at least this many keys. */
#define MIN_SPLIT_KEYS 256
#define MAX_SPLITS     64

typedef struct plan {
    bool cpu;
    size_t head_d, head_dv; /* padded to 16 */
    size_t tiles;           /* CPU: row tiles per work-item */
    size_t rows, kv, vc;    /* CPU: register tile (see CPU_ROWS) */
    bool direct;            /* CPU: K and V read in place, not repacked */
    size_t bm, bn;          /* GPU: rows per work-group, keys per tile */
    size_t group_rows;      /* query rows per work-group */
    size_t row_groups;
    size_t key_align; /* split chunks are multiples of this */
    size_t npad;      /* CPU: N padded to the key block */
    size_t splits, chunk;
} plan;

static size_t pad16(size_t v) {
    return (v + 15) / 16 * 16;
}

/* The GPU shape's tiles: as many rows (<= 64) and keys (<= 64) as the local memory allows. */
static void gpu_tiles(const clattn_handle *h, plan *p, size_t max_rows) {
    size_t budget =
        h->local_mem_size < GPU_LOCAL_BUDGET ? (size_t)h->local_mem_size : GPU_LOCAL_BUDGET;
    budget = budget / sizeof(float) - 64; /* leave a little for the implementation */
    size_t bm = 64;
    while (bm > max_rows)
        bm /= 2;
    while (bm > 1 && bm * (p->head_d + 1) > budget / 2)
        bm /= 2;
    size_t bn = 64;
    while (bn > 1 && bm * (p->head_d + 1) + bn * (p->head_d + p->head_dv) > budget)
        bn /= 2;
    p->bm = bm;
    p->bn = bn;
}

static void choose_splits(const clattn_handle *h, const clattn_attention_desc *a, plan *p) {
    const size_t blocks = (a->n + p->key_align - 1) / p->key_align;
    size_t splits = 1;
    if (a->kv_splits > 1) {
        splits = a->kv_splits < blocks ? a->kv_splits : blocks;
    } else if (a->kv_splits == 0) {
        /* Few work-groups for the device (decoding: M small) and long N: split the keys. */
        const size_t units = p->row_groups * a->batch * a->q_heads;
        const size_t target = (p->cpu ? 4 : 2) * (size_t)h->compute_units;
        if (units < target && a->n >= 2 * MIN_SPLIT_KEYS) {
            splits = (target + units - 1) / units;
            if (splits > a->n / MIN_SPLIT_KEYS) splits = a->n / MIN_SPLIT_KEYS;
            if (splits > MAX_SPLITS) splits = MAX_SPLITS;
        }
    }
    p->chunk = clattn__round_up((a->n + splits - 1) / splits, p->key_align);
    p->splits = (a->n + p->chunk - 1) / p->chunk;
}

/* For tuning on a new device: CLATTN_ATTENTION_CPU_TILE="rows,kv,vc,tiles". */
static void tuning_overrides(plan *p) {
    const char *tile = getenv("CLATTN_ATTENTION_CPU_TILE");
    unsigned r, k, v, t;
    if (tile && sscanf(tile, "%u,%u,%u,%u", &r, &k, &v, &t) == 4 && r >= 1 && r <= 16 && k >= 1 &&
        k <= 4 && v >= 1 && v <= 4 && t >= 1 && t <= 16) {
        p->rows = r, p->kv = k, p->vc = v, p->tiles = t;
        p->head_dv = clattn__round_up(p->head_dv, 16 * p->vc);
    }
}

static void make_plan(const clattn_handle *h, const clattn_attention_desc *a, size_t gpu_max_rows,
                      plan *p) {
    memset(p, 0, sizeof *p);
    p->cpu = h->variant == CLATTN_VARIANT_CPU;
    p->head_d = pad16(a->d);
    p->head_dv = pad16(a->dv);
    if (p->cpu) {
        p->rows = CPU_ROWS, p->kv = CPU_KV, p->vc = CPU_VC;
        p->head_dv = clattn__round_up(a->dv, 16 * p->vc); /* whole chunks of VC float16 */
        /* Several tiles share each K/V block from the cache; fewer when the head is wide
         * (the work-item's accumulators must stay in L1) or the rows are few. When one
         * head's K and V outgrow the caches (N = 16384, D = 64: 8 MiB), each pass over them
         * costs memory bandwidth: four times the tiles (measured 160 vs 120 GFLOP/s/core). */
        const size_t width = p->head_d + p->head_dv;
        p->tiles = width <= 128 ? 4 : width <= 256 ? 2 : 1;
        if (a->n * width * sizeof(float) > LARGE_KV_BYTES) p->tiles *= 4;
        tuning_overrides(p);
        /* No tile beyond the rows, and enough work-groups for every compute unit. */
        while (p->tiles > 1 && (p->tiles / 2) * p->rows >= a->m)
            p->tiles /= 2;
        while (p->tiles > 1 &&
               (a->m + p->tiles * p->rows - 1) / (p->tiles * p->rows) * a->batch * a->q_heads <
                   4 * (size_t)h->compute_units)
            p->tiles /= 2;
        /* Decoding (a few rows): reading K and V once in place beats repacking them. */
        p->direct = a->m <= DIRECT_MAX_ROWS && a->d % 16 == 0 && a->dv % 16 == 0;
        if (p->direct) { /* a tile of exactly the M rows */
            p->kv = DIRECT_KV;
            p->vc = 1;
            p->head_dv = a->dv;
            p->rows = a->m;
            p->tiles = 1;
        }
        p->group_rows = p->tiles * p->rows;
        p->key_align = 16 * p->kv;
        p->npad = clattn__round_up(a->n, p->key_align);
    } else {
        gpu_tiles(h, p, gpu_max_rows);
        p->group_rows = p->bm;
        p->key_align = p->bn;
        p->npad = 0;
    }
    p->row_groups = (a->m + p->group_rows - 1) / p->group_rows;
    choose_splits(h, a, p);
}

static clattn_status get_kernels(clattn_handle *h, const clattn_attention_desc *a, plan *p,
                                 cl_kernel *pack, cl_kernel *attn, cl_kernel *merge) {
    char defines[200];
    clattn_status status;
    for (;;) {
        if (p->cpu)
            snprintf(defines, sizeof defines,
                     "-DHEAD_D=%zu -DHEAD_DV=%zu -DNORM_SUM=%d -DTILES=%zu -DROWS=%zu -DKV=%zu "
                     "-DVC=%zu -DDIRECT=%d",
                     p->head_d, p->head_dv, a->norm == CLATTN_NORM_SUM, p->tiles, p->rows, p->kv,
                     p->vc, (int)p->direct);
        else
            snprintf(defines, sizeof defines,
                     "-DHEAD_D=%zu -DHEAD_DV=%zu -DNORM_SUM=%d -DBM=%zu -DBN=%zu", p->head_d,
                     p->head_dv, a->norm == CLATTN_NORM_SUM, p->bm, p->bn);
        if ((status = clattn__get_kernel(h, "attention.cl", defines,
                                         p->cpu ? "attention_cpu" : "attention_gpu", attn)))
            return status;
        if (p->cpu) break;
        /* The compiled kernel may allow fewer work-items than planned: plan again. */
        size_t allowed = 0;
        if ((status = clattn__work_group_size(h, *attn, p->bm, &allowed))) {
            clReleaseKernel(*attn);
            return status;
        }
        if (allowed >= p->bm) break;
        clReleaseKernel(*attn);
        *attn = NULL;
        make_plan(h, a, allowed, p);
    }
    if (p->cpu && !p->direct &&
        (status = clattn__get_kernel(h, "attention.cl", defines, "attention_pack_kv", pack))) {
        clReleaseKernel(*attn);
        return status;
    }
    if (p->splits > 1 &&
        (status = clattn__get_kernel(h, "attention_merge.cl", NULL, "attention_merge", merge))) {
        clReleaseKernel(*attn);
        if (*pack) clReleaseKernel(*pack);
        return status;
    }
    return CLATTN_SUCCESS;
}

/* Checks that buf holds `count` elements of `size` bytes (a boolean mask is bytes). */
static clattn_status check_bytes(clattn_handle *h, cl_mem buf, size_t count, size_t size,
                                 const char *name) {
    if (size == sizeof(float)) return clattn__check_buffer(h, buf, 0, count, name);
    /* Context and NULL checks of the float helper, with a size it surely satisfies. */
    clattn_status status = clattn__check_buffer(h, buf, 0, 0, name);
    if (status) return status;
    size_t bytes = 0;
    cl_int err = clGetMemObjectInfo(buf, CL_MEM_SIZE, sizeof bytes, &bytes, NULL);
    if (err) return clattn__cl(err, name);
    if (bytes < count)
        return clattn__fail(CLATTN_ERROR_BUFFER_TOO_SMALL,
                            "buffer %s holds %zu bytes, the call needs %zu", name, bytes, count);
    return CLATTN_SUCCESS;
}

/* O and the LSE may not overlap each other or any input (a kernel would read what another
 * work-group already wrote). */
static clattn_status check_aliasing(const clattn_attention_desc *a,
                                    const clattn_attention_extents *e, cl_mem q, cl_mem k,
                                    cl_mem v, cl_mem mask, cl_mem o, cl_mem lse) {
    const size_t mask_elem = a->mask_kind == CLATTN_MASK_BOOLEAN ? 1 : sizeof(float);
    clattn_span in[4], out[2];
    clattn_status status;
    if ((status = clattn__span(q, a->q.offset, e->q, sizeof(float), "q", &in[0])) ||
        (status = clattn__span(k, a->k.offset, e->k, sizeof(float), "k", &in[1])) ||
        (status = clattn__span(v, a->v.offset, e->v, sizeof(float), "v", &in[2])) ||
        (status = clattn__span(mask, a->mask.offset, e->mask, mask_elem, "mask", &in[3])) ||
        (status = clattn__span(o, a->o.offset, e->o, sizeof(float), "o", &out[0])) ||
        (status = clattn__span(lse, a->lse.offset, e->lse, sizeof(float), "lse", &out[1])))
        return status;
    return clattn__check_no_alias(out, 2, in, 4, "attention");
}

/* Scratch regions, each aligned for a sub-buffer. */
typedef struct scratch_layout {
    size_t kp, vp, part, stats, total; /* byte offsets and total bytes */
} scratch_layout;

static clattn_status scratch_sizes(const clattn_handle *h, const clattn_attention_desc *a,
                                   const plan *p, scratch_layout *s) {
    const size_t align = h->mem_base_addr_align > 64 ? h->mem_base_addr_align : 64;
    size_t sizes[4] = {0, 0, 0, 0}, bhkv, rows, bytes;
    bool ok = clattn__mul_size(a->batch, a->kv_heads, &bhkv);
    if (p->cpu && !p->direct) {
        ok = ok && clattn__mul_size(bhkv, p->npad, &rows) &&
             clattn__mul_size(rows, p->head_d * sizeof(float), &sizes[0]) &&
             clattn__mul_size(rows, p->head_dv * sizeof(float), &sizes[1]);
    }
    if (p->splits > 1) {
        ok = ok && clattn__mul_size(p->splits, a->batch * a->q_heads, &rows) &&
             clattn__mul_size(rows, a->m, &rows) &&
             clattn__mul_size(rows, p->head_dv * sizeof(float), &sizes[2]) &&
             clattn__mul_size(rows, 4 * sizeof(float), &sizes[3]);
    }
    size_t offset = 0, *out[4] = {&s->kp, &s->vp, &s->part, &s->stats};
    for (int i = 0; ok && i < 4; i++) {
        *out[i] = offset;
        bytes = clattn__round_up(sizes[i], align);
        ok = bytes >= sizes[i] && offset <= SIZE_MAX - bytes;
        offset += bytes;
    }
    if (!ok) return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "attention: scratch size overflows");
    s->total = offset;
    return CLATTN_SUCCESS;
}

/* A sub-buffer of the scratch, or NULL for an empty region. */
static clattn_status region(cl_mem scratch, size_t offset, size_t bytes, cl_mem *out) {
    *out = NULL;
    if (!bytes) return CLATTN_SUCCESS;
    cl_buffer_region r = {offset, bytes};
    cl_int err;
    *out = clCreateSubBuffer(scratch, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &r, &err);
    return clattn__cl(err, "clCreateSubBuffer");
}

static void layout_vectors(const clattn_attention_desc *a, cl_ulong lay[16], cl_ulong lay2[8]) {
    const clattn_layout *l[6] = {&a->q, &a->k, &a->v, &a->o, &a->mask, &a->lse};
    for (int t = 0; t < 6; t++) {
        cl_ulong *dst = t < 4 ? lay + 4 * t : lay2 + 4 * (t - 4);
        dst[0] = l[t]->offset;
        for (int i = 0; i < 3; i++)
            dst[1 + i] = l[t]->stride[i];
    }
    if (a->mask_kind == CLATTN_MASK_NONE)
        for (int i = 0; i < 4; i++)
            lay2[i] = 0;
}

static clattn_status launch(clattn_handle *h, const clattn_attention_desc *a, const plan *p,
                            clattn_chain *chain, cl_kernel pack, cl_kernel attn, cl_kernel merge,
                            cl_mem q, cl_mem k, cl_mem v, cl_mem mask, cl_mem o, cl_mem lse,
                            cl_mem kp, cl_mem vp, cl_mem part, cl_mem stats) {
    cl_ulong lay[16], lay2[8];
    layout_vectors(a, lay, lay2);
    clattn_status status;
    if (p->cpu && !p->direct) {
        cl_ulong n = a->n, npad = p->npad;
        cl_uint d = (cl_uint)a->d, dv = (cl_uint)a->dv, kvh = (cl_uint)a->kv_heads;
        clattn_arg args[] = {{sizeof n, &n},   {sizeof npad, &npad}, {sizeof d, &d},
                             {sizeof dv, &dv}, {sizeof kvh, &kvh},   {sizeof lay, lay},
                             {sizeof k, &k},   {sizeof v, &v},       {sizeof kp, &kp},
                             {sizeof vp, &vp}};
        size_t global[2] = {p->npad / p->key_align, a->batch * a->kv_heads};
        if ((status = clattn__set_args(pack, args, 10)) ||
            (status = clattn__chain_launch(chain, pack, 2, global, NULL)))
            return status;
    }
    cl_ulong m = a->m, n = a->n, chunk = p->chunk, npad = p->npad;
    cl_uint d = (cl_uint)a->d, dv = (cl_uint)a->dv, hq = (cl_uint)a->q_heads;
    cl_uint group = (cl_uint)(a->q_heads / a->kv_heads);
    cl_float scale2 = (cl_float)(a->scale * LOG2E);
    cl_int causal = a->causal != CLATTN_CAUSAL_NONE, mask_kind = a->mask_kind;
    cl_long diag = a->causal == CLATTN_CAUSAL_BOTTOM_RIGHT ? (cl_long)a->n - (cl_long)a->m : 0;
    cl_mem final_o = p->splits > 1 ? NULL : o, final_lse = p->splits > 1 ? NULL : lse;
    cl_mem kin = p->cpu && !p->direct ? kp : k, vin = p->cpu && !p->direct ? vp : v;
    clattn_arg args[] = {{sizeof m, &m},
                         {sizeof n, &n},
                         {sizeof d, &d},
                         {sizeof dv, &dv},
                         {sizeof hq, &hq},
                         {sizeof group, &group},
                         {sizeof scale2, &scale2},
                         {sizeof causal, &causal},
                         {sizeof diag, &diag},
                         {sizeof mask_kind, &mask_kind},
                         {sizeof chunk, &chunk},
                         {sizeof npad, &npad},
                         {sizeof lay, lay},
                         {sizeof lay2, lay2},
                         {sizeof q, &q},
                         {sizeof kin, &kin},
                         {sizeof vin, &vin},
                         {sizeof mask, &mask},
                         {sizeof final_o, &final_o},
                         {sizeof final_lse, &final_lse},
                         {sizeof part, &part},
                         {sizeof stats, &stats}};
    size_t global[3] = {p->row_groups, a->batch * a->q_heads, p->splits};
    size_t local[3] = {1, 1, 1};
    if (!p->cpu) global[0] *= p->bm, local[0] = p->bm;
    if ((status = clattn__set_args(attn, args, 22)) ||
        (status = clattn__chain_launch(chain, attn, 3, global, local)))
        return status;
    if (p->splits == 1) return CLATTN_SUCCESS;

    cl_uint splits = (cl_uint)p->splits;
    cl_ulong pstride = p->head_dv;
    cl_int norm_sum = a->norm == CLATTN_NORM_SUM;
    clattn_arg margs[] = {{sizeof m, &m},
                          {sizeof dv, &dv},
                          {sizeof hq, &hq},
                          {sizeof splits, &splits},
                          {sizeof pstride, &pstride},
                          {sizeof norm_sum, &norm_sum},
                          {sizeof lay, lay},
                          {sizeof lay2, lay2},
                          {sizeof part, &part},
                          {sizeof stats, &stats},
                          {sizeof o, &o},
                          {sizeof lse, &lse}};
    size_t wg = 1;
    if ((status = clattn__work_group_size(h, merge, 64, &wg))) return status;
    size_t mglobal[2] = {clattn__round_up(a->m, wg), a->batch * a->q_heads};
    size_t mlocal[2] = {wg, 1};
    if ((status = clattn__set_args(merge, margs, 12))) return status;
    return clattn__chain_launch(chain, merge, 2, mglobal, mlocal);
}

clattn_status clattn_enqueue_attention(clattn_handle *h, cl_command_queue queue,
                                       const clattn_attention_desc *desc, cl_mem q, cl_mem k,
                                       cl_mem v, cl_mem mask, cl_mem o, cl_mem lse,
                                       cl_uint num_wait, const cl_event *wait, cl_event *done) {
    if (!h) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "handle is NULL");
    clattn_attention_extents e;
    clattn_status status = clattn__attention_check(desc, lse != NULL, &e);
    if (status) return status;
    if (desc->mask_kind != CLATTN_MASK_NONE && !mask)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER,
                            "attention: mask_kind is set but mask is NULL");
    const size_t mask_elem = desc->mask_kind == CLATTN_MASK_BOOLEAN ? 1 : sizeof(float);
    if ((status = clattn__check_wait_list(num_wait, wait)) ||
        (status = clattn__pick_queue(h, queue, &queue)) ||
        (status = clattn__check_buffer(h, q, 0, e.q, "q")) ||
        (status = clattn__check_buffer(h, k, 0, e.k, "k")) ||
        (status = clattn__check_buffer(h, v, 0, e.v, "v")) ||
        (status = clattn__check_buffer(h, o, 0, e.o, "o")) ||
        (lse && (status = clattn__check_buffer(h, lse, 0, e.lse, "lse"))) ||
        (desc->mask_kind != CLATTN_MASK_NONE &&
         (status = check_bytes(h, mask, e.mask, mask_elem, "mask"))))
        return status;
    if (desc->mask_kind == CLATTN_MASK_NONE) mask = NULL;
    if ((status = check_aliasing(desc, &e, q, k, v, mask, o, lse))) return status;

    plan p;
    make_plan(h, desc, h->max_work_group_size, &p);
    cl_kernel pack = NULL, attn = NULL, merge = NULL;
    if ((status = get_kernels(h, desc, &p, &pack, &attn, &merge))) return status;

    scratch_layout s = {0, 0, 0, 0, 0};
    cl_mem scratch = NULL, kp = NULL, vp = NULL, part = NULL, stats = NULL;
    cl_event scratch_wait = NULL;
    clattn_chain chain;
    clattn__chain_begin(&chain, queue, num_wait, wait);
    bool locked = false;
    if (!(status = scratch_sizes(h, desc, &p, &s)) && s.total > 0 &&
        !(status = clattn__scratch_acquire(h, s.total, &scratch, &scratch_wait))) {
        locked = true;
        chain.extra_wait = scratch_wait;
        if (!(status = region(scratch, s.kp, s.vp - s.kp, &kp)) &&
            !(status = region(scratch, s.vp, s.part - s.vp, &vp)) &&
            !(status = region(scratch, s.part, s.stats - s.part, &part)))
            status = region(scratch, s.stats, s.total - s.stats, &stats);
    }
    if (!status)
        status = launch(h, desc, &p, &chain, pack, attn, merge, q, k, v, mask, o, lse, kp, vp, part,
                        stats);
    if (locked) clattn__scratch_release(h, chain.last);
    cl_mem subs[4] = {kp, vp, part, stats};
    for (int i = 0; i < 4; i++)
        if (subs[i]) clReleaseMemObject(subs[i]);
    if (scratch_wait) clReleaseEvent(scratch_wait);
    if (pack) clReleaseKernel(pack);
    if (attn) clReleaseKernel(attn);
    if (merge) clReleaseKernel(merge);
    return clattn__chain_end(&chain, status, done);
}

/* The scratch bytes clattn_enqueue_attention acquires for desc (for clattn_scratch_size). The
 * GPU plan depends on the compiled kernel's limits, so this builds the kernels first. */
clattn_status clattn__attention_scratch_bytes(clattn_handle *h, const clattn_attention_desc *desc,
                                              size_t *bytes) {
    clattn_attention_extents e;
    clattn_status status = clattn__attention_check(desc, false, &e);
    if (status) return status;
    plan p;
    make_plan(h, desc, h->max_work_group_size, &p);
    cl_kernel pack = NULL, attn = NULL, merge = NULL;
    if ((status = get_kernels(h, desc, &p, &pack, &attn, &merge))) return status;
    if (pack) clReleaseKernel(pack);
    if (attn) clReleaseKernel(attn);
    if (merge) clReleaseKernel(merge);
    scratch_layout s = {0, 0, 0, 0, 0};
    if ((status = scratch_sizes(h, desc, &p, &s))) return status;
    *bytes = s.total;
    return CLATTN_SUCCESS;
}
