/* clattn_enqueue_attention: the fused attention operation (kernels/attention.cl).
 * validate -> plan (host/plan/plan_attention.c: variant, tiles, KV splits, scratch) ->
 * [pack K/V] -> attention -> [merge]. */
#include "status.h"
#include "size.h"
#include "attention_desc.h"
#include "handle.h"
#include "program.h"
#include "launch.h"
#include "scratch.h"
#include "alias.h"
#include "ops.h"
#include "planned.h"
#include "planners.h"
#include "contract.h"
#include "philox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG2E 1.4426950408889634

/* Plans for the handle's device and builds the plan's kernels; plans again with the lower
 * limit when a compiled kernel allows fewer work-items than planned. */
static clattn_status plan_and_build(clattn_handle *h, const clattn_attention_desc *desc,
                                    clattn_attention_plan *plan, cl_kernel *kernels) {
    clattn_device_profile profile = h->profile;
    clattn_status status = CLATTN_SUCCESS;
    for (bool replan = true; replan && !status;)
        if (!(status = clattn__plan_attention(&profile, desc, plan)))
            status = clattn__plan_kernels(h, &plan->base, &profile, kernels, &replan);
    return status;
}

/* O and the LSE may not overlap each other or any input (a kernel would read what another
 * work-group already wrote). */
static clattn_status check_aliasing(const clattn_attention_desc *a,
                                    const clattn_attention_extents *e, cl_mem q, cl_mem k, cl_mem v,
                                    cl_mem mask, cl_mem o, cl_mem lse, cl_mem table,
                                    cl_mem seqlens) {
    const size_t mask_elem = clattn__mask_element_size(a);
    clattn_span in[6], out[2];
    clattn_status status;
    if ((status = clattn__span(q, a->q.offset, e->q, clattn_dtype_size(a->q_dtype), "q", &in[0])) ||
        (status = clattn__span(k, a->k.offset, e->k, clattn_dtype_size(a->k_dtype), "k", &in[1])) ||
        (status = clattn__span(v, a->v.offset, e->v, clattn_dtype_size(a->v_dtype), "v", &in[2])) ||
        (status = clattn__span(mask, a->mask.offset, e->mask, mask_elem, "mask", &in[3])) ||
        (status =
             clattn__span(o, a->o.offset, e->o, clattn_dtype_size(a->o_dtype), "o", &out[0])) ||
        (status = clattn__span(lse, a->lse.offset, e->lse, sizeof(float), "lse", &out[1])) ||
        (status = clattn__span(table, 0, a->batch * a->max_pages, sizeof(cl_int), "block_table",
                               &in[4])) ||
        (status = clattn__span(seqlens, 0, a->batch, sizeof(cl_int), "seqlens_k", &in[5])))
        return status;
    return clattn__check_no_alias(out, 2, in, 6, "attention");
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

static void layout_vectors(const clattn_attention_desc *a, cl_ulong lay[LAY_COUNT],
                           cl_ulong lay2[LAY2_COUNT]) {
    const clattn_layout *l[6] = {&a->q, &a->k, &a->v, &a->o, &a->mask, &a->lse};
    cl_ulong *slots[6] = {lay + LAY_Q, lay + LAY_K,      lay + LAY_V,
                          lay + LAY_O, lay2 + LAY2_MASK, lay2 + LAY2_LSE};
    for (int t = 0; t < 6; t++) {
        slots[t][LAYOUT_OFFSET] = l[t]->offset;
        slots[t][LAYOUT_BATCH] = l[t]->stride[0];
        slots[t][LAYOUT_HEAD] = l[t]->stride[1];
        slots[t][LAYOUT_ROW] = l[t]->stride[2];
    }
    if (a->mask_kind == CLATTN_MASK_NONE)
        for (int i = 0; i < LAYOUT_SLOTS; i++)
            lay2[LAY2_MASK + i] = 0;
}

/* The kernels' varlen arguments (VARLEN_OFF: the rest unused). */
typedef struct varlen_args {
    cl_int mode;
    cl_mem cu_q, cu_k;
    cl_ulong cap_q, cap_k; /* rows the buffers hold: the kernels clamp the offsets to them */
} varlen_args;

/* The packed rows t a buffer of elem-byte elements holds for every head: offset + (heads - 1)
 * * stride[1] + t * stride[2] + cols <= its elements (at least one row: the extents were
 * checked). */
static clattn_status rows_held(cl_mem buf, const clattn_layout *l, size_t heads, size_t cols,
                               size_t elem, cl_ulong *rows) {
    size_t bytes = 0;
    cl_int err = clGetMemObjectInfo(buf, CL_MEM_SIZE, sizeof bytes, &bytes, NULL);
    if (err) return clattn__cl(err, "clGetMemObjectInfo");
    const size_t first = l->offset + (heads - 1) * l->stride[1] + cols;
    const size_t held = (bytes / elem - first) / l->stride[2] + 1;
    if (held < *rows) *rows = held;
    return CLATTN_SUCCESS;
}

static clattn_status varlen_setup(clattn_handle *h, const clattn_attention_desc *a,
                                  const clattn_attention_buffers *t, varlen_args *out) {
    *out = (varlen_args){VARLEN_OFF, NULL, NULL, CL_ULONG_MAX, CL_ULONG_MAX};
    if (!a->varlen) return CLATTN_SUCCESS;
    clattn_status status;
    if ((status = clattn__check_elements(h, t->cu_seqlens_q, 0, a->batch + 1, sizeof(cl_int),
                                         "cu_seqlens_q")) ||
        (status = clattn__check_elements(h, t->cu_seqlens_k, 0, a->batch + 1, sizeof(cl_int),
                                         "cu_seqlens_k")) ||
        (status = rows_held(t->q, &a->q, a->q_heads, a->d, clattn_dtype_size(a->q_dtype),
                            &out->cap_q)) ||
        (status = rows_held(t->o, &a->o, a->q_heads, a->dv, clattn_dtype_size(a->o_dtype),
                            &out->cap_q)) ||
        (t->lse &&
         (status = rows_held(t->lse, &a->lse, a->q_heads, 1, sizeof(float), &out->cap_q))) ||
        (status = rows_held(t->k, &a->k, a->kv_heads, a->d, clattn_dtype_size(a->k_dtype),
                            &out->cap_k)) ||
        (status = rows_held(t->v, &a->v, a->kv_heads, a->dv, clattn_dtype_size(a->v_dtype),
                            &out->cap_k)))
        return status;
    out->mode = a->causal == CLATTN_CAUSAL_BOTTOM_RIGHT ? VARLEN_BOTTOM_RIGHT : VARLEN_ON;
    out->cu_q = t->cu_seqlens_q;
    out->cu_k = t->cu_seqlens_k;
    return CLATTN_SUCCESS;
}

static clattn_status launch(const clattn_attention_desc *a, const clattn_attention_plan *p,
                            const cl_kernel *kernels, clattn_chain *chain,
                            const clattn_attention_buffers *t, cl_mem mask, cl_mem kp, cl_mem vp,
                            cl_mem part, cl_mem stats, const varlen_args *vl) {
    cl_mem q = t->q, k = t->k, v = t->v, o = t->o, lse = t->lse, sinks = t->sinks;
    cl_mem table = t->block_table, seqlens = t->seqlens_k;
    cl_ulong lay[LAY_COUNT], lay2[LAY2_COUNT];
    layout_vectors(a, lay, lay2);
    cl_uint paging[4] = {[PAGING_PAGE_SIZE] = (cl_uint)a->page_size,
                         [PAGING_MAX_PAGES] = (cl_uint)a->max_pages,
                         [PAGING_NUM_PAGES] = (cl_uint)a->num_pages,
                         [PAGING_BOTTOM_RIGHT] = a->causal == CLATTN_CAUSAL_BOTTOM_RIGHT};
    clattn_status status;
    if (p->pack >= 0) {
        cl_ulong n = a->n, npad = p->npad;
        cl_uint d = (cl_uint)a->d, dv = (cl_uint)a->dv, kvh = (cl_uint)a->kv_heads;
        clattn_arg args[] = {
            [ATTENTION_PACK_KV_ARG_N] = {sizeof n, &n},
            [ATTENTION_PACK_KV_ARG_NPAD] = {sizeof npad, &npad},
            [ATTENTION_PACK_KV_ARG_D] = {sizeof d, &d},
            [ATTENTION_PACK_KV_ARG_DV] = {sizeof dv, &dv},
            [ATTENTION_PACK_KV_ARG_KV_HEADS] = {sizeof kvh, &kvh},
            [ATTENTION_PACK_KV_ARG_LAY] = {sizeof lay, lay},
            [ATTENTION_PACK_KV_ARG_K] = {sizeof k, &k},
            [ATTENTION_PACK_KV_ARG_V] = {sizeof v, &v},
            [ATTENTION_PACK_KV_ARG_KP] = {sizeof kp, &kp},
            [ATTENTION_PACK_KV_ARG_VP] = {sizeof vp, &vp},
            [ATTENTION_PACK_KV_ARG_VARLEN] = {sizeof vl->mode, &vl->mode},
            [ATTENTION_PACK_KV_ARG_CU_K] = {sizeof vl->cu_k, &vl->cu_k},
            [ATTENTION_PACK_KV_ARG_CAP_K] = {sizeof vl->cap_k, &vl->cap_k},
            [ATTENTION_PACK_KV_ARG_BLOCK_TABLE] = {sizeof table, &table},
            [ATTENTION_PACK_KV_ARG_SEQLENS_K] = {sizeof seqlens, &seqlens},
            [ATTENTION_PACK_KV_ARG_PAGING] = {sizeof paging, paging},
        };
        CLATTN_ARGS_MATCH(args, ATTENTION_PACK_KV_ARG_COUNT);
        if ((status = clattn__set_args(kernels[p->pack], args, ATTENTION_PACK_KV_ARG_COUNT)) ||
            (status = clattn__launch_planned(chain, kernels[p->pack], &p->base.launch[p->pack])))
            return status;
    }
    cl_ulong m = a->m, n = a->n, chunk = p->chunk, npad = p->npad;
    cl_uint d = (cl_uint)a->d, dv = (cl_uint)a->dv, hq = (cl_uint)a->q_heads;
    cl_uint group = (cl_uint)(a->q_heads / a->kv_heads);
    cl_float scale2 = (cl_float)(a->scale * LOG2E);
    cl_int causal = a->causal != CLATTN_CAUSAL_NONE, mask_kind = a->mask_kind;
    cl_long diag = a->causal == CLATTN_CAUSAL_BOTTOM_RIGHT ? (cl_long)a->n - (cl_long)a->m : 0;
    cl_mem final_o = p->splits > 1 ? NULL : o, final_lse = p->splits > 1 ? NULL : lse;
    cl_mem kin = p->pack >= 0 ? kp : k, vin = p->pack >= 0 ? vp : v;
    cl_mem attn_sinks = p->splits > 1 ? NULL : sinks; /* split: the merge adds them */
    cl_long sink_keys = a->sink_keys > (size_t)CL_LONG_MAX ? CL_LONG_MAX : (cl_long)a->sink_keys;
    cl_ulong drop_seed = a->dropout_seed, drop_offset = a->dropout_offset;
    cl_uint drop_threshold = philox_dropout_threshold(a->dropout);
    cl_float drop_scale = (cl_float)(1.0 / (1.0 - (double)a->dropout));
    clattn_arg args[] = {
        [ATTENTION_ARG_M] = {sizeof m, &m},
        [ATTENTION_ARG_N] = {sizeof n, &n},
        [ATTENTION_ARG_D] = {sizeof d, &d},
        [ATTENTION_ARG_DV] = {sizeof dv, &dv},
        [ATTENTION_ARG_Q_HEADS] = {sizeof hq, &hq},
        [ATTENTION_ARG_GROUP] = {sizeof group, &group},
        [ATTENTION_ARG_SCALE2] = {sizeof scale2, &scale2},
        [ATTENTION_ARG_CAUSAL] = {sizeof causal, &causal},
        [ATTENTION_ARG_DIAG] = {sizeof diag, &diag},
        [ATTENTION_ARG_MASK_KIND] = {sizeof mask_kind, &mask_kind},
        [ATTENTION_ARG_CHUNK] = {sizeof chunk, &chunk},
        [ATTENTION_ARG_NPAD] = {sizeof npad, &npad},
        [ATTENTION_ARG_LAY] = {sizeof lay, lay},
        [ATTENTION_ARG_LAY2] = {sizeof lay2, lay2},
        [ATTENTION_ARG_Q] = {sizeof q, &q},
        [ATTENTION_ARG_K] = {sizeof kin, &kin},
        [ATTENTION_ARG_V] = {sizeof vin, &vin},
        [ATTENTION_ARG_MASK] = {sizeof mask, &mask},
        [ATTENTION_ARG_O] = {sizeof final_o, &final_o},
        [ATTENTION_ARG_LSE] = {sizeof final_lse, &final_lse},
        [ATTENTION_ARG_PART] = {sizeof part, &part},
        [ATTENTION_ARG_STATS] = {sizeof stats, &stats},
        [ATTENTION_ARG_VARLEN] = {sizeof vl->mode, &vl->mode},
        [ATTENTION_ARG_CU_Q] = {sizeof vl->cu_q, &vl->cu_q},
        [ATTENTION_ARG_CU_K] = {sizeof vl->cu_k, &vl->cu_k},
        [ATTENTION_ARG_CAP_Q] = {sizeof vl->cap_q, &vl->cap_q},
        [ATTENTION_ARG_CAP_K] = {sizeof vl->cap_k, &vl->cap_k},
        [ATTENTION_ARG_BLOCK_TABLE] = {sizeof table, &table},
        [ATTENTION_ARG_SEQLENS_K] = {sizeof seqlens, &seqlens},
        [ATTENTION_ARG_PAGING] = {sizeof paging, paging},
        [ATTENTION_ARG_SINKS] = {sizeof attn_sinks, &attn_sinks},
        [ATTENTION_ARG_SINK_KEYS] = {sizeof sink_keys, &sink_keys},
        [ATTENTION_ARG_DROP_SEED] = {sizeof drop_seed, &drop_seed},
        [ATTENTION_ARG_DROP_OFFSET] = {sizeof drop_offset, &drop_offset},
        [ATTENTION_ARG_DROP_THRESHOLD] = {sizeof drop_threshold, &drop_threshold},
        [ATTENTION_ARG_DROP_SCALE] = {sizeof drop_scale, &drop_scale},
    };
    CLATTN_ARGS_MATCH(args, ATTENTION_ARG_COUNT);
    const cl_kernel attn = kernels[p->attention];
    if ((status = clattn__set_args(attn, args, ATTENTION_ARG_COUNT)) ||
        (status = clattn__launch_planned(chain, attn, &p->base.launch[p->attention])))
        return status;
    if (p->merge < 0) return CLATTN_SUCCESS;

    cl_uint splits = (cl_uint)p->splits;
    cl_ulong pstride = p->head_dv;
    cl_int norm = a->norm;
    clattn_arg margs[] = {
        [ATTENTION_MERGE_ARG_M] = {sizeof m, &m},
        [ATTENTION_MERGE_ARG_DV] = {sizeof dv, &dv},
        [ATTENTION_MERGE_ARG_Q_HEADS] = {sizeof hq, &hq},
        [ATTENTION_MERGE_ARG_SPLITS] = {sizeof splits, &splits},
        [ATTENTION_MERGE_ARG_PSTRIDE] = {sizeof pstride, &pstride},
        [ATTENTION_MERGE_ARG_NORM] = {sizeof norm, &norm},
        [ATTENTION_MERGE_ARG_LAY] = {sizeof lay, lay},
        [ATTENTION_MERGE_ARG_LAY2] = {sizeof lay2, lay2},
        [ATTENTION_MERGE_ARG_PART] = {sizeof part, &part},
        [ATTENTION_MERGE_ARG_STATS] = {sizeof stats, &stats},
        [ATTENTION_MERGE_ARG_O] = {sizeof o, &o},
        [ATTENTION_MERGE_ARG_LSE] = {sizeof lse, &lse},
        [ATTENTION_MERGE_ARG_SINKS] = {sizeof sinks, &sinks},
    };
    CLATTN_ARGS_MATCH(margs, ATTENTION_MERGE_ARG_COUNT);
    const cl_kernel merge = kernels[p->merge];
    if ((status = clattn__set_args(merge, margs, ATTENTION_MERGE_ARG_COUNT))) return status;
    return clattn__launch_planned(chain, merge, &p->base.launch[p->merge]);
}

/* The extra tensors given (clattn__attention_extras_check). */
static unsigned extras_given(const clattn_attention_buffers *t) {
    return (t->sinks ? CLATTN_EXTRA_SINKS : 0u) |
           (t->cu_seqlens_q ? CLATTN_EXTRA_CU_SEQLENS_Q : 0u) |
           (t->cu_seqlens_k ? CLATTN_EXTRA_CU_SEQLENS_K : 0u) |
           (t->block_table ? CLATTN_EXTRA_BLOCK_TABLE : 0u) |
           (t->seqlens_k ? CLATTN_EXTRA_SEQLENS_K : 0u);
}

clattn_status clattn_enqueue_attention(clattn_handle *h, cl_command_queue queue,
                                       const clattn_attention_desc *desc, cl_mem q, cl_mem k,
                                       cl_mem v, cl_mem mask, cl_mem o, cl_mem lse,
                                       cl_uint num_wait, const cl_event *wait, cl_event *done) {
    const clattn_attention_buffers t = {.q = q, .k = k, .v = v, .mask = mask, .o = o, .lse = lse};
    return clattn_enqueue_attention_ex(h, queue, desc, &t, num_wait, wait, done);
}

clattn_status clattn_enqueue_attention_ex(clattn_handle *h, cl_command_queue queue,
                                          const clattn_attention_desc *desc,
                                          const clattn_attention_buffers *t, cl_uint num_wait,
                                          const cl_event *wait, cl_event *done) {
    clattn_status status = clattn__enqueue_begin(h, &queue, num_wait, wait);
    if (status) return status;
    if (!t) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "attention: tensors is NULL");
    cl_mem q = t->q, k = t->k, v = t->v, mask = t->mask, o = t->o, lse = t->lse;
    clattn_attention_extents e;
    if ((status = clattn__attention_check(desc, lse ? CLATTN_DESC_LSE : 0u, &e)) ||
        (status = clattn__attention_extras_check(desc, extras_given(t))))
        return status;
    if (desc->mask_kind != CLATTN_MASK_NONE && !mask)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER,
                            "attention: mask_kind is set but mask is NULL");
    const size_t mask_elem = clattn__mask_element_size(desc);
    if ((status = clattn__check_elements(h, q, 0, e.q, clattn_dtype_size(desc->q_dtype), "q")) ||
        (status = clattn__check_elements(h, k, 0, e.k, clattn_dtype_size(desc->k_dtype), "k")) ||
        (status = clattn__check_elements(h, v, 0, e.v, clattn_dtype_size(desc->v_dtype), "v")) ||
        (status = clattn__check_elements(h, o, 0, e.o, clattn_dtype_size(desc->o_dtype), "o")) ||
        (lse && (status = clattn__check_buffer(h, lse, 0, e.lse, "lse"))) ||
        (desc->mask_kind != CLATTN_MASK_NONE &&
         (status = clattn__check_elements(h, mask, 0, e.mask, mask_elem, "mask"))) ||
        (desc->sinks && (status = clattn__check_buffer(h, t->sinks, 0, desc->q_heads, "sinks"))))
        return status;
    if (desc->page_size) {
        size_t table_elems;
        if (!clattn__mul_size(desc->batch, desc->max_pages, &table_elems))
            return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "attention: block_table too large");
        if ((status = clattn__check_elements(h, t->block_table, 0, table_elems, sizeof(cl_int),
                                             "block_table")) ||
            (status = clattn__check_elements(h, t->seqlens_k, 0, desc->batch, sizeof(cl_int),
                                             "seqlens_k")))
            return status;
    }
    if (desc->mask_kind == CLATTN_MASK_NONE) mask = NULL;
    if ((status = check_aliasing(desc, &e, q, k, v, mask, o, lse, t->block_table, t->seqlens_k)))
        return status;
    varlen_args vl;
    if ((status = varlen_setup(h, desc, t, &vl))) return status;

    clattn_attention_plan p;
    cl_kernel kernels[CLATTN_PLAN_MAX_LAUNCHES] = {NULL};
    if ((status = plan_and_build(h, desc, &p, kernels))) return status;

    cl_mem scratch = NULL, kp = NULL, vp = NULL, part = NULL, stats = NULL;
    cl_event scratch_wait = NULL;
    clattn_chain chain;
    clattn__chain_begin(&chain, queue, num_wait, wait);
    bool locked = false;
    const size_t total = p.base.scratch_bytes;
    if (total > 0 && !(status = clattn__scratch_acquire(h, total, &scratch, &scratch_wait))) {
        locked = true;
        chain.extra_wait = scratch_wait;
        if (!(status = region(scratch, p.kp_offset, p.vp_offset - p.kp_offset, &kp)) &&
            !(status = region(scratch, p.vp_offset, p.part_offset - p.vp_offset, &vp)) &&
            !(status = region(scratch, p.part_offset, p.stats_offset - p.part_offset, &part)))
            status = region(scratch, p.stats_offset, total - p.stats_offset, &stats);
    }
    if (!status) status = launch(desc, &p, kernels, &chain, t, mask, kp, vp, part, stats, &vl);
    if (locked) clattn__scratch_release(h, chain.last);
    cl_mem subs[4] = {kp, vp, part, stats};
    for (int i = 0; i < 4; i++)
        if (subs[i]) clReleaseMemObject(subs[i]);
    if (scratch_wait) clReleaseEvent(scratch_wait);
    clattn__release_kernels(&p.base, kernels);
    return clattn__chain_end(&chain, status, done);
}

/* The scratch bytes clattn_enqueue_attention acquires for desc (for clattn_scratch_size). A
 * GPU plan may change with the compiled kernel's limits, so this builds the kernels first. */
clattn_status clattn__attention_scratch_bytes(clattn_handle *h, const clattn_attention_desc *desc,
                                              size_t *bytes) {
    clattn_attention_extents e;
    clattn_status status = clattn__attention_check(desc, 0u, &e);
    if (status) return status;
    clattn_attention_plan p;
    cl_kernel kernels[CLATTN_PLAN_MAX_LAUNCHES] = {NULL};
    if ((status = plan_and_build(h, desc, &p, kernels))) return status;
    clattn__release_kernels(&p.base, kernels);
    *bytes = p.base.scratch_bytes;
    return CLATTN_SUCCESS;
}

/* Builds the programs of the headline shapes (D = Dv = 64 and 128, softmax, a long sequence,
 * split so that the merge program is built too): the programs are specialised per head dim,
 * so other shapes still build theirs at first use. */
clattn_status clattn__attention_prepare(clattn_handle *h) {
    static const size_t head_dims[] = {64, 128};
    for (size_t i = 0; i < sizeof head_dims / sizeof head_dims[0]; i++) {
        clattn_attention_desc desc;
        clattn_attention_desc_init(&desc, 1, 1, 1, 4096, 4096, head_dims[i], head_dims[i]);
        desc.kv_splits = 2;
        size_t bytes = 0;
        clattn_status status = clattn__attention_scratch_bytes(h, &desc, &bytes);
        if (status) return status;
    }
    return CLATTN_SUCCESS;
}
