/* clattn_op_scratch_size and clattn_scratch_size: the scratch memory an operation needs for
 * a shape, from the registry's entry (the same functions the operations size their scratch
 * with). */
#include "status.h"
#include "registry.h"

clattn_status clattn_op_scratch_size(clattn_handle *h, clattn_op op, const clattn_op_shape *shape,
                                     size_t *bytes) {
    if (!h || !bytes) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "handle or bytes is NULL");
    *bytes = 0;
    const clattn_op_entry *entry = clattn__find_op(op);
    if (!entry) return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "unknown operation %d", (int)op);
    clattn_status status = CLATTN_SUCCESS;
    if (entry->scratch_bytes) status = entry->scratch_bytes(h, shape, bytes);
    if (status) {
        *bytes = 0;
        return status;
    }
    clattn__clear_error();
    return CLATTN_SUCCESS;
}

clattn_status clattn_scratch_size(clattn_handle *h, clattn_op op, size_t n, size_t d,
                                  const clattn_attention_desc *desc, size_t *bytes) {
    if (op == CLATTN_OP_LINEAR || op == CLATTN_OP_MHA)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "clattn_scratch_size cannot take the shape of operation %d: use "
                            "clattn_op_scratch_size",
                            (int)op);
    if (op == CLATTN_OP_ATTENTION && !desc)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "attention: desc is NULL");
    const clattn_op_shape shape = {.n = n, .d = d, .attention = desc};
    return clattn_op_scratch_size(h, op, &shape, bytes);
}
