/* libFuzzer target: the .npy parser (tools/npy.c) on arbitrary bytes. */
#include "npy.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    npy_array array;
    char error[256];
    if (npy_parse(data, size, "fuzz.npy", &array, error, sizeof error)) {
        /* Every element the shape promises must be readable. */
        volatile float sum = 0.0f;
        for (size_t i = 0; i < array.count; i++)
            sum += array.data[i];
        npy_free(&array);
    }
    return 0;
}
