/* The tuned-values table file (tune_file.h). */
#include "tune_file.h"

#include <stdio.h>
#include <string.h>

#define MAGIC "clattn-tune"

/* A line of the image: [*line, *line + *length), without its '\n'; false at the end or when
 * the last line lacks its '\n' (a truncated file). */
static bool next_line(const char *text, size_t size, size_t *pos, const char **line,
                      size_t *length) {
    if (*pos >= size) return false;
    const char *start = text + *pos;
    const char *end = memchr(start, '\n', size - *pos);
    if (!end) return false;
    *line = start;
    *length = (size_t)(end - start);
    *pos += *length + 1;
    return true;
}

/* Whether line is exactly prefix followed by value. */
static bool line_is(const char *line, size_t length, const char *prefix, const char *value) {
    const size_t p = strlen(prefix), v = strlen(value);
    return length == p + v && memcmp(line, prefix, p) == 0 && memcmp(line + p, value, v) == 0;
}

/* A decimal number of 1 to 9 digits at *s (before end), then a space or the end. */
static bool parse_number(const char **s, const char *end, unsigned *out) {
    unsigned value = 0;
    int digits = 0;
    while (*s < end && **s >= '0' && **s <= '9' && digits < 9) {
        value = value * 10 + (unsigned)(**s - '0');
        (*s)++;
        digits++;
    }
    if (digits == 0 || (*s < end && **s != ' ')) return false;
    if (*s < end) (*s)++;
    *out = value;
    return true;
}

/* A word (no spaces) at *s, then a space. */
static bool parse_word(const char **s, const char *end, const char **word, size_t *length) {
    const char *start = *s;
    while (*s < end && **s != ' ')
        (*s)++;
    if (*s == start || *s == end) return false;
    *word = start;
    *length = (size_t)(*s - start);
    (*s)++;
    return true;
}

/* One entry line; false when it is malformed (the table is then ignored). *keep says whether
 * the entry is one of ours, in range. */
static bool parse_entry(const char *line, size_t length, clattn_tuned_entry *e, bool *keep) {
    const char *s = line, *end = line + length, *op, *dtype;
    size_t op_length, dtype_length;
    unsigned d, v[CLATTN_TUNED_VALUES];
    if (!parse_word(&s, end, &op, &op_length) || !parse_word(&s, end, &dtype, &dtype_length) ||
        !parse_number(&s, end, &d))
        return false;
    for (int i = 0; i < CLATTN_TUNED_VALUES; i++)
        if (!parse_number(&s, end, &v[i]) || (i + 1 < CLATTN_TUNED_VALUES && s >= end))
            return false;
    if (s != end || line[length - 1] == ' ') return false;
    *keep = dtype_length == 3 && memcmp(dtype, "f32", 3) == 0 &&
            clattn__tuned_op_parse(op, op_length, &e->op) && d >= 1 &&
            d <= CLATTN_TUNED_MAX_HEAD_DIM;
    for (int i = 0; i < CLATTN_TUNED_VALUES; i++) {
        *keep = *keep && v[i] >= 1 && v[i] <= CLATTN_TUNE_MAX_VALUE;
        e->value[i] = v[i];
    }
    e->head_d = d;
    return true;
}

bool clattn__tune_file_parse(const char *text, size_t size, const char *device, const char *driver,
                             clattn_tuned_table *out) {
    memset(out, 0, sizeof *out);
    char version[32];
    snprintf(version, sizeof version, " %d", CLATTN_TUNE_FILE_VERSION);
    size_t pos = 0, length = 0, entries = 0;
    const char *line = NULL;
    if (!text || size > CLATTN_TUNE_FILE_MAX || !next_line(text, size, &pos, &line, &length) ||
        !line_is(line, length, MAGIC, version) || !next_line(text, size, &pos, &line, &length) ||
        !line_is(line, length, "device ", device) || !next_line(text, size, &pos, &line, &length) ||
        !line_is(line, length, "driver ", driver))
        return false;
    clattn_tuned_table table;
    memset(&table, 0, sizeof table);
    while (next_line(text, size, &pos, &line, &length)) {
        if (length >= 4 && memcmp(line, "end ", 4) == 0) {
            const char *s = line + 4;
            unsigned count;
            if (!parse_number(&s, line + length, &count) || s != line + length ||
                line[length - 1] == ' ' || count != entries || pos != size)
                break; /* a wrong count or anything after the end line */
            *out = table;
            return true;
        }
        clattn_tuned_entry e;
        bool keep = false;
        if (++entries > 4 * CLATTN_TUNED_MAX_ENTRIES || !parse_entry(line, length, &e, &keep))
            break;
        /* The first entry of a key wins; a table holds no duplicates we wrote. */
        if (keep && !clattn__tuned_find(&table, e.op, e.head_d) &&
            table.count < CLATTN_TUNED_MAX_ENTRIES)
            table.entry[table.count++] = e;
    }
    return false;
}

size_t clattn__tune_file_format(const clattn_tuned_table *table, const char *device,
                                const char *driver, char *buf, size_t size) {
    if (strchr(device, '\n') || strchr(driver, '\n') || size == 0) return 0;
    size_t used = 0, lines = 0;
    int n = snprintf(buf, size, "%s %d\ndevice %s\ndriver %s\n", MAGIC, CLATTN_TUNE_FILE_VERSION,
                     device, driver);
    if (n < 0 || (size_t)n >= size) return 0;
    used = (size_t)n;
    for (unsigned i = 0; i < table->count && i < CLATTN_TUNED_MAX_ENTRIES; i++) {
        const clattn_tuned_entry *e = &table->entry[i];
        const char *op = clattn__tuned_op_name(e->op);
        if (!op) continue;
        n = snprintf(buf + used, size - used, "%s f32 %u %u %u %u %u\n", op, e->head_d, e->value[0],
                     e->value[1], e->value[2], e->value[3]);
        if (n < 0 || (size_t)n >= size - used) return 0;
        used += (size_t)n;
        lines++;
    }
    n = snprintf(buf + used, size - used, "end %zu\n", lines);
    if (n < 0 || (size_t)n >= size - used) return 0;
    return used + (size_t)n;
}
