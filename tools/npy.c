/* NumPy .npy reader and writer: just enough of the format for dense numeric arrays. */
#include "npy.h"
#include "dtype.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(error, error_size, __VA_ARGS__);                                                  \
        goto fail;                                                                                 \
    } while (0)

typedef enum { T_F4, T_F8, T_B1, T_I1, T_U1, T_I2, T_I4, T_I8, T_F2 } elem_type;

static float convert(const unsigned char *p, elem_type type) {
    switch (type) {
    case T_F4: {
        float v;
        memcpy(&v, p, 4);
        return v;
    }
    case T_F8: {
        double v;
        memcpy(&v, p, 8);
        return (float)v;
    }
    case T_F2: { /* float16: exact in float32 */
        uint16_t v;
        memcpy(&v, p, 2);
        return clattn__f16_to_f32(v);
    }
    case T_B1:
        return *p ? 1.0f : 0.0f;
    case T_I1:
        return (float)(int8_t)*p;
    case T_U1:
        return (float)*p;
    case T_I2: {
        int16_t v;
        memcpy(&v, p, 2);
        return (float)v;
    }
    case T_I4: {
        int32_t v;
        memcpy(&v, p, 4);
        return (float)v;
    }
    case T_I8: {
        int64_t v;
        memcpy(&v, p, 8);
        return (float)v;
    }
    }
    return 0.0f;
}

/* ---- The header: a Python dict literal with exactly the keys descr, fortran_order and shape,
 * padded with spaces and ended by '\n' (NEP 1). Parsed strictly: a header whose length field is
 * off, or with duplicate, unknown or misspelt keys or values, is refused, never guessed at. */
typedef struct header_parser {
    const char *p, *end;
} header_parser;

static void skip_spaces(header_parser *h) {
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t'))
        h->p++;
}
static bool take(header_parser *h, char c) {
    skip_spaces(h);
    if (h->p < h->end && *h->p == c) {
        h->p++;
        return true;
    }
    return false;
}
/* A quoted string ('...' or "...") into out (NUL-terminated). */
static bool quoted(header_parser *h, char *out, size_t size) {
    skip_spaces(h);
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) return false;
    const char quote = *h->p++;
    size_t n = 0;
    while (h->p < h->end && *h->p != quote) {
        if (n + 1 >= size) return false;
        out[n++] = *h->p++;
    }
    if (h->p >= h->end) return false;
    h->p++;
    out[n] = '\0';
    return true;
}
/* A whole word (True, False): not a prefix of a longer identifier. */
static bool word(header_parser *h, const char *w) {
    skip_spaces(h);
    size_t n = strlen(w);
    if ((size_t)(h->end - h->p) < n || memcmp(h->p, w, n) != 0) return false;
    const char next = h->p + n < h->end ? h->p[n] : '\0';
    if (next == '_' || (next >= '0' && next <= '9') || ((next | 32) >= 'a' && (next | 32) <= 'z'))
        return false;
    h->p += n;
    return true;
}
static bool parse_shape(header_parser *h, npy_array *out) {
    if (!take(h, '(')) return false;
    out->ndim = 0;
    out->count = 1;
    for (;;) {
        if (take(h, ')')) return true;
        skip_spaces(h);
        if (h->p >= h->end || *h->p < '0' || *h->p > '9' || out->ndim == NPY_MAX_DIMS) return false;
        size_t v = 0;
        while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
            const size_t digit = (size_t)(*h->p++ - '0');
            if (v > (SIZE_MAX - digit) / 10) return false;
            v = v * 10 + digit;
        }
        out->shape[out->ndim++] = v;
        if (v != 0 && out->count > SIZE_MAX / v) return false;
        out->count *= v;
        if (!take(h, ',')) return take(h, ')');
    }
}

static bool parse_descr(const char *text, elem_type *type, size_t *size) {
    static const struct {
        const char *descr;
        elem_type type;
        size_t size;
    } known[] = {{"<f4", T_F4, 4}, {"<f8", T_F8, 8}, {"<f2", T_F2, 2},
                 {"|b1", T_B1, 1}, {"|i1", T_I1, 1}, {"|u1", T_U1, 1},
                 {"<i2", T_I2, 2}, {"<i4", T_I4, 4}, {"<i8", T_I8, 8}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(text, known[i].descr) == 0) {
            *type = known[i].type;
            *size = known[i].size;
            return true;
        }
    }
    return false;
}

bool npy_parse_header(const unsigned char *data, size_t size, const char *name, npy_header *out,
                      char *error, size_t error_size) {
    memset(out, 0, sizeof *out);
    npy_array shape = {0};
    if (size < 10 || memcmp(data, "\x93NUMPY", 6) != 0) FAIL("%s is not a .npy file", name);
    const int major = data[6];
    if (major < 1 || major > 3) FAIL("%s: unsupported .npy version %d", name, major);
    const size_t len_size = major == 1 ? 2 : 4;
    if (size < 8 + len_size) FAIL("%s: truncated header", name);
    size_t header_len = 0;
    for (size_t i = 0; i < len_size; i++)
        header_len |= (size_t)data[8 + i] << (8 * i);
    const size_t header_start = 8 + len_size;
    if (header_len > size - header_start) FAIL("%s: truncated header", name);
    header_parser h = {(const char *)data + header_start,
                       (const char *)data + header_start + header_len};
    if (header_len == 0 || h.end[-1] != '\n')
        FAIL("%s: the header does not end with a newline (its length field is wrong?)", name);
    h.end--; /* the '\n' */

    bool seen_descr = false, seen_order = false, seen_shape = false;
    elem_type type = T_F4;
    size_t elem_size = 4;
    if (!take(&h, '{')) FAIL("%s: malformed header (no '{')", name);
    while (!take(&h, '}')) {
        char key[32], descr[16];
        if (!quoted(&h, key, sizeof key) || !take(&h, ':'))
            FAIL("%s: malformed header (a key)", name);
        if (strcmp(key, "descr") == 0 && !seen_descr) {
            seen_descr = true;
            if (!quoted(&h, descr, sizeof descr) || !parse_descr(descr, &type, &elem_size))
                FAIL("%s: unsupported dtype (float16, float32, float64, bool or little-endian "
                     "integers)",
                     name);
        } else if (strcmp(key, "fortran_order") == 0 && !seen_order) {
            seen_order = true;
            if (word(&h, "True")) FAIL("%s: Fortran order is not supported", name);
            if (!word(&h, "False")) FAIL("%s: fortran_order is neither True nor False", name);
        } else if (strcmp(key, "shape") == 0 && !seen_shape) {
            seen_shape = true;
            if (!parse_shape(&h, &shape)) FAIL("%s: malformed or too large shape", name);
        } else {
            FAIL("%s: unexpected or repeated key '%s' in the header", name, key);
        }
        if (!take(&h, ',')) {
            if (!take(&h, '}')) FAIL("%s: malformed header (after '%s')", name, key);
            break;
        }
    }
    skip_spaces(&h);
    if (h.p != h.end) FAIL("%s: malformed header (text after the '}')", name);
    if (!seen_descr || !seen_order || !seen_shape)
        FAIL("%s: the header lacks descr, fortran_order or shape", name);
    if (shape.count == 0) FAIL("%s: the array is empty", name);
    if (shape.count > SIZE_MAX / 8) FAIL("%s: malformed or too large shape", name);
    out->ndim = shape.ndim;
    memcpy(out->shape, shape.shape, sizeof out->shape);
    out->count = shape.count;
    out->data_offset = header_start + header_len;
    out->elem_size = elem_size;
    out->elem_type = (int)type;
    out->is_bool = type == T_B1;
    return true;
fail:
    return false;
}

/* count elements at raw into out, refusing float64 values beyond float32's range (they would
 * silently become inf); first numbers them in messages. */
static bool convert_all(const unsigned char *raw, const npy_header *h, size_t first, size_t count,
                        const char *name, float *out, char *error, size_t error_size) {
    const elem_type type = (elem_type)h->elem_type;
    for (size_t i = 0; i < count; i++) {
        if (type == T_F8) {
            double v;
            memcpy(&v, raw + i * 8, 8);
            if (isfinite(v) && fabs(v) > FLT_MAX)
                FAIL("%s: element %zu (%g) is beyond float32's range", name, first + i, v);
        }
        out[i] = convert(raw + i * h->elem_size, type);
    }
    return true;
fail:
    return false;
}

bool npy_parse(const unsigned char *data, size_t size, const char *name, npy_array *out,
               char *error, size_t error_size) {
    memset(out, 0, sizeof *out);
    npy_header h;
    if (!npy_parse_header(data, size, name, &h, error, error_size)) return false;
    /* The data must be exactly what the shape says, checked before allocating anything. */
    const size_t have = size - h.data_offset;
    if (have / h.elem_size < h.count)
        FAIL("%s: file is shorter than its shape says (%zu bytes of data for %zu elements)", name,
             have, h.count);
    if (have != h.count * h.elem_size)
        FAIL("%s: %zu bytes after the data its shape says (a wrong header length?)", name,
             have - h.count * h.elem_size);
    out->ndim = h.ndim;
    memcpy(out->shape, h.shape, sizeof out->shape);
    out->count = h.count;
    out->data = malloc(out->count * sizeof(float));
    if (!out->data) FAIL("%s: out of memory", name);
    if (!convert_all(data + h.data_offset, &h, 0, h.count, name, out->data, error, error_size))
        goto fail;
    out->was_bool = h.is_bool;
    return true;
fail:
    npy_free(out);
    return false;
}

bool npy_read_header(FILE *file, const char *name, npy_header *out, char *error,
                     size_t error_size) {
    unsigned char *buffer = NULL;
    unsigned char start[12];
    if (fseek(file, 0, SEEK_END) != 0) FAIL("%s: cannot seek (not a regular file?)", name);
    const long end = ftell(file);
    if (end < 0 || fseek(file, 0, SEEK_SET) != 0 ||
        fread(start, 1, sizeof start, file) != sizeof start || memcmp(start, "\x93NUMPY", 6) != 0)
        FAIL("%s is not a .npy file", name);
    if (start[6] < 1 || start[6] > 3) FAIL("%s: unsupported .npy version %d", name, start[6]);
    /* The whole header (no longer than the file), then the strict parser. */
    const size_t len_size = start[6] == 1 ? 2 : 4;
    size_t header_len = 0;
    for (size_t i = 0; i < len_size; i++)
        header_len |= (size_t)start[8 + i] << (8 * i);
    const size_t total = 8 + len_size + header_len;
    if (total > (size_t)end) FAIL("%s: truncated header", name);
    if (!(buffer = malloc(total))) FAIL("%s: out of memory", name);
    if (fseek(file, 0, SEEK_SET) != 0 || fread(buffer, 1, total, file) != total)
        FAIL("%s: truncated header", name);
    if (!npy_parse_header(buffer, total, name, out, error, error_size)) goto fail;
    free(buffer);
    buffer = NULL;
    /* The file must hold exactly the data the shape says. */
    if ((size_t)end < out->data_offset ||
        (size_t)end - out->data_offset != out->count * out->elem_size)
        FAIL("%s: %ld bytes, but its header says %zu bytes of header and data", name, end,
             out->data_offset + out->count * out->elem_size);
    return true;
fail:
    free(buffer);
    return false;
}

bool npy_read_elements(FILE *file, const char *name, const npy_header *h, size_t first,
                       size_t count, float *out, char *error, size_t error_size) {
    unsigned char *raw = NULL;
    if (first > h->count || count > h->count - first)
        FAIL("%s: elements %zu..%zu are beyond its %zu elements", name, first, first + count,
             h->count);
    const size_t offset = h->data_offset + first * h->elem_size;
    if (offset > (size_t)LONG_MAX || fseek(file, (long)offset, SEEK_SET) != 0)
        FAIL("%s: cannot seek to element %zu", name, first);
    if (!(raw = malloc(count * h->elem_size + 1))) FAIL("%s: out of memory", name);
    if (fread(raw, h->elem_size, count, file) != count)
        FAIL("%s: cannot read elements %zu..%zu", name, first, first + count);
    if (!convert_all(raw, h, first, count, name, out, error, error_size)) goto fail;
    free(raw);
    return true;
fail:
    free(raw);
    return false;
}

/* Writes count elements of elem_size bytes (descr: their NumPy type) as a version 1 file. */
static bool save(const char *path, const char *descr, const void *data, size_t elem_size, int ndim,
                 const size_t *shape, char *error, size_t error_size) {
    char dict[256];
    int len =
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%zu,%s", shape[i],
                        i + 1 < ndim ? " " : "");
        count *= shape[i];
    }
    len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
    /* Pad with spaces so that magic + length + header + newline is a multiple of 64. */
    size_t total = 10 + (size_t)len + 1;
    size_t padded = (total + 63) / 64 * 64;
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(error, error_size, "cannot create %s", path);
        return false;
    }
    size_t header_len = padded - 10;
    unsigned char prefix[10] = {0x93,
                                'N',
                                'U',
                                'M',
                                'P',
                                'Y',
                                1,
                                0,
                                (unsigned char)(header_len & 0xff),
                                (unsigned char)(header_len >> 8)};
    bool ok = fwrite(prefix, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)len, f) == (size_t)len;
    for (size_t i = total; ok && i < padded; i++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    ok = ok && fwrite(data, elem_size, count, f) == count;
    ok = (fclose(f) == 0) && ok;
    if (!ok) snprintf(error, error_size, "cannot write %s", path);
    return ok;
}

bool npy_save(const char *path, const float *data, int ndim, const size_t *shape, char *error,
              size_t error_size) {
    return save(path, "<f4", data, sizeof(float), ndim, shape, error, error_size);
}

bool npy_save_f16(const char *path, const uint16_t *data, int ndim, const size_t *shape,
                  char *error, size_t error_size) {
    return save(path, "<f2", data, sizeof(uint16_t), ndim, shape, error, error_size);
}

void npy_free(npy_array *array) {
    free(array->data);
    array->data = NULL;
}

bool npy_parse_int32(const unsigned char *data, size_t size, const char *name, npy_int32_array *out,
                     char *error, size_t error_size) {
    memset(out, 0, sizeof *out);
    npy_header h;
    if (!npy_parse_header(data, size, name, &h, error, error_size)) return false;
    const elem_type type = (elem_type)h.elem_type;
    if (type == T_F4 || type == T_F8 || type == T_F2 || type == T_B1)
        FAIL("%s: must hold integers (int8..int64 or uint8), not %s", name,
             type == T_B1 ? "booleans" : "floats");
    if (size - h.data_offset != h.count * h.elem_size)
        FAIL("%s: %zu bytes of data where its shape says %zu", name, size - h.data_offset,
             h.count * h.elem_size);
    out->data = malloc(h.count * sizeof *out->data);
    if (!out->data) FAIL("%s: out of memory", name);
    for (size_t i = 0; i < h.count; i++) {
        const unsigned char *p = data + h.data_offset + i * h.elem_size;
        int64_t v = 0;
        if (type == T_I8) {
            memcpy(&v, p, 8);
        } else if (type == T_I4) {
            int32_t x;
            memcpy(&x, p, 4);
            v = x;
        } else {
            v = (int64_t)convert(p, type); /* int8, uint8, int16: exact in float */
        }
        if (v < INT32_MIN || v > INT32_MAX) {
            free(out->data);
            out->data = NULL;
            FAIL("%s: element %zu (%lld) is outside int32's range", name, i, (long long)v);
        }
        out->data[i] = (int32_t)v;
    }
    out->ndim = h.ndim;
    memcpy(out->shape, h.shape, sizeof out->shape);
    out->count = h.count;
    return true;
fail:
    return false;
}
