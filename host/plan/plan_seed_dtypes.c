/* The storage defines of the seed programs (scores.cl, context.cl, query_small.cl). */
#include "planners.h"
#include "contract.h"
#include "tuning.h"

#include <stdlib.h>

#include <stdio.h>
#include <string.h>

_Static_assert(DTYPE_F32 == CLATTN_F32 && DTYPE_F16 == CLATTN_F16 && DTYPE_BF16 == CLATTN_BF16,
               "kernels/contract.h's DTYPE_* must equal clattn_dtype");

bool clattn__seed_native_half(const clattn_device_profile *p) {
    if (!p->fp16) return false;
    const char *env = getenv("CLATTN_NATIVE_HALF");
    if (env && (strcmp(env, "1") == 0 || strcmp(env, "0") == 0)) return env[0] == '1';
    return clattn_seed_dtype_tune.native_half;
}

void clattn__plan_seed_dtype_defines(const clattn_device_profile *p,
                                     const clattn_seed_dtypes *dtypes, const char *uses,
                                     char *defines, size_t size) {
    if (!dtypes) return;
    const struct {
        char tensor;
        const char *name;
        clattn_dtype dtype;
    } tensors[] = {{'x', "X", dtypes->x}, {'q', "Q", dtypes->q}, {'v', "V", dtypes->v}};
    bool half = false;
    for (size_t i = 0; i < sizeof tensors / sizeof *tensors; i++) {
        if (tensors[i].dtype == CLATTN_F32 || !strchr(uses, tensors[i].tensor)) continue;
        half |= tensors[i].dtype == CLATTN_F16;
        const size_t used = strlen(defines);
        snprintf(defines + used, size - used, "%s-D%s_DTYPE=%d", used ? " " : "", tensors[i].name,
                 (int)tensors[i].dtype);
    }
    if (half && clattn__seed_native_half(p)) {
        const size_t used = strlen(defines);
        snprintf(defines + used, size - used, "%s-DNATIVE_HALF=1", used ? " " : "");
    }
}
