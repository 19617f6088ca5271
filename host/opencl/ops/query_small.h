/* The query pipeline for small problems in one kernel launch (query_small.c). */
#ifndef CLATTN_QUERY_SMALL_H
#define CLATTN_QUERY_SMALL_H

#include "clattn.h"

#include <stdbool.h>
#include <stdint.h>

/* Whether clattn__query_small takes this size (one work-group does all of it). */
bool clattn__query_small_fits(const clattn_handle *h, size_t n, size_t d);

/* clattn_query_attention_ex for small n x d (arguments already validated, dtypes resolved,
 * dtypes->v x's when v is NULL): inputs uploaded at buffer creation, one launch, one blocking
 * read of all outputs. */
clattn_status clattn__query_small(clattn_handle *h, size_t n, size_t d, const float *x,
                                  const float *q, const float *v, float scale, clattn_norm norm,
                                  const clattn_seed_dtypes *dtypes, float *scores, float *weights,
                                  float *context);

#endif
