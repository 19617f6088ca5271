/* libFuzzer target: the cache folder's file readers -- the program cache's
 * (host/opencl/cache_file.c) and the tuned table's (host/opencl/tune_file.c), each given
 * every input. The key is taken from the input's own header field, so that mutations get past
 * the key check and reach the length, options and checksum checks; the options are fixed. */
#include "cache_file.h"
#include "tune_file.h"

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
    /* The tuned table: whatever it accepts is in range and formats back. */
    clattn_tuned_table table;
    if (clattn__tune_file_parse((const char *)data, size, "fuzz device", "fuzz driver 1.0",
                                &table)) {
        if (table.count > CLATTN_TUNED_MAX_ENTRIES) abort();
        for (unsigned i = 0; i < table.count; i++)
            for (int v = 0; v < CLATTN_TUNED_VALUES; v++)
                if (table.entry[i].value[v] < 1 ||
                    table.entry[i].value[v] > CLATTN_TUNE_MAX_VALUE ||
                    !clattn__tuned_op_name(table.entry[i].op))
                    abort();
        static char text[CLATTN_TUNE_FILE_MAX];
        if (!clattn__tune_file_format(&table, "fuzz device", "fuzz driver 1.0", text, sizeof text))
            abort();
    } else if (table.count != 0) {
        abort();
    }
    return 0;
}
