/* libFuzzer target: the text matrix parser (tools/matrix_io.c) on arbitrary bytes. */
#include "matrix_io.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1); /* the parser takes size bytes followed by a NUL */
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    npy_array array;
    char error[256];
    if (text_parse(text, size, "fuzz.txt", &array, error, sizeof error)) {
        volatile float sum = 0.0f;
        for (size_t i = 0; i < array.count; i++)
            sum += array.data[i];
        npy_free(&array);
    }
    free(text);
    return 0;
}
