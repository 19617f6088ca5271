/* The query pipeline for small problems in one launch (kernels/query_small.cl): for the textbook's
 * 6 x 3 example the per-launch and per-transfer latency is the whole cost, so this replaces
 * the 4 launches and 3 reads of the general path with 1 launch and 1 read. */
#include "query_small.h"
#include "status.h"
#include "handle.h"
#include "program.h"
#include "launch.h"
#include "planned.h"
#include "planners.h"
#include "contract.h"

#include <stdlib.h>
#include <string.h>

bool clattn__query_small_fits(const clattn_handle *h, size_t n, size_t d) {
    (void)h;
    return clattn__plan_query_small_fits(n, d);
}

clattn_status clattn__query_small(clattn_handle *h, size_t n, size_t d, const float *x,
                                  const float *q, const float *v, float scale, clattn_norm norm,
                                  const clattn_seed_dtypes *dtypes, float *scores, float *weights,
                                  float *context) {
    clattn_plan plan;
    clattn_device_profile profile = h->profile;
    cl_kernel kernel = NULL;
    clattn_status status = CLATTN_SUCCESS;
    for (bool replan = true; replan;)
        if ((status = clattn__plan_query_small(&profile, n, d, dtypes, &plan)) ||
            (status = clattn__plan_kernels(h, &plan, &profile, &kernel, &replan)))
            return status;
    const clattn_launch *launch = &plan.launch[0];
    const size_t out_count = 2 * n + d;
    cl_mem xb = NULL, qb = NULL, vb = NULL, ob = NULL;
    cl_int err = CL_SUCCESS;
    const cl_mem_flags in = CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
    if (!status) {
        const size_t x_elem = clattn_dtype_size(dtypes->x), q_elem = clattn_dtype_size(dtypes->q);
        const size_t v_elem = clattn_dtype_size(dtypes->v);
        xb = clCreateBuffer(h->context, in, n * d * x_elem, (void *)x, &err);
        if (!err) qb = clCreateBuffer(h->context, in, d * q_elem, (void *)q, &err);
        if (!err && v) vb = clCreateBuffer(h->context, in, n * d * v_elem, (void *)v, &err);
        if (!err)
            ob = clCreateBuffer(h->context, CL_MEM_READ_WRITE, out_count * sizeof(float), NULL,
                                &err);
        status = clattn__cl(err, "clCreateBuffer");
    }
    cl_int inorm = (cl_int)norm;
    cl_ulong un = n, ud = d;
    cl_mem values = vb ? vb : xb;
    clattn_arg args[] = {
        [QUERY_SMALL_ARG_NORM] = {sizeof inorm, &inorm},
        [QUERY_SMALL_ARG_N] = {sizeof un, &un},
        [QUERY_SMALL_ARG_D] = {sizeof ud, &ud},
        [QUERY_SMALL_ARG_SCALE] = {sizeof scale, &scale},
        [QUERY_SMALL_ARG_X] = {sizeof xb, &xb},
        [QUERY_SMALL_ARG_Q] = {sizeof qb, &qb},
        [QUERY_SMALL_ARG_V] = {sizeof values, &values},
        [QUERY_SMALL_ARG_OUT] = {sizeof ob, &ob},
        [QUERY_SMALL_ARG_SCRATCH] = {launch->local_bytes, NULL},
    };
    CLATTN_ARGS_MATCH(args, QUERY_SMALL_ARG_COUNT);
    if (!status) status = clattn__set_args(kernel, args, QUERY_SMALL_ARG_COUNT);
    float stack[256];
    float *result = out_count <= 256 ? stack : malloc(out_count * sizeof *result);
    if (!status && !result)
        status = clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    cl_event done = NULL;
    if (!status)
        status = clattn__cl(clEnqueueNDRangeKernel(h->queue, kernel, launch->dims, NULL,
                                                   launch->global, launch->local, 0, NULL, &done),
                            "clEnqueueNDRangeKernel");
    if (!status)
        status = clattn__cl(clEnqueueReadBuffer(h->queue, ob, CL_TRUE, 0, out_count * sizeof(float),
                                                result, 1, &done, NULL),
                            "clEnqueueReadBuffer");
    if (!status) {
        if (scores) memcpy(scores, result, n * sizeof(float));
        if (weights) memcpy(weights, result + n, n * sizeof(float));
        if (context) memcpy(context, result + 2 * n, d * sizeof(float));
    }
    if (done) clReleaseEvent(done);
    if (status) clFinish(h->queue);
    if (result != stack) free(result);
    if (xb) clReleaseMemObject(xb);
    if (qb) clReleaseMemObject(qb);
    if (vb) clReleaseMemObject(vb);
    if (ob) clReleaseMemObject(ob);
    clReleaseKernel(kernel);
    if (!status) clattn__clear_error();
    return status;
}
