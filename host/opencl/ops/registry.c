/* The registry of operations: one entry per host/opencl/ops/ file, naming its programs and
 * how to size its scratch. */
#include "registry.h"
#include "status.h"
#include "program.h"
#include "ops.h"

static clattn_status no_shape(void) {
    return clattn__fail(CLATTN_ERROR_NULL_POINTER, "shape is NULL");
}

static clattn_status normalize_scratch(clattn_handle *h, const clattn_op_shape *s, size_t *bytes) {
    if (!s) return no_shape();
    /* The largest need of any normalisation (NONE needs none). */
    *bytes = clattn__normalize_scratch_bytes(h, CLATTN_NORM_SOFTMAX, s->n);
    return CLATTN_SUCCESS;
}

static clattn_status context_scratch(clattn_handle *h, const clattn_op_shape *s, size_t *bytes) {
    return s ? clattn__context_scratch_bytes(h, s->n, s->d, bytes) : no_shape();
}

static clattn_status attention_scratch(clattn_handle *h, const clattn_op_shape *s, size_t *bytes) {
    if (!s || !s->attention)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "attention: shape or its desc is NULL");
    return clattn__attention_scratch_bytes(h, s->attention, bytes);
}

static clattn_status linear_scratch(clattn_handle *h, const clattn_op_shape *s, size_t *bytes) {
    return s ? clattn__linear_scratch_bytes(h, s->rows, s->cols, s->k, bytes) : no_shape();
}

static clattn_status mha_scratch(clattn_handle *h, const clattn_op_shape *s, size_t *bytes) {
    if (!s) return no_shape();
    return clattn__mha_scratch_bytes(h, s->mha, bytes); /* checks s->mha */
}

const clattn_op_entry clattn__op_registry[] = {
    {"scores", CLATTN_OP_SCORES, {{"scores.cl", NULL}}, clattn__scores_prepare, NULL},
    {"normalize", CLATTN_OP_NORMALIZE, {{"normalize.cl", "norm_small"}}, NULL, normalize_scratch},
    {"context", CLATTN_OP_CONTEXT, {{"context.cl", "context_finish"}}, NULL, context_scratch},
    /* The blocking query pipeline: one launch for small problems, else the three above. */
    {"query_small", 0, {{"query_small.cl", "query_small"}}, NULL, NULL},
    {"probe", 0, {{"probe.cl", "probe_read"}}, NULL, NULL},
    {"weights", 0, {{"weights.cl", NULL}}, clattn__attention_weights_prepare, NULL},
    {"linear", CLATTN_OP_LINEAR, {{"linear.cl", NULL}}, clattn__linear_prepare, linear_scratch},
    {"mha", CLATTN_OP_MHA, {{NULL, NULL}}, NULL, mha_scratch}, /* linear + attention */
    /* The paged KV cache's append: no defines, no scratch. */
    {"kv_append", 0, {{"kv_append.cl", "kv_append"}}, NULL, NULL},
    {"attention",
     CLATTN_OP_ATTENTION,
     {{"attention.cl", NULL}, {"attention_gpu.cl", NULL}, {"attention_merge.cl", NULL}},
     clattn__attention_prepare,
     attention_scratch},
};
const size_t clattn__op_registry_count = sizeof clattn__op_registry / sizeof clattn__op_registry[0];

const clattn_op_entry *clattn__find_op(clattn_op op) {
    for (size_t i = 0; i < clattn__op_registry_count; i++)
        if (op && clattn__op_registry[i].op == op) return &clattn__op_registry[i];
    return NULL;
}

clattn_status clattn__prepare_op(clattn_handle *h, const clattn_op_entry *entry) {
    if (entry->prepare) return entry->prepare(h);
    for (int i = 0; i < CLATTN_OP_MAX_PROGRAMS && entry->programs[i].source; i++) {
        cl_kernel kernel = NULL;
        clattn_status status = clattn__get_kernel(h, entry->programs[i].source, NULL,
                                                  entry->programs[i].kernel, &kernel);
        if (status) return status;
        clReleaseKernel(kernel);
    }
    return CLATTN_SUCCESS;
}
