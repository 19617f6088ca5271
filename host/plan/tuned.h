/* Tuned values: the winners `clattn tune` measured on one device (tools/cmd_tune.c), as the
 * planners receive them. The opencl layer reads the table file (host/opencl/tune_file.c,
 * tune_table.c) and hands the entries down in the device profile (profile.h: tuned); the
 * planners apply an entry only when it fits the device (clattn__attention_tuned_fits), and
 * the environment overrides of tuning.h win over it. Pure data: no OpenCL, no I/O. */
#ifndef CLATTN_PLAN_TUNED_H
#define CLATTN_PLAN_TUNED_H

#include <stdbool.h>
#include <stddef.h>

/* What an entry tunes; the values' meaning by op:
 *   attention_cpu: rows, kv, vc, tiles (CLATTN_ATTENTION_CPU_TILE's four);
 *   attention_gpu: wg, bm, bn, rpt (CLATTN_ATTENTION_GPU_TILE's four). */
typedef enum clattn_tuned_op {
    CLATTN_TUNED_ATTENTION_CPU = 1,
    CLATTN_TUNED_ATTENTION_GPU = 2
} clattn_tuned_op;

#define CLATTN_TUNED_VALUES       4
#define CLATTN_TUNED_MAX_ENTRIES  32
#define CLATTN_TUNED_MAX_HEAD_DIM 1024u

typedef struct clattn_tuned_entry {
    clattn_tuned_op op;
    unsigned head_d; /* the problem's D (not padded) */
    unsigned value[CLATTN_TUNED_VALUES];
} clattn_tuned_entry;

typedef struct clattn_tuned_table {
    unsigned count;
    clattn_tuned_entry entry[CLATTN_TUNED_MAX_ENTRIES];
} clattn_tuned_table;

/* The op's name in the table file ("attention_cpu", "attention_gpu"), or NULL. */
const char *clattn__tuned_op_name(clattn_tuned_op op);
/* The op called name; false when there is none. */
bool clattn__tuned_op_parse(const char *name, size_t length, clattn_tuned_op *op);

/* The entry for op at head dim d, or NULL (table may be NULL). */
const clattn_tuned_entry *clattn__tuned_find(const clattn_tuned_table *table, clattn_tuned_op op,
                                             size_t head_d);

/* Adds e, replacing the entry of the same op and head dim; false when the table is full. */
bool clattn__tuned_put(clattn_tuned_table *table, const clattn_tuned_entry *e);

#endif
