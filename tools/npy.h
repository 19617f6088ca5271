/* Reading and writing NumPy .npy files (format versions 1-3, little-endian, C order). */
#ifndef CLATTN_NPY_H
#define CLATTN_NPY_H

#include <stdbool.h>
#include <stddef.h>

#define NPY_MAX_DIMS 8

typedef struct npy_array {
    int ndim;
    size_t shape[NPY_MAX_DIMS];
    size_t count;  /* product of shape */
    float *data;   /* converted to float32; owned, free with npy_free */
    bool was_bool; /* the file held booleans (stored here as 0 / 1) */
} npy_array;

/* Parses a whole .npy file held in memory (size bytes): float32, float64, bool, int8..int64 or
 * uint8 arrays, refusing any header the format forbids and data longer or shorter than the
 * shape. name is used in messages. On failure returns false and writes a message to error. */
bool npy_parse(const unsigned char *data, size_t size, const char *name, npy_array *out,
               char *error, size_t error_size);
/* Saves float32 data of the given shape. */
bool npy_save(const char *path, const float *data, int ndim, const size_t *shape, char *error,
              size_t error_size);
void npy_free(npy_array *array);

#endif
