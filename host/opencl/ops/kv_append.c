/* clattn_enqueue_kv_append: new K/V rows into their pages of a paged KV cache
 * (kernels/kv_append.cl), and its blocking form. validate -> plan -> one launch. */
#include "status.h"
#include "size.h"
#include "paged.h"
#include "handle.h"
#include "program.h"
#include "launch.h"
#include "alias.h"
#include "upload.h"
#include "planned.h"
#include "planners.h"
#include "contract.h"

#include <stdint.h>

/* The pages are written: they must overlap no input (k_new, v_new, the table, the lengths)
 * nor each other. */
static clattn_status check_aliasing(const clattn_kv_append_desc *a,
                                    const clattn_kv_append_extents *e, cl_mem k_new, cl_mem v_new,
                                    cl_mem k_pages, cl_mem v_pages, cl_mem table, cl_mem seqlens) {
    clattn_span in[4], out[2];
    clattn_status status;
    if ((status = clattn__span(k_new, a->k_new.offset, e->k_new, sizeof(float), "k_new", &in[0])) ||
        (status = clattn__span(v_new, a->v_new.offset, e->v_new, sizeof(float), "v_new", &in[1])) ||
        (status = clattn__span(table, 0, e->block_table, sizeof(cl_int), "block_table", &in[2])) ||
        (status = clattn__span(seqlens, 0, e->seqlens_k, sizeof(cl_int), "seqlens_k", &in[3])) ||
        (status = clattn__span(k_pages, a->k_pages.offset, e->k_pages, sizeof(float), "k_pages",
                               &out[0])) ||
        (status = clattn__span(v_pages, a->v_pages.offset, e->v_pages, sizeof(float), "v_pages",
                               &out[1])))
        return status;
    return clattn__check_no_alias(out, 2, in, 4, "kv_append");
}

clattn_status clattn_enqueue_kv_append(clattn_handle *h, cl_command_queue queue,
                                       const clattn_kv_append_desc *desc, cl_mem k_new,
                                       cl_mem v_new, cl_mem k_pages, cl_mem v_pages,
                                       cl_mem block_table, cl_mem seqlens_k, cl_uint num_wait,
                                       const cl_event *wait, cl_event *done) {
    clattn_status status = clattn__enqueue_begin(h, &queue, num_wait, wait);
    if (status) return status;
    clattn_kv_append_extents e;
    if ((status = clattn__kv_append_check(desc, &e))) return status;
    if (!k_new || !v_new || !k_pages || !v_pages || !block_table || !seqlens_k)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "kv_append: every buffer is required");
    if ((status = clattn__check_buffer(h, k_new, 0, e.k_new, "k_new")) ||
        (status = clattn__check_buffer(h, v_new, 0, e.v_new, "v_new")) ||
        (status = clattn__check_buffer(h, k_pages, 0, e.k_pages, "k_pages")) ||
        (status = clattn__check_buffer(h, v_pages, 0, e.v_pages, "v_pages")) ||
        (status = clattn__check_elements(h, block_table, 0, e.block_table, sizeof(cl_int),
                                         "block_table")) ||
        (status =
             clattn__check_elements(h, seqlens_k, 0, e.seqlens_k, sizeof(cl_int), "seqlens_k")) ||
        (status = check_aliasing(desc, &e, k_new, v_new, k_pages, v_pages, block_table, seqlens_k)))
        return status;

    clattn_plan plan;
    clattn_device_profile profile = h->profile;
    cl_kernel kernel = NULL;
    for (bool replan = true; replan;)
        if ((status = clattn__plan_kv_append(&profile, desc, &plan)) ||
            (status = clattn__plan_kernels(h, &plan, &profile, &kernel, &replan)))
            return status;

    const clattn_layout *l[4] = {&desc->k_new, &desc->v_new, &desc->k_pages, &desc->v_pages};
    cl_ulong lay[LAY_COUNT];
    for (int i = 0; i < 4; i++) {
        lay[i * LAYOUT_SLOTS + LAYOUT_OFFSET] = l[i]->offset;
        lay[i * LAYOUT_SLOTS + LAYOUT_BATCH] = l[i]->stride[0];
        lay[i * LAYOUT_SLOTS + LAYOUT_HEAD] = l[i]->stride[1];
        lay[i * LAYOUT_SLOTS + LAYOUT_ROW] = l[i]->stride[2];
    }
    cl_uint tokens = (cl_uint)desc->tokens, kvh = (cl_uint)desc->kv_heads;
    cl_uint d = (cl_uint)desc->d, dv = (cl_uint)desc->dv;
    cl_uint paging[4] = {[PAGING_PAGE_SIZE] = (cl_uint)desc->page_size,
                         [PAGING_MAX_PAGES] = (cl_uint)desc->max_pages,
                         [PAGING_NUM_PAGES] = (cl_uint)desc->num_pages,
                         [PAGING_BOTTOM_RIGHT] = 0};
    clattn_arg args[] = {
        [KV_APPEND_ARG_TOKENS] = {sizeof tokens, &tokens},
        [KV_APPEND_ARG_KV_HEADS] = {sizeof kvh, &kvh},
        [KV_APPEND_ARG_D] = {sizeof d, &d},
        [KV_APPEND_ARG_DV] = {sizeof dv, &dv},
        [KV_APPEND_ARG_PAGING] = {sizeof paging, paging},
        [KV_APPEND_ARG_LAY] = {sizeof lay, lay},
        [KV_APPEND_ARG_K_NEW] = {sizeof k_new, &k_new},
        [KV_APPEND_ARG_V_NEW] = {sizeof v_new, &v_new},
        [KV_APPEND_ARG_K_PAGES] = {sizeof k_pages, &k_pages},
        [KV_APPEND_ARG_V_PAGES] = {sizeof v_pages, &v_pages},
        [KV_APPEND_ARG_BLOCK_TABLE] = {sizeof block_table, &block_table},
        [KV_APPEND_ARG_SEQLENS_K] = {sizeof seqlens_k, &seqlens_k},
    };
    CLATTN_ARGS_MATCH(args, KV_APPEND_ARG_COUNT);
    clattn_chain chain;
    clattn__chain_begin(&chain, queue, num_wait, wait);
    if (!(status = clattn__set_args(kernel, args, KV_APPEND_ARG_COUNT)))
        status = clattn__launch_planned(&chain, kernel, &plan.launch[0]);
    clattn__release_kernels(&plan, &kernel);
    return clattn__chain_end(&chain, status, done);
}

clattn_status clattn_kv_append(clattn_handle *h, const clattn_kv_append_desc *desc,
                               const float *k_new, const float *v_new, float *k_pages,
                               float *v_pages, const int32_t *block_table,
                               const int32_t *seqlens_k) {
    if (!h) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "handle is NULL");
    if (!h->queue)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "blocking calls need a handle with a queue");
    clattn_kv_append_extents e;
    clattn_status status = clattn__kv_append_check(desc, &e);
    if (status) return status;
    if (!k_new || !v_new || !k_pages || !v_pages || !block_table || !seqlens_k)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "kv_append: every tensor is required");
    if ((status = clattn__kv_append_check_arrays(desc, block_table, seqlens_k))) return status;
    /* The pages travel both ways (a copy up, read back whole: rows not appended to come back
     * unchanged). */
    clattn_buffers b = {.count = 0};
    cl_mem kn = NULL, vn = NULL, kp = NULL, vp = NULL, tb = NULL, sb = NULL;
    cl_event done = NULL;
    if (!(status = clattn__upload(h, &b, k_new, e.k_new, sizeof(float), true, &kn)) &&
        !(status = clattn__upload(h, &b, v_new, e.v_new, sizeof(float), true, &vn)) &&
        !(status = clattn__upload(h, &b, block_table, e.block_table, sizeof(int32_t), true, &tb)) &&
        !(status = clattn__upload(h, &b, seqlens_k, e.seqlens_k, sizeof(int32_t), true, &sb)) &&
        !(status = clattn__upload(h, &b, k_pages, e.k_pages, sizeof(float), false, &kp)) &&
        !(status = clattn__upload(h, &b, v_pages, e.v_pages, sizeof(float), false, &vp)) &&
        !(status =
              clattn_enqueue_kv_append(h, NULL, desc, kn, vn, kp, vp, tb, sb, 0, NULL, &done))) {
        cl_int err = clEnqueueReadBuffer(h->queue, kp, CL_TRUE, 0, e.k_pages * sizeof(float),
                                         k_pages, 1, &done, NULL);
        if (!err)
            err = clEnqueueReadBuffer(h->queue, vp, CL_TRUE, 0, e.v_pages * sizeof(float), v_pages,
                                      1, &done, NULL);
        status = clattn__cl(err, "clEnqueueReadBuffer");
    }
    return clattn__end_blocking_call(h, status, &done, 1, &b);
}
