/* The storage defines of the seed programs (scores.cl, context.cl, query_small.cl). */
#include "planners.h"
#include "contract.h"

#include <stdio.h>
#include <string.h>

_Static_assert(DTYPE_F32 == CLATTN_F32 && DTYPE_F16 == CLATTN_F16 && DTYPE_BF16 == CLATTN_BF16,
               "kernels/contract.h's DTYPE_* must equal clattn_dtype");

void clattn__plan_seed_dtype_defines(const clattn_seed_dtypes *dtypes, const char *uses,
                                     char *defines, size_t size) {
    if (!dtypes) return;
    const struct {
        char tensor;
        const char *name;
        clattn_dtype dtype;
    } tensors[] = {{'x', "X", dtypes->x}, {'q', "Q", dtypes->q}, {'v', "V", dtypes->v}};
    for (size_t i = 0; i < sizeof tensors / sizeof *tensors; i++) {
        if (tensors[i].dtype == CLATTN_F32 || !strchr(uses, tensors[i].tensor)) continue;
        const size_t used = strlen(defines);
        snprintf(defines + used, size - used, "%s-D%s_DTYPE=%d", used ? " " : "", tensors[i].name,
                 (int)tensors[i].dtype);
    }
}
