/* Multi-device attention's planning (plan.c): the devices' weights and the cut, also used by
 * the CLI to report which device took which share. */
#ifndef CLATTN_MULTI_MULTI_H
#define CLATTN_MULTI_MULTI_H

#include "clattn.h"
#include "split.h"

/* The throughput of the handle's device at attention with these head dims, split along axis
 * (runs per second of a small probe problem: throughput.c), measured once per device, axis
 * and head dims for the process (the first call also builds the kernels the call needs). */
clattn_status clattn__multi_throughput(clattn_handle *handle, clattn_split_axis axis, size_t d,
                                       size_t dv, double *per_second);

/* The weight of each handle: shares as given (each finite and >= 0, not all 0:
 * INVALID_VALUE otherwise), or, with shares NULL, the device's measured attention throughput
 * for desc's head dims along axis (clattn__multi_throughput). */
clattn_status clattn__multi_weights(clattn_handle *const *handles, size_t count,
                                    const float *shares, const clattn_attention_desc *desc,
                                    clattn_split_axis axis, double *weights);

/* Checks the handles (non-NULL array, count > 0, each non-NULL with a queue) and plans the
 * call: the axis, the weights (count entries) and the ranges (bounds: count + 1 entries, range
 * d = [bounds[d], bounds[d + 1]) of the axis). desc must be valid. */
clattn_status clattn__multi_plan(clattn_handle *const *handles, size_t count, const float *shares,
                                 const clattn_attention_desc *desc, clattn_split_axis *axis,
                                 double *weights, size_t *bounds);

#endif
