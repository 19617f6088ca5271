/* Text matrices (CSV or whitespace separated), and dispatch between text and .npy. */
#include "matrix_io.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_npy(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    char magic[6] = {0};
    bool yes = fread(magic, 1, 6, f) == 6 && memcmp(magic, "\x93NUMPY", 6) == 0;
    fclose(f);
    return yes;
}

static bool append(npy_array *out, size_t *capacity, float value) {
    if (out->count == *capacity) {
        size_t grown = *capacity ? *capacity * 2 : 1024;
        float *data = realloc(out->data, grown * sizeof *data);
        if (!data) return false;
        out->data = data;
        *capacity = grown;
    }
    out->data[out->count++] = value;
    return true;
}

static bool load_text(const char *path, npy_array *out, char *error, size_t error_size) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(error, error_size, "cannot open %s", path);
        return false;
    }
    size_t capacity = 0, rows = 0, cols = 0, line_no = 0;
    char line[1 << 16];
    bool ok = true;
    while (ok && fgets(line, sizeof line, f)) {
        line_no++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(error, error_size, "%s:%zu: line too long", path, line_no);
            ok = false;
            break;
        }
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        size_t in_row = 0;
        char *p = line;
        for (;;) {
            while (*p && (isspace((unsigned char)*p) || *p == ',' || *p == ';'))
                p++;
            if (!*p) break;
            char *end = NULL;
            errno = 0;
            float v = strtof(p, &end);
            if (end == p) {
                snprintf(error, error_size, "%s:%zu: not a number: %.20s", path, line_no, p);
                ok = false;
                break;
            }
            if (!append(out, &capacity, v)) {
                snprintf(error, error_size, "%s: out of memory", path);
                ok = false;
                break;
            }
            in_row++;
            p = end;
        }
        if (!ok || in_row == 0) continue;
        if (rows > 0 && in_row != cols) {
            snprintf(error, error_size, "%s:%zu: %zu values, earlier rows have %zu", path, line_no,
                     in_row, cols);
            ok = false;
        }
        cols = in_row;
        rows++;
    }
    fclose(f);
    if (ok && rows == 0) {
        snprintf(error, error_size, "%s: no numbers found", path);
        ok = false;
    }
    if (!ok) {
        npy_free(out);
        return false;
    }
    out->ndim = 2;
    out->shape[0] = rows;
    out->shape[1] = cols;
    return true;
}

bool load_array(const char *path, npy_array *out, char *error, size_t error_size) {
    if (is_npy(path)) return npy_load(path, out, error, error_size);
    return load_text(path, out, error, error_size);
}
