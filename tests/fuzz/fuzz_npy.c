/* libFuzzer target: the .npy parser (tools/npy.c) on arbitrary bytes, in memory and through
 * the file reader that clattn attend --mpi uses (header only, then elements at an offset),
 * which must agree with it. */
#define _POSIX_C_SOURCE 200809L
#include "npy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    npy_array array;
    char error[256];
    const bool parsed = npy_parse(data, size, "fuzz.npy", &array, error, sizeof error);
    if (parsed) {
        /* Every element the shape promises must be readable. */
        volatile float sum = 0.0f;
        for (size_t i = 0; i < array.count; i++)
            sum += array.data[i];
    }
    FILE *file = size ? fmemopen((void *)data, size, "rb") : NULL;
    npy_header h;
    const bool header = file && npy_read_header(file, "fuzz.npy", &h, error, sizeof error);
    /* What the parser accepts, the file reader accepts too (the reverse need not hold: a
     * float64 beyond float32's range fails only when read). */
    if (parsed && file && !header) abort();
    if (header) {
        /* The last half at an offset: the same values as the parser's. */
        const size_t first = h.count / 2, count = h.count - first;
        float *part = malloc((count + 1) * sizeof *part);
        const bool read = part && npy_read_elements(file, "fuzz.npy", &h, first, count, part, error,
                                                    sizeof error);
        for (size_t i = 0; read && parsed && i < count; i++)
            if (memcmp(&part[i], &array.data[first + i], sizeof *part) != 0) abort();
        free(part);
    }
    if (file) fclose(file);
    if (parsed) npy_free(&array);
    return 0;
}
