/* TEMPORARY stand-in for the materialised attention weights, which live in host/weights.c on
 * branch mha; CMakeLists.txt compiles this file only while host/weights.c is absent. Delete
 * it when the branches are merged. */
#include "internal.h"

clattn_status clattn_enqueue_attention_weights(clattn_handle *h, cl_command_queue queue,
                                               const clattn_attention_desc *desc, cl_mem q,
                                               cl_mem k, cl_mem mask, cl_mem weights,
                                               cl_uint num_wait, const cl_event *wait,
                                               cl_event *done) {
    (void)h, (void)queue, (void)desc, (void)q, (void)k, (void)mask, (void)weights;
    (void)num_wait, (void)wait, (void)done;
    return clattn__fail(CLATTN_ERROR_UNSUPPORTED, "attention weights are not in this build");
}

clattn_status clattn_attention_weights(clattn_handle *h, const clattn_attention_desc *desc,
                                       const float *q, const float *k, const void *mask,
                                       float *weights) {
    (void)h, (void)desc, (void)q, (void)k, (void)mask, (void)weights;
    return clattn__fail(CLATTN_ERROR_UNSUPPORTED, "attention weights are not in this build");
}
