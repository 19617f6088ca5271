/* --dtype for the subcommands that take it (attend, scores): parsing and the storage copies. */
#include "cli.h"
#include "dtype.h"

#include <stdlib.h>
#include <string.h>

bool cli_parse_dtype(const char *text, clattn_dtype *out) {
    static const struct {
        const char *name;
        clattn_dtype dtype;
    } names[] = {{"f32", CLATTN_F32}, {"f16", CLATTN_F16}, {"bf16", CLATTN_BF16}};
    for (size_t i = 0; text && i < sizeof names / sizeof *names; i++)
        if (strcmp(text, names[i].name) == 0) {
            *out = names[i].dtype;
            return true;
        }
    return false;
}

int cli_dtype_option(int argc, char **argv, int *i, clattn_dtype *dtype, bool *out_f16) {
    const char *v;
    if (cli_option(argc, argv, i, "--dtype", &v)) {
        if (cli_parse_dtype(v, dtype)) return 1;
        cli_error("--dtype takes f32, f16 or bf16, got '%s'", v ? v : "");
        return -1;
    }
    if (!out_f16 || !cli_option(argc, argv, i, "--out-dtype", &v)) return 0;
    if (!v || (strcmp(v, "f32") != 0 && strcmp(v, "f16") != 0)) {
        cli_error("--out-dtype takes f32 or f16, got '%s'", v ? v : "");
        return -1;
    }
    *out_f16 = strcmp(v, "f16") == 0;
    return 1;
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
