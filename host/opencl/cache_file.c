/* The on-disk program cache's file format (cache_file.h). */
#include "cache_file.h"

#include <string.h>

#define FNV_PRIME 1099511628211ull

uint64_t clattn__fnv1a(uint64_t hash, const void *data, size_t size) {
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++)
        hash = (hash ^ p[i]) * FNV_PRIME;
    return hash;
}

bool clattn__cache_header_init(clattn_cache_header *hd, uint64_t key, const char *options,
                               const void *binary, size_t length) {
    const size_t options_length = strlen(options);
    if (options_length > CLATTN_CACHE_MAX_OPTIONS || length > CLATTN_CACHE_MAX_BINARY) return false;
    memset(hd, 0, sizeof *hd);
    memcpy(hd->magic, CLATTN_CACHE_MAGIC, sizeof hd->magic);
    hd->format = CLATTN_CACHE_FORMAT;
    hd->options_length = (uint32_t)options_length;
    hd->key = key;
    hd->length = length;
    hd->checksum =
        clattn__fnv1a(clattn__fnv1a(CLATTN_FNV_OFFSET, options, options_length), binary, length);
    return true;
}

bool clattn__cache_file_parse(const unsigned char *file, size_t size, uint64_t key,
                              const char *options, const unsigned char **binary, size_t *length) {
    clattn_cache_header hd;
    if (size < sizeof hd) return false;
    memcpy(&hd, file, sizeof hd); /* file need not be aligned */
    const size_t options_length = strlen(options);
    const size_t body = size - sizeof hd;
    /* Lengths are compared before any sum, so that nothing wraps. */
    if (memcmp(hd.magic, CLATTN_CACHE_MAGIC, sizeof hd.magic) != 0 ||
        hd.format != CLATTN_CACHE_FORMAT || hd.key != key || hd.options_length != options_length ||
        hd.length > CLATTN_CACHE_MAX_BINARY || options_length > body ||
        hd.length != body - options_length)
        return false;
    const unsigned char *stored_options = file + sizeof hd;
    if (memcmp(stored_options, options, options_length) != 0 ||
        clattn__fnv1a(CLATTN_FNV_OFFSET, stored_options, body) != hd.checksum)
        return false;
    *binary = stored_options + options_length;
    *length = (size_t)hd.length;
    return true;
}
