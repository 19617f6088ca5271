/* A launch plan: what an operation builds and launches, computed from a device profile and
 * the problem alone (no OpenCL calls), so it can be made for a device that is not present.
 * The operations in host/opencl/ops/ enqueue exactly what their plan says. */
#ifndef CLATTN_PLAN_LAUNCH_PLAN_H
#define CLATTN_PLAN_LAUNCH_PLAN_H

#include "profile.h"

#include <stdbool.h>
#include <stddef.h>

#define CLATTN_PLAN_MAX_LAUNCHES 4
#define CLATTN_PLAN_OPTIONS_SIZE 384

/* One kernel launch. */
typedef struct clattn_launch {
    const char *source; /* kernels/ file, e.g. "attention.cl" */
    const char *kernel; /* kernel function name */
    /* The program's -D defines: every define the source #errors without (the base options
     * come from clattn__program_options). Launches of one source share them. */
    char options[CLATTN_PLAN_OPTIONS_SIZE];
    unsigned dims;
    size_t global[3];
    size_t local[3];
    bool any_local;     /* enqueue with a NULL local size (the implementation picks) */
    bool reqd_size;     /* the kernel declares reqd_work_group_size(local) */
    size_t local_bytes; /* local memory of one work-group: __local arguments and arrays */
} clattn_launch;

/* An operation's launches, in enqueue order, and the scratch bytes it acquires. */
typedef struct clattn_plan {
    size_t count;
    clattn_launch launch[CLATTN_PLAN_MAX_LAUNCHES];
    size_t scratch_bytes;
} clattn_plan;

/* The complete build options of a program: the library's base options, the variant's
 * define, the plan's defines and the user's extra options (may be NULL). Returns a malloc'd
 * string or NULL when out of memory. */
char *clattn__program_options(const clattn_device_profile *p, const char *defines,
                              const char *extra);

/* ---- helpers for the planners (launch_plan.c) --------------------------------------- */
/* Appends a launch of kernel from source and returns it (count < CLATTN_PLAN_MAX_LAUNCHES). */
clattn_launch *clattn__plan_add(clattn_plan *plan, const char *source, const char *kernel,
                                const char *options, unsigned dims);
/* Largest power of two <= limit and <= want (at least 1). */
size_t clattn__pow2_at_most(size_t want, size_t limit);

#endif
