/* The CLI's storage types (see the header). */
#include "cli_dtype.h"
#include "cli.h"
#include "dtype.h"

#include <stdlib.h>
#include <string.h>

int cli_parse_dtype(const char *option, const char *value, clattn_dtype *out) {
    if (value && strcmp(value, "f32") == 0)
        *out = CLATTN_F32;
    else if (value && strcmp(value, "f16") == 0)
        *out = CLATTN_F16;
    else if (value && strcmp(value, "bf16") == 0)
        *out = CLATTN_BF16;
    else
        return cli_error("%s takes f32, f16 or bf16, got '%s'", option, value ? value : "");
    return 0;
}

int cli_to_storage(clattn_dtype dtype, const float *src, size_t count, const void **out,
                   void **owned) {
    *owned = NULL;
    *out = src;
    if (dtype == CLATTN_F32 || !src) return 0;
    if (!(*owned = malloc((count ? count : 1) * clattn_dtype_size(dtype))))
        return cli_error("out of memory");
    clattn__dtype_narrow(dtype, src, *owned, count);
    *out = *owned;
    return 0;
}
