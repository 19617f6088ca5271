/* libFuzzer target: the program cache's file reader (host/opencl/cache_file.c). The key is
 * taken from the input's own header field, so that mutations get past the key check and
 * reach the length, options and checksum checks; the options are fixed. */
#include "cache_file.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_OPTIONS "-cl-std=CL1.2 -DFUZZ=1"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t key = 0;
    if (size >= offsetof(clattn_cache_header, key) + sizeof key)
        memcpy(&key, data + offsetof(clattn_cache_header, key), sizeof key);
    const unsigned char *binary = NULL;
    size_t length = 0;
    if (clattn__cache_file_parse(data, size, key, FUZZ_OPTIONS, &binary, &length)) {
        /* The binary must lie inside the input. */
        if (binary < data || length > size || binary + length > data + size) abort();
        volatile unsigned char last = length ? binary[length - 1] : 0;
        (void)last;
    }
    return 0;
}
