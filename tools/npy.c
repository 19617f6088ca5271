/* NumPy .npy reader and writer: just enough of the format for dense numeric arrays. */
#include "npy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(error, error_size, __VA_ARGS__);                                                  \
        goto fail;                                                                                 \
    } while (0)

/* The value text after 'key': in the header dictionary, or NULL. */
static const char *find_key(const char *header, const char *key) {
    char quoted[32];
    snprintf(quoted, sizeof quoted, "'%s'", key);
    const char *at = strstr(header, quoted);
    if (!at) return NULL;
    at = strchr(at + strlen(quoted), ':');
    if (!at) return NULL;
    at++;
    while (*at == ' ')
        at++;
    return at;
}

static bool parse_shape(const char *text, npy_array *out) {
    if (*text != '(') return false;
    text++;
    out->ndim = 0;
    out->count = 1;
    for (;;) {
        while (*text == ' ' || *text == ',')
            text++;
        if (*text == ')') break;
        char *end = NULL;
        unsigned long long v = strtoull(text, &end, 10);
        if (end == text || out->ndim == NPY_MAX_DIMS) return false;
        out->shape[out->ndim++] = (size_t)v;
        if (v != 0 && out->count > SIZE_MAX / v) return false;
        out->count *= (size_t)v;
        text = end;
    }
    return true;
}

typedef enum { T_F4, T_F8, T_B1, T_I1, T_U1, T_I2, T_I4, T_I8 } elem_type;

static bool parse_descr(const char *text, elem_type *type, size_t *size) {
    static const struct {
        const char *descr;
        elem_type type;
        size_t size;
    } known[] = {{"'<f4'", T_F4, 4}, {"'<f8'", T_F8, 8}, {"'|b1'", T_B1, 1}, {"'|i1'", T_I1, 1},
                 {"'|u1'", T_U1, 1}, {"'<i2'", T_I2, 2}, {"'<i4'", T_I4, 4}, {"'<i8'", T_I8, 8}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strncmp(text, known[i].descr, strlen(known[i].descr)) == 0) {
            *type = known[i].type;
            *size = known[i].size;
            return true;
        }
    }
    return false;
}

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

bool npy_load(const char *path, npy_array *out, char *error, size_t error_size) {
    memset(out, 0, sizeof *out);
    unsigned char *raw = NULL;
    char *header = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) FAIL("cannot open %s", path);
    unsigned char magic[8];
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "\x93NUMPY", 6) != 0)
        FAIL("%s is not a .npy file", path);
    size_t header_len = 0;
    unsigned char len_bytes[4] = {0, 0, 0, 0};
    size_t len_size = magic[6] == 1 ? 2 : 4;
    if (magic[6] < 1 || magic[6] > 3) FAIL("%s: unsupported .npy version %d", path, magic[6]);
    if (fread(len_bytes, 1, len_size, f) != len_size) FAIL("%s: truncated header", path);
    header_len = len_bytes[0] | (size_t)len_bytes[1] << 8 | (size_t)len_bytes[2] << 16 |
                 (size_t)len_bytes[3] << 24;
    if (header_len > 1 << 20) FAIL("%s: header too large", path);
    header = calloc(header_len + 1, 1);
    if (!header || fread(header, 1, header_len, f) != header_len)
        FAIL("%s: truncated header", path);

    const char *descr = find_key(header, "descr");
    const char *order = find_key(header, "fortran_order");
    const char *shape = find_key(header, "shape");
    elem_type type;
    size_t elem_size;
    if (!descr || !order || !shape) FAIL("%s: malformed header", path);
    if (!parse_descr(descr, &type, &elem_size))
        FAIL("%s: unsupported dtype %.8s (float32, float64, bool or little-endian integers)", path,
             descr);
    if (strncmp(order, "False", 5) != 0) FAIL("%s: Fortran order is not supported", path);
    if (!parse_shape(shape, out)) FAIL("%s: malformed or too large shape", path);
    if (out->count == 0) FAIL("%s: the array is empty", path);
    if (out->count > SIZE_MAX / 8) FAIL("%s: array too large", path);

    out->data = malloc(out->count * sizeof(float));
    if (!out->data) FAIL("%s: out of memory", path);
    if (type == T_F4) { /* read in place: no second copy of what may be gigabytes */
        if (fread(out->data, sizeof(float), out->count, f) != out->count)
            FAIL("%s: file is shorter than its shape says", path);
    } else {
        raw = malloc(out->count * elem_size);
        if (!raw) FAIL("%s: out of memory", path);
        if (fread(raw, elem_size, out->count, f) != out->count)
            FAIL("%s: file is shorter than its shape says", path);
        for (size_t i = 0; i < out->count; i++)
            out->data[i] = convert(raw + i * elem_size, type);
    }
    out->was_bool = type == T_B1;
    free(raw);
    free(header);
    fclose(f);
    return true;
fail:
    free(raw);
    free(header);
    if (f) fclose(f);
    npy_free(out);
    return false;
}

bool npy_save(const char *path, const float *data, int ndim, const size_t *shape, char *error,
              size_t error_size) {
    char dict[256];
    int len = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
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
    ok = ok && fwrite(data, sizeof(float), count, f) == count;
    ok = (fclose(f) == 0) && ok;
    if (!ok) snprintf(error, error_size, "cannot write %s", path);
    return ok;
}

void npy_free(npy_array *array) {
    free(array->data);
    array->data = NULL;
}
