/* Launch-plan helpers and the program build options. */
#include "launch_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *clattn__program_options(const clattn_device_profile *p, const char *defines,
                              const char *extra) {
    /* IEEE semantics are kept (no fast-math): masks use -inf and NaN must propagate. */
    defines = defines ? defines : "";
    /* OpenCL C 1.2 unless the plan asks for another -cl-std (sub-group built-ins). */
    const char *base = strstr(defines, "-cl-std=")
                           ? "-cl-mad-enable -cl-no-signed-zeros"
                           : "-cl-std=CL1.2 -cl-mad-enable -cl-no-signed-zeros";
    const char *variant = p->variant == CLATTN_VARIANT_CPU ? "-DCLATTN_CPU=1" : "-DCLATTN_GPU=1";
    extra = extra ? extra : "";
    size_t size = strlen(base) + strlen(variant) + strlen(defines) + strlen(extra) + 8;
    char *options = malloc(size);
    if (options) snprintf(options, size, "%s %s %s %s", base, variant, defines, extra);
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
