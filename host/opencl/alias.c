/* Overlap checks between the tensors of one call. */
#include "alias.h"
#include "status.h"

clattn_status clattn__span(cl_mem buf, size_t first, size_t end, size_t elem, const char *name,
                           clattn_span *out) {
    *out = (clattn_span){name, buf, first * elem, end * elem};
    if (!buf) return CLATTN_SUCCESS;
    cl_mem parent = NULL;
    size_t origin = 0;
    cl_int err = clGetMemObjectInfo(buf, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof parent, &parent, NULL);
    if (!err && parent) err = clGetMemObjectInfo(buf, CL_MEM_OFFSET, sizeof origin, &origin, NULL);
    if (err) return clattn__cl(err, name);
    if (parent) { /* sub-buffers are one level deep in OpenCL 1.2 */
        out->root = parent;
        out->begin += origin;
        out->end += origin;
    }
    return CLATTN_SUCCESS;
}

static bool overlap(const clattn_span *a, const clattn_span *b) {
    return a->root && a->root == b->root && a->begin < b->end && b->begin < a->end;
}

clattn_status clattn__check_no_alias(const clattn_span *outputs, int n_outputs,
                                     const clattn_span *inputs, int n_inputs, const char *op) {
    for (int i = 0; i < n_outputs; i++) {
        for (int j = i + 1; j < n_outputs; j++)
            if (overlap(&outputs[i], &outputs[j]))
                return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "%s: outputs %s and %s overlap", op,
                                    outputs[i].name, outputs[j].name);
        for (int j = 0; j < n_inputs; j++)
            if (overlap(&outputs[i], &inputs[j]))
                return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                                    "%s: output %s overlaps input %s (outputs may not alias "
                                    "inputs)",
                                    op, outputs[i].name, inputs[j].name);
    }
    return CLATTN_SUCCESS;
}
