/* The registry of operations (registry.c): the one list of what clattn computes, which
 * drives clattn_handle_prepare, clattn_op_scratch_size and anything else that lists
 * operations. Adding an operation (or a kernels/ source) means adding its entry here. */
#ifndef CLATTN_OPS_REGISTRY_H
#define CLATTN_OPS_REGISTRY_H

#include "handle.h"

/* A program the operation builds and one kernel in it (any: a program is built whole). */
typedef struct clattn_op_program {
    const char *source; /* kernels/ file, e.g. "scores.cl" */
    const char *kernel;
} clattn_op_program;

#define CLATTN_OP_MAX_PROGRAMS 3

typedef struct clattn_op_entry {
    const char *name; /* the operation, as its host/opencl/ops/ file is named */
    clattn_op op;     /* its public clattn_op, 0 when it has none (it takes no scratch) */
    /* Its own programs (others it calls, e.g. MHA's linear layer, are their entries'). */
    clattn_op_program programs[CLATTN_OP_MAX_PROGRAMS];
    /* Builds the programs as the operation does; NULL: each program with no extra defines. */
    clattn_status (*prepare)(clattn_handle *h);
    /* Scratch bytes of a call of that shape; NULL: the operation takes none. */
    clattn_status (*scratch_bytes)(clattn_handle *h, const clattn_op_shape *shape, size_t *bytes);
} clattn_op_entry;

extern const clattn_op_entry clattn__op_registry[];
extern const size_t clattn__op_registry_count;

/* The entry of a public operation, or NULL when op is unknown. */
const clattn_op_entry *clattn__find_op(clattn_op op);

/* Builds the entry's programs (its prepare, else each program as listed). */
clattn_status clattn__prepare_op(clattn_handle *h, const clattn_op_entry *entry);

#endif
