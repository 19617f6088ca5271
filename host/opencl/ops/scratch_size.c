/* clattn_scratch_size: the scratch memory an operation needs for a shape, from the same
 * functions the operations use to size their scratch. */
#include "status.h"
#include "ops.h"

clattn_status clattn_scratch_size(clattn_handle *h, clattn_op op, size_t n, size_t d,
                                  const clattn_attention_desc *desc, size_t *bytes) {
    if (!h || !bytes) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "handle or bytes is NULL");
    *bytes = 0;
    clattn_status status = CLATTN_SUCCESS;
    switch (op) {
    case CLATTN_OP_SCORES:
        break;
    case CLATTN_OP_NORMALIZE:
        /* The largest need of any normalisation (NONE needs none). */
        *bytes = clattn__normalize_scratch_bytes(h, CLATTN_NORM_SOFTMAX, n);
        break;
    case CLATTN_OP_CONTEXT:
        status = clattn__context_scratch_bytes(h, n, d, bytes);
        break;
    case CLATTN_OP_ATTENTION:
        if (!desc) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "attention: desc is NULL");
        status = clattn__attention_scratch_bytes(h, desc, bytes);
        break;
    default:
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "unknown operation %d", (int)op);
    }
    if (!status) clattn__clear_error();
    return status;
}
