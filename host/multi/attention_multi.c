/* clattn_attention_multi: one attention problem split across several handles' devices. Every
 * device gets its pieces (split.c) with only the inputs those pieces read: the sub-problem's
 * layouts point into the caller's arrays, so CPU devices read them in place and others copy
 * just the span the piece covers. All pieces are enqueued (and flushed) before any is waited
 * for, so the devices run concurrently. The partial outputs come back to the host, where a
 * rows split copies them into place and a keys split merges them by their LSE. */
#include "multi.h"
#include "status.h"
#include "size.h"
#include "attention_desc.h"
#include "lse_merge.h"
#include "handle.h"
#include "upload.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One piece on one device, with its partial result on the host. */
typedef struct multi_job {
    clattn_handle *handle;
    clattn_attention_piece piece;
    float *part_o;   /* packed [B, Hq, rows, Dv] */
    float *part_lse; /* packed [B, Hq, rows] */
    clattn_buffers buffers;
    cl_event events[3]; /* attention done, O read, LSE read */
    void *packed[4];    /* inputs gathered on the host (q, k, v, mask), or NULL */
} multi_job;

typedef struct multi_inputs {
    const float *q, *k, *v;
    const void *mask;
} multi_inputs;

/* Replaces *data and *l (offset 0) by a packed host copy of the tensor [batch, heads, rows,
 * cols] when its span (extent elements) is more than twice what it holds: a runtime that does
 * not map host memory copies or registers the whole span (Intel's CPU runtime took 466 ms for
 * an 885-key part of an 8-head, 32768-key K, 19 ms packed). Zero strides (a broadcast mask)
 * stay zero. *packed receives the copy (the caller frees it), or stays NULL. */
static clattn_status gather(const void **data, clattn_layout *l, size_t extent, size_t batch,
                            size_t heads, size_t rows, size_t cols, size_t elem, void **packed) {
    const size_t nb = l->stride[0] ? batch : 1, nh = l->stride[1] ? heads : 1;
    const size_t held = nb * nh * rows * cols;
    if (extent <= 2 * held) return CLATTN_SUCCESS;
    char *dst = malloc(held * elem);
    if (!dst)
        return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "attention_multi: out of memory");
    const char *src = *data;
    for (size_t bi = 0; bi < nb; bi++)
        for (size_t hi = 0; hi < nh; hi++)
            for (size_t r = 0; r < rows; r++)
                memcpy(dst + (((bi * nh + hi) * rows + r) * cols) * elem,
                       src + (bi * l->stride[0] + hi * l->stride[1] + r * l->stride[2]) * elem,
                       cols * elem);
    *l = (clattn_layout){
        0, {l->stride[0] ? nh * rows * cols : 0, l->stride[1] ? rows * cols : 0, cols}};
    *data = dst;
    *packed = dst;
    return CLATTN_SUCCESS;
}

/* Enqueues one piece: uploads (or maps, on CPU devices) the span of each input the piece
 * reads, the attention, and non-blocking reads of its O and LSE; flushes so it starts now. */
static clattn_status enqueue_job(multi_job *job, const clattn_attention_desc *desc,
                                 const multi_inputs *in) {
    const clattn_attention_piece *p = &job->piece;
    clattn_handle *h = job->handle;
    const size_t hq = desc->q_heads, rows = p->rows, dv = desc->dv;
    clattn_attention_desc sub = *desc;
    sub.m = rows;
    sub.n = p->keys;
    sub.causal = p->causal;
    const void *q = in->q + desc->q.offset + p->row0 * desc->q.stride[2];
    const void *k = in->k + desc->k.offset + p->key0 * desc->k.stride[2];
    const void *v = in->v + desc->v.offset + p->key0 * desc->v.stride[2];
    const size_t mask_elem = clattn__mask_element_size(desc);
    const bool masked = desc->mask_kind != CLATTN_MASK_NONE;
    const void *mask =
        masked ? (const char *)in->mask +
                     (desc->mask.offset + p->row0 * desc->mask.stride[2] + p->key0) * mask_elem
               : NULL;
    sub.q.offset = sub.k.offset = sub.v.offset = sub.mask.offset = 0;
    sub.o = (clattn_layout){0, {hq * rows * dv, rows * dv, dv}};
    sub.lse = (clattn_layout){0, {hq * rows, rows, 1}};
    clattn_attention_extents e;
    clattn_status status = clattn__attention_check(&sub, CLATTN_DESC_LSE, &e);
    if (status) return status;
    const size_t b = desc->batch, hkv = desc->kv_heads, keys = p->keys;
    if ((status = gather(&q, &sub.q, e.q, b, hq, rows, desc->d, sizeof(float), &job->packed[0])) ||
        (status = gather(&k, &sub.k, e.k, b, hkv, keys, desc->d, sizeof(float), &job->packed[1])) ||
        (status = gather(&v, &sub.v, e.v, b, hkv, keys, dv, sizeof(float), &job->packed[2])) ||
        (masked && (status = gather(&mask, &sub.mask, e.mask, b, hq, rows, keys, mask_elem,
                                    &job->packed[3]))))
        return status;
    if ((status = clattn__attention_check(&sub, CLATTN_DESC_LSE, &e))) return status;
    cl_mem qb = NULL, kb = NULL, vb = NULL, mb = NULL, ob = NULL, lb = NULL;
    clattn_buffers *bufs = &job->buffers;
    if ((status = clattn__upload(h, bufs, q, e.q, sizeof(float), true, &qb)) ||
        (status = clattn__upload(h, bufs, k, e.k, sizeof(float), true, &kb)) ||
        (status = clattn__upload(h, bufs, v, e.v, sizeof(float), true, &vb)) ||
        (masked && (status = clattn__upload(h, bufs, mask, e.mask, mask_elem, true, &mb))) ||
        (status = clattn__upload(h, bufs, NULL, e.o, sizeof(float), false, &ob)) ||
        (status = clattn__upload(h, bufs, NULL, e.lse, sizeof(float), false, &lb)) ||
        (status = clattn_enqueue_attention(h, NULL, &sub, qb, kb, vb, mb, ob, lb, 0, NULL,
                                           &job->events[0])))
        return status;
    cl_int err = clEnqueueReadBuffer(h->queue, ob, CL_FALSE, 0, e.o * sizeof(float), job->part_o, 1,
                                     &job->events[0], &job->events[1]);
    if (!err)
        err = clEnqueueReadBuffer(h->queue, lb, CL_FALSE, 0, e.lse * sizeof(float), job->part_lse,
                                  1, &job->events[0], &job->events[2]);
    if (!err) err = clFlush(h->queue);
    return clattn__cl(err, "attention_multi: reading a partial result");
}

/* The jobs of every device's range of the axis (at most two pieces per device). */
static size_t make_jobs(clattn_handle *const *handles, size_t count,
                        const clattn_attention_desc *desc, clattn_split_axis axis,
                        const size_t *bounds, multi_job *jobs) {
    size_t n = 0;
    for (size_t d = 0; d < count; d++) {
        if (bounds[d] == bounds[d + 1]) continue;
        clattn_attention_piece pieces[2];
        const size_t made =
            axis == CLATTN_SPLIT_ROWS
                ? clattn__split_pieces(desc, bounds[d], bounds[d + 1], 0, desc->n, pieces)
                : clattn__split_pieces(desc, 0, desc->m, bounds[d], bounds[d + 1], pieces);
        for (size_t i = 0; i < made; i++)
            jobs[n++] = (multi_job){.handle = handles[d], .piece = pieces[i]};
    }
    return n;
}

/* Puts a job's partial result into the packed accumulator: copied for a rows split (every row
 * has one piece), merged by LSE for a keys split. */
static void combine(const clattn_attention_desc *desc, clattn_split_axis axis, const multi_job *job,
                    float *acc_o, float *acc_lse) {
    const size_t rows = job->piece.rows, dv = desc->dv;
    for (size_t bh = 0; bh < desc->batch * desc->q_heads; bh++) {
        const float *po = job->part_o + bh * rows * dv, *pl = job->part_lse + bh * rows;
        float *ao = acc_o + (bh * desc->m + job->piece.row0) * dv;
        float *al = acc_lse + bh * desc->m + job->piece.row0;
        if (axis == CLATTN_SPLIT_ROWS) {
            memcpy(ao, po, rows * dv * sizeof *ao);
            memcpy(al, pl, rows * sizeof *al);
        } else {
            clattn__lse_merge_into(rows, dv, ao, al, po, pl);
        }
    }
}

/* Writes the packed accumulator into the caller's O and LSE layouts (only their elements). */
static void write_out(const clattn_attention_desc *desc, const float *acc_o, const float *acc_lse,
                      float *o, float *lse) {
    const size_t dv = desc->dv;
    for (size_t b = 0; b < desc->batch; b++)
        for (size_t h = 0; h < desc->q_heads; h++)
            for (size_t i = 0; i < desc->m; i++) {
                const size_t row = (b * desc->q_heads + h) * desc->m + i;
                memcpy(o + desc->o.offset + b * desc->o.stride[0] + h * desc->o.stride[1] +
                           i * desc->o.stride[2],
                       acc_o + row * dv, dv * sizeof *o);
                if (lse)
                    lse[desc->lse.offset + b * desc->lse.stride[0] + h * desc->lse.stride[1] +
                        i * desc->lse.stride[2]] = acc_lse[row];
            }
}

static clattn_status check_call(clattn_handle *const *handles, size_t count,
                                const clattn_attention_desc *desc, const multi_inputs *in, float *o,
                                float *lse) {
    if (!handles)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "attention_multi: handles is NULL");
    if (!count) return clattn__fail(CLATTN_ERROR_INVALID_SIZE, "attention_multi: no handles");
    clattn_attention_extents e;
    clattn_status status = clattn__attention_check(desc, lse ? CLATTN_DESC_LSE : 0u, &e);
    if (status) return status;
    if (!clattn__attention_all_f32(desc)) /* the pieces are copied as floats */
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "attention_multi: float32 tensors only (the dtypes must be F32)");
    if (!in->q || !in->k || !in->v || !o)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER,
                            "attention_multi: q, k, v and o are required");
    if (desc->mask_kind != CLATTN_MASK_NONE && !in->mask)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER,
                            "attention_multi: mask_kind is set but mask is NULL");
    /* The pieces are sub-problems with their own row and key origins, whose causal
     * alignment need not be the whole problem's: position-dependent variants would shift. */
    if (desc->alibi || desc->window)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "attention_multi: ALiBi and the sliding window are not supported "
                            "across devices (softcap is)");
    if (desc->varlen) /* its offsets are tensors the multi-device forms do not take */
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "attention_multi: varlen is not supported across devices");
    if (desc->page_size) /* no block table or lengths to take: refuse, never misread K/V */
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "attention_multi: a paged KV cache is not supported across devices");
    /* Dropout's mask depends on (b, h, i, j) of the whole problem; sinks need their tensor. */
    if (desc->sinks || desc->sink_keys || desc->dropout != 0.0f)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "attention_multi: attention sinks and dropout are not supported "
                            "across devices");
    if (lse && (uintptr_t)(o + desc->o.offset) < (uintptr_t)(lse + e.lse) &&
        (uintptr_t)(lse + desc->lse.offset) < (uintptr_t)(o + e.o))
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "attention_multi: o and lse overlap");
    return CLATTN_SUCCESS;
}

clattn_status clattn_attention_multi(clattn_handle *const *handles, size_t count,
                                     const float *shares, const clattn_attention_desc *desc,
                                     const float *q, const float *k, const float *v,
                                     const void *mask, float *o, float *lse) {
    const multi_inputs in = {q, k, v, mask};
    clattn_status status = check_call(handles, count, desc, &in, o, lse);
    if (status) return status;
    size_t rows_total, acc_elems, jobs_max;
    if (!clattn__mul_size(desc->batch * desc->q_heads, desc->m, &rows_total) ||
        !clattn__mul_size(rows_total, desc->dv, &acc_elems) ||
        !clattn__mul_size(count, 2, &jobs_max))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "attention_multi: sizes overflow");
    double *weights = malloc(count * sizeof *weights);
    size_t *bounds = malloc((count + 1) * sizeof *bounds);
    multi_job *jobs = calloc(jobs_max, sizeof *jobs);
    float *acc_o = calloc(acc_elems, sizeof *acc_o);
    float *acc_lse = malloc(rows_total * sizeof *acc_lse);
    size_t njobs = 0, enqueued = 0;
    clattn_split_axis axis = CLATTN_SPLIT_ROWS;
    if (!weights || !bounds || !jobs || !acc_o || !acc_lse)
        status = clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "attention_multi: out of memory");
    if (!status) status = clattn__multi_plan(handles, count, shares, desc, &axis, weights, bounds);
    if (!status) {
        njobs = make_jobs(handles, count, desc, axis, bounds, jobs);
        for (size_t r = 0; r < rows_total; r++)
            acc_lse[r] = -INFINITY; /* rows no piece reaches: O = 0, LSE -inf */
        for (size_t j = 0; j < njobs && !status; j++) {
            const size_t rows = jobs[j].piece.rows * desc->batch * desc->q_heads;
            jobs[j].part_o = malloc(rows * desc->dv * sizeof(float));
            jobs[j].part_lse = malloc(rows * sizeof(float));
            if (!jobs[j].part_o || !jobs[j].part_lse)
                status =
                    clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "attention_multi: out of memory");
        }
    }
    /* Enqueue everything first: the devices work concurrently; then wait for each. */
    for (; enqueued < njobs && !status; enqueued++)
        status = enqueue_job(&jobs[enqueued], desc, &in);
    for (size_t j = 0; j < enqueued && !status; j++)
        status = clattn__cl(clWaitForEvents(2, &jobs[j].events[1]), "attention_multi: waiting");
    if (!status) {
        for (size_t j = 0; j < njobs; j++)
            combine(desc, axis, &jobs[j], acc_o, acc_lse);
        write_out(desc, acc_o, acc_lse, o, lse);
    }
    for (size_t j = 0; j < njobs; j++) {
        /* After a failure every queue is finished before its buffers go (they may be the
         * caller's own memory on CPU devices). */
        if (jobs[j].handle)
            status = clattn__end_blocking_call(jobs[j].handle, status, jobs[j].events, 3,
                                               &jobs[j].buffers);
        free(jobs[j].part_o);
        free(jobs[j].part_lse);
        for (int i = 0; i < 4; i++)
            free(jobs[j].packed[i]);
    }
    free(weights);
    free(bounds);
    free(jobs);
    free(acc_o);
    free(acc_lse);
    if (!status) clattn__clear_error();
    return status;
}
