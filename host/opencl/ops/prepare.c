/* clattn_handle_prepare: builds every operation's programs now instead of at first use. */
#include "status.h"
#include "registry.h"

clattn_status clattn_handle_prepare(clattn_handle *h) {
    if (!h) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "handle is NULL");
    for (size_t i = 0; i < clattn__op_registry_count; i++) {
        clattn_status status = clattn__prepare_op(h, &clattn__op_registry[i]);
        if (status) return status;
    }
    clattn__clear_error();
    return CLATTN_SUCCESS;
}
