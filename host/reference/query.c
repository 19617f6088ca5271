/* CPU reference: plain C, double accumulation, no OpenCL. The oracle of the tests; simple
 * and exact rather than fast (host/cpu.c is the fast CPU path). */
#include "status.h"
#include "size.h"
#include "query_args.h"
#include "dtype.h"

#include <math.h>
#include <stdlib.h>

clattn_status clattn_ref_scores(size_t n, size_t d, float scale, const float *x, const float *q,
                                float *scores) {
    return clattn_ref_scores_ex(n, d, scale, x, q, scores, NULL);
}

clattn_status clattn_ref_scores_ex(size_t n, size_t d, float scale, const float *x, const float *q,
                                   float *scores, const clattn_seed_dtypes *dtypes) {
    if (!x || !q || !scores) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "NULL pointer");
    size_t nd;
    if (n == 0 || d == 0) return clattn__fail(CLATTN_ERROR_INVALID_SIZE, "n and d must be > 0");
    if (!clattn__mul_size(n, d, &nd))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "n * d overflows size_t");
    clattn_seed_dtypes dt;
    clattn_status status = clattn__seed_dtypes_resolve(dtypes, &dt);
    if (status) return status;
    for (size_t j = 0; j < n; j++) {
        double acc = 0.0;
        for (size_t k = 0; k < d; k++)
            acc += (double)clattn__dtype_load(dt.x, x, j * d + k) *
                   (double)clattn__dtype_load(dt.q, q, k);
        scores[j] = (float)((double)scale * acc);
    }
    clattn__clear_error();
    return CLATTN_SUCCESS;
}

clattn_status clattn_ref_normalize(clattn_norm norm, size_t n, const float *scores,
                                   float *weights) {
    if (!scores || !weights) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "NULL pointer");
    if (n == 0) return clattn__fail(CLATTN_ERROR_INVALID_SIZE, "n must be > 0");
    if (norm == CLATTN_NORM_NONE) {
        for (size_t j = 0; j < n; j++)
            weights[j] = scores[j];
    } else if (norm == CLATTN_NORM_SUM) {
        double sum = 0.0;
        for (size_t j = 0; j < n; j++)
            sum += scores[j];
        for (size_t j = 0; j < n; j++)
            weights[j] = (float)((double)scores[j] / sum);
    } else if (norm == CLATTN_NORM_SOFTMAX) {
        double max = -INFINITY;
        int has_nan = 0;
        for (size_t j = 0; j < n; j++) {
            if (isnan(scores[j]))
                has_nan = 1;
            else if (scores[j] > max)
                max = scores[j];
        }
        double sum = 0.0;
        if (max != -INFINITY)
            for (size_t j = 0; j < n; j++)
                sum += exp((double)scores[j] - max);
        for (size_t j = 0; j < n; j++) {
            if (has_nan)
                weights[j] = NAN;
            else if (max == -INFINITY)
                weights[j] = 0.0f; /* every score -inf: zeros */
            else
                weights[j] = (float)(exp((double)scores[j] - max) / sum);
        }
    } else {
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "unknown normalisation %d", (int)norm);
    }
    clattn__clear_error();
    return CLATTN_SUCCESS;
}

clattn_status clattn_ref_context(size_t n, size_t d, const float *weights, const float *v,
                                 float *context) {
    return clattn_ref_context_ex(n, d, weights, v, context, NULL);
}

clattn_status clattn_ref_context_ex(size_t n, size_t d, const float *weights, const float *v,
                                    float *context, const clattn_seed_dtypes *dtypes) {
    if (!weights || !v || !context) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "NULL pointer");
    size_t nd;
    if (n == 0 || d == 0) return clattn__fail(CLATTN_ERROR_INVALID_SIZE, "n and d must be > 0");
    if (!clattn__mul_size(n, d, &nd))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "n * d overflows size_t");
    clattn_seed_dtypes dt;
    clattn_status status = clattn__seed_dtypes_resolve(dtypes, &dt);
    if (status) return status;
    double *acc = calloc(d, sizeof *acc);
    if (!acc) return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (size_t j = 0; j < n; j++)
        for (size_t c = 0; c < d; c++)
            acc[c] += (double)weights[j] * (double)clattn__dtype_load(dt.v, v, j * d + c);
    for (size_t c = 0; c < d; c++)
        context[c] = (float)acc[c];
    free(acc);
    clattn__clear_error();
    return CLATTN_SUCCESS;
}
