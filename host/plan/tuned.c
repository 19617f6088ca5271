/* Tuned-value tables (tuned.h). */
#include "tuned.h"

#include <string.h>

static const char *const op_names[] = {
    [CLATTN_TUNED_ATTENTION_CPU] = "attention_cpu",
    [CLATTN_TUNED_ATTENTION_GPU] = "attention_gpu",
};
#define OP_COUNT (sizeof op_names / sizeof op_names[0])

const char *clattn__tuned_op_name(clattn_tuned_op op) {
    return (size_t)op < OP_COUNT ? op_names[op] : NULL;
}

bool clattn__tuned_op_parse(const char *name, size_t length, clattn_tuned_op *op) {
    for (size_t i = 0; i < OP_COUNT; i++)
        if (op_names[i] && strlen(op_names[i]) == length &&
            memcmp(op_names[i], name, length) == 0) {
            *op = (clattn_tuned_op)i;
            return true;
        }
    return false;
}

const clattn_tuned_entry *clattn__tuned_find(const clattn_tuned_table *table, clattn_tuned_op op,
                                             size_t head_d) {
    if (!table) return NULL;
    for (unsigned i = 0; i < table->count && i < CLATTN_TUNED_MAX_ENTRIES; i++)
        if (table->entry[i].op == op && table->entry[i].head_d == head_d) return &table->entry[i];
    return NULL;
}

bool clattn__tuned_put(clattn_tuned_table *table, const clattn_tuned_entry *e) {
    for (unsigned i = 0; i < table->count; i++)
        if (table->entry[i].op == e->op && table->entry[i].head_d == e->head_d) {
            table->entry[i] = *e;
            return true;
        }
    if (table->count >= CLATTN_TUNED_MAX_ENTRIES) return false;
    table->entry[table->count++] = *e;
    return true;
}
