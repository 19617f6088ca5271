/* The arguments of the query attention pipeline (clattn_query_attention and its CPU forms). */
#ifndef CLATTN_CORE_QUERY_ARGS_H
#define CLATTN_CORE_QUERY_ARGS_H

#include "clattn.h"

#include <stdbool.h>

/* x and q present, at least one output wanted, a known norm, n and d non-zero with n * d
 * (into *nd) in range. */
clattn_status clattn__check_query_args(size_t n, size_t d, const float *x, const float *q,
                                       clattn_norm norm, bool any_output, size_t *nd);

/* *out = *dtypes, or every tensor float32 when dtypes is NULL; INVALID_VALUE for an unknown
 * dtype. */
clattn_status clattn__seed_dtypes_resolve(const clattn_seed_dtypes *dtypes,
                                          clattn_seed_dtypes *out);

#endif
