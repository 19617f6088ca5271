/* Reading and writing NumPy .npy files (format versions 1-3, little-endian, C order). */
#ifndef CLATTN_NPY_H
#define CLATTN_NPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NPY_MAX_DIMS 8

typedef struct npy_array {
    int ndim;
    size_t shape[NPY_MAX_DIMS];
    size_t count;  /* product of shape */
    float *data;   /* converted to float32; owned, free with npy_free */
    bool was_bool; /* the file held booleans (stored here as 0 / 1) */
} npy_array;

/* Parses a whole .npy file held in memory (size bytes): float16, float32, float64, bool,
 * int8..int64 or uint8 arrays, refusing any header the format forbids and data longer or shorter
 * than the shape. name is used in messages. On failure returns false and writes a message to error.
 */
bool npy_parse(const unsigned char *data, size_t size, const char *name, npy_array *out,
               char *error, size_t error_size);
/* What a .npy header says: the shape and where and how the data lie. */
typedef struct npy_header {
    int ndim;
    size_t shape[NPY_MAX_DIMS];
    size_t count;       /* product of shape, > 0 */
    size_t data_offset; /* bytes from the start of the file to the first element */
    size_t elem_size;   /* bytes per element */
    int elem_type;      /* npy.c's element type */
    bool is_bool;
} npy_header;
/* Parses the header at the start of data (size bytes: at least the whole header), with the
 * same strict rules as npy_parse; the data after it is not looked at. */
bool npy_parse_header(const unsigned char *data, size_t size, const char *name, npy_header *out,
                      char *error, size_t error_size);
/* Reads only the header of an open .npy file and checks that the file's length is exactly
 * header + data (so that reads at an offset cannot run past the end). */
bool npy_read_header(FILE *file, const char *name, npy_header *out, char *error, size_t error_size);
/* Reads elements [first, first + count) of the data (C order) as float32 into out. */
bool npy_read_elements(FILE *file, const char *name, const npy_header *h, size_t first,
                       size_t count, float *out, char *error, size_t error_size);
/* Saves float32 data of the given shape. */
bool npy_save(const char *path, const float *data, int ndim, const size_t *shape, char *error,
              size_t error_size);
/* Saves float16 data (IEEE binary16 bit patterns, '<f2') of the given shape. */
bool npy_save_f16(const char *path, const uint16_t *data, int ndim, const size_t *shape,
                  char *error, size_t error_size);
void npy_free(npy_array *array);

/* An integer array (block tables, sequence lengths): int8..int64 or uint8 .npy data as
 * int32, int64 values outside int32's range refused; float and bool files refused. */
typedef struct npy_int32_array {
    int ndim;
    size_t shape[NPY_MAX_DIMS];
    size_t count;
    int32_t *data; /* owned: free() */
} npy_int32_array;
bool npy_parse_int32(const unsigned char *data, size_t size, const char *name, npy_int32_array *out,
                     char *error, size_t error_size);

#endif
