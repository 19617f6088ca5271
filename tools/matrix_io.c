/* Loading matrices: the whole stream read once (a pipe, a FIFO or /dev/stdin work as files
 * do), then .npy by its magic bytes, else text. */
#include "matrix_io.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(error, error_size, __VA_ARGS__);                                                  \
        goto fail;                                                                                 \
    } while (0)

/* Every byte of f, plus a terminating NUL (not counted in *size). */
static unsigned char *read_all(FILE *f, size_t *size) {
    struct stat st;
    size_t capacity = 1 << 16, used = 0;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
        capacity = (size_t)st.st_size + 1;
    unsigned char *data = malloc(capacity);
    if (!data) return NULL;
    for (;;) {
        if (used + 1 >= capacity) {
            unsigned char *grown = capacity <= SIZE_MAX / 2 ? realloc(data, capacity * 2) : NULL;
            if (!grown) break;
            data = grown;
            capacity *= 2;
        }
        const size_t got = fread(data + used, 1, capacity - 1 - used, f);
        used += got;
        if (got == 0) {
            if (ferror(f)) break;
            data[used] = '\0';
            *size = used;
            return data;
        }
    }
    free(data);
    return NULL;
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

bool text_parse(char *text, size_t size, const char *name, npy_array *out, char *error,
                size_t error_size) {
    memset(out, 0, sizeof *out);
    size_t capacity = 0, rows = 0, cols = 0, line_no = 0;
    const char *nul = memchr(text, '\0', size);
    if (nul) {
        size_t line = 1;
        for (const char *c = text; c < nul; c++)
            line += *c == '\n';
        FAIL("%s:%zu: a NUL byte (not a text file?)", name, line);
    }
    for (char *line = text, *next; line < text + size; line = next) {
        line_no++;
        char *newline = memchr(line, '\n', (size_t)(text + size - line));
        next = newline ? newline + 1 : text + size;
        if (newline) *newline = '\0'; /* no limit on the line's length */
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
            if (end == p) FAIL("%s:%zu: not a number: %.20s", name, line_no, p);
            if (errno == ERANGE && isinf(v)) /* not a literal inf: too large for float32 */
                FAIL("%s:%zu: %.*s is beyond float32's range", name, line_no,
                     (int)(end - p > 40 ? 40 : end - p), p);
            if (!append(out, &capacity, v)) FAIL("%s: out of memory", name);
            in_row++;
            p = end;
        }
        if (in_row == 0) continue;
        if (rows > 0 && in_row != cols)
            FAIL("%s:%zu: %zu values, earlier rows have %zu", name, line_no, in_row, cols);
        cols = in_row;
        rows++;
    }
    if (rows == 0) FAIL("%s: no numbers found", name);
    out->ndim = 2;
    out->shape[0] = rows;
    out->shape[1] = cols;
    return true;
fail:
    npy_free(out);
    return false;
}

/* The whole file at path (from one stream: pipes and FIFOs too), or NULL with a message. */
static unsigned char *read_file(const char *path, size_t *size, char *error, size_t error_size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(error, error_size, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    unsigned char *data = read_all(f, size);
    const int read_errno = errno;
    fclose(f);
    if (!data) snprintf(error, error_size, "cannot read %s: %s", path, strerror(read_errno));
    return data;
}

bool load_array(const char *path, npy_array *out, char *error, size_t error_size) {
    memset(out, 0, sizeof *out);
    size_t size = 0;
    unsigned char *data = read_file(path, &size, error, error_size);
    if (!data) return false;
    const bool ok = size >= 6 && memcmp(data, "\x93NUMPY", 6) == 0
                        ? npy_parse(data, size, path, out, error, error_size)
                        : text_parse((char *)data, size, path, out, error, error_size);
    free(data);
    return ok;
}

bool load_int32_array(const char *path, npy_int32_array *out, char *error, size_t error_size) {
    memset(out, 0, sizeof *out);
    size_t size = 0;
    unsigned char *data = read_file(path, &size, error, error_size);
    if (!data) return false;
    const bool ok = npy_parse_int32(data, size, path, out, error, error_size);
    free(data);
    return ok;
}
