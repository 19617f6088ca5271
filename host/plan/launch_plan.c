/* Launch-plan helpers and the program build options. */
#include "launch_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *clattn__program_options(const clattn_device_profile *p, const char *defines,
                              const char *extra) {
    /* IEEE semantics are kept (no fast-math): masks use -inf and NaN must propagate. */
    const char *base = "-cl-mad-enable -cl-no-signed-zeros";
    const char *variant = p->variant == CLATTN_VARIANT_CPU ? "-DCLATTN_CPU=1" : "-DCLATTN_GPU=1";
    defines = defines ? defines : "";
    extra = extra ? extra : "";
    /* OpenCL C 1.2 (3.0 when CLATTN_CL_STD asked for it: opencl/cl_std.c) unless the plan asks
     * for another (sub-group built-ins): its -cl-std moves to the front, where ours stands
     * otherwise. */
    const char *std = p->build_cl_std == 30 ? "-cl-std=CL3.0" : "-cl-std=CL1.2", *rest = "";
    int std_len = (int)strlen(std), before = (int)strlen(defines);
    const char *planned = strstr(defines, "-cl-std=");
    if (planned) {
        std = planned;
        std_len = (int)strcspn(planned, " ");
        before = (int)(planned - defines);
        rest = planned + std_len;
    }
    size_t size = strlen(base) + strlen(variant) + strlen(defines) + strlen(extra) + 32;
    char *options = malloc(size);
    if (options)
        snprintf(options, size, "%.*s %s %s %.*s%s %s", std_len, std, base, variant, before,
                 defines, rest, extra);
    return options;
}

clattn_launch *clattn__plan_add(clattn_plan *plan, const char *source, const char *kernel,
                                const char *options, unsigned dims) {
    clattn_launch *l = &plan->launch[plan->count++];
    memset(l, 0, sizeof *l);
    l->source = source;
    l->kernel = kernel;
    snprintf(l->options, sizeof l->options, "%s", options ? options : "");
    l->dims = dims;
    for (int i = 0; i < 3; i++)
        l->global[i] = l->local[i] = 1;
    return l;
}

size_t clattn__pow2_at_most(size_t want, size_t limit) {
    if (limit < want) want = limit;
    size_t size = 1;
    while (size * 2 <= want)
        size *= 2;
    return size;
}
