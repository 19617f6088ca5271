/* Host-pointer forms: upload -> enqueue on the handle's queue -> read back. A thin layer on
 * the enqueue API, never a second implementation. */
#include "status.h"
#include "size.h"
#include "query_args.h"
#include "handle.h"
#include "upload.h"
#include "query_small.h"

/* An input copied from data (read-only, zero-copy on CPU devices), or an uninitialised
 * output of count floats when data is NULL. */
static clattn_status upload(clattn_handle *h, clattn_buffers *b, const float *data, size_t count,
                            cl_mem *out) {
    return clattn__upload(h, b, data, count, sizeof(float), data != NULL, out);
}

/* An input of count elements stored as dtype. */
static clattn_status upload_as(clattn_handle *h, clattn_buffers *b, const float *data, size_t count,
                               clattn_dtype dtype, cl_mem *out) {
    return clattn__upload(h, b, data, count, clattn_dtype_size(dtype), true, out);
}

/* Waits for `after` and reads count floats; releases `after`. */
static clattn_status read_back(clattn_handle *h, cl_mem buf, float *out, size_t count,
                               cl_event after) {
    cl_int err = clEnqueueReadBuffer(h->queue, buf, CL_TRUE, 0, count * sizeof(float), out,
                                     after ? 1 : 0, after ? &after : NULL, NULL);
    return clattn__cl(err, "clEnqueueReadBuffer");
}

static clattn_status need_queue(clattn_handle *h) {
    if (!h) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "handle is NULL");
    if (!h->queue)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "blocking calls need a handle with a queue");
    return CLATTN_SUCCESS;
}

clattn_status clattn_scores(clattn_handle *h, size_t n, size_t d, float scale, const float *x,
                            const float *q, float *scores) {
    return clattn_scores_ex(h, n, d, scale, x, q, scores, NULL);
}

clattn_status clattn_scores_ex(clattn_handle *h, size_t n, size_t d, float scale, const float *x,
                               const float *q, float *scores, const clattn_seed_dtypes *dtypes) {
    clattn_status status = need_queue(h);
    if (status) return status;
    if (!x || !q || !scores) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "scores: NULL pointer");
    return clattn_query_attention_ex(h, n, d, x, q, NULL, scale, CLATTN_NORM_NONE, scores, NULL,
                                     NULL, dtypes);
}

clattn_status clattn_normalize(clattn_handle *h, clattn_norm norm, size_t n, const float *scores,
                               float *weights) {
    clattn_status status = need_queue(h);
    if (status) return status;
    if (!scores || !weights)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "normalize: NULL pointer");
    if (n == 0) return clattn__fail(CLATTN_ERROR_INVALID_SIZE, "normalize: n must be > 0");
    clattn_buffers b = {.count = 0};
    cl_mem s = NULL, w = NULL;
    cl_event done = NULL;
    if (!(status = upload(h, &b, scores, n, &s)) && !(status = upload(h, &b, NULL, n, &w)) &&
        !(status = clattn_enqueue_normalize(h, NULL, norm, n, s, 0, w, 0, 0, NULL, &done)))
        status = read_back(h, w, weights, n, done);
    return clattn__end_blocking_call(h, status, &done, 1, &b);
}

clattn_status clattn_context(clattn_handle *h, size_t n, size_t d, const float *weights,
                             const float *v, float *context) {
    return clattn_context_ex(h, n, d, weights, v, context, NULL);
}

clattn_status clattn_context_ex(clattn_handle *h, size_t n, size_t d, const float *weights,
                                const float *v, float *context, const clattn_seed_dtypes *dtypes) {
    clattn_status status = need_queue(h);
    if (status) return status;
    clattn_seed_dtypes dt;
    if ((status = clattn__seed_dtypes_resolve(dtypes, &dt))) return status;
    if (!weights || !v || !context)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "context: NULL pointer");
    size_t nd;
    if (n == 0 || d == 0)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE, "context: n and d must be > 0");
    if (!clattn__mul_size(n, d, &nd))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "context: n * d overflows size_t");
    clattn_buffers b = {.count = 0};
    cl_mem w = NULL, vb = NULL, c = NULL;
    cl_event done = NULL;
    if (!(status = upload(h, &b, weights, n, &w)) &&
        !(status = upload_as(h, &b, v, nd, dt.v, &vb)) && !(status = upload(h, &b, NULL, d, &c)) &&
        !(status =
              clattn_enqueue_context_ex(h, NULL, n, d, w, 0, vb, 0, c, 0, &dt, 0, NULL, &done)))
        status = read_back(h, c, context, d, done);
    return clattn__end_blocking_call(h, status, &done, 1, &b);
}

clattn_status clattn_query_attention(clattn_handle *h, size_t n, size_t d, const float *x,
                                     const float *q, const float *v, float scale, clattn_norm norm,
                                     float *scores, float *weights, float *context) {
    return clattn_query_attention_ex(h, n, d, x, q, v, scale, norm, scores, weights, context, NULL);
}

clattn_status clattn_query_attention_ex(clattn_handle *h, size_t n, size_t d, const float *x,
                                        const float *q, const float *v, float scale,
                                        clattn_norm norm, float *scores, float *weights,
                                        float *context, const clattn_seed_dtypes *dtypes) {
    clattn_status status = need_queue(h);
    if (status) return status;
    size_t nd;
    clattn_seed_dtypes dt;
    if ((status = clattn__check_query_args(n, d, x, q, norm, scores || weights || context, &nd)) ||
        (status = clattn__seed_dtypes_resolve(dtypes, &dt)))
        return status;
    if (!v) dt.v = dt.x;                                           /* v = x */
    if ((weights || context) && clattn__query_small_fits(h, n, d)) /* 1 launch, not 2-4 */
        return clattn__query_small(h, n, d, x, q, v, scale, norm, &dt, scores, weights, context);

    clattn_buffers b = {.count = 0};
    cl_mem xb = NULL, qb = NULL, vb = NULL, sb = NULL, wb = NULL, cb = NULL;
    cl_event e_scores = NULL, e_norm = NULL, e_context = NULL;
    if ((status = upload_as(h, &b, x, nd, dt.x, &xb)) ||
        (status = upload_as(h, &b, q, d, dt.q, &qb)) || (status = upload(h, &b, NULL, n, &sb)) ||
        (status = upload(h, &b, NULL, n, &wb)))
        goto out;
    vb = xb;
    if (v && (status = upload_as(h, &b, v, nd, dt.v, &vb))) goto out;
    if ((status = clattn_enqueue_scores_ex(h, NULL, n, d, scale, xb, 0, qb, 0, sb, 0, &dt, 0, NULL,
                                           &e_scores)))
        goto out;
    if ((weights || context) &&
        (status = clattn_enqueue_normalize(h, NULL, norm, n, sb, 0, wb, 0, 1, &e_scores, &e_norm)))
        goto out;
    if (context) {
        if ((status = upload(h, &b, NULL, d, &cb)) ||
            (status = clattn_enqueue_context_ex(h, NULL, n, d, wb, 0, vb, 0, cb, 0, &dt, 1, &e_norm,
                                                &e_context)))
            goto out;
    }
    if (scores && (status = read_back(h, sb, scores, n, e_scores))) goto out;
    if (weights && (status = read_back(h, wb, weights, n, e_norm))) goto out;
    if (context && (status = read_back(h, cb, context, d, e_context))) goto out;
out:
    cl_event chain[] = {e_scores, e_norm, e_context};
    return clattn__end_blocking_call(h, status, chain, 3, &b);
}
