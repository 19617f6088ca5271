/* The format of one on-disk program cache file (cache_file.c): a header, the build options,
 * then the program binary. Pure parsing and hashing, no OpenCL and no I/O, so that a fuzzer
 * can drive the reader directly (tests/fuzz/). */
#ifndef CLATTN_OPENCL_CACHE_FILE_H
#define CLATTN_OPENCL_CACHE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLATTN_CACHE_MAGIC  "CLATTNB\x01"
#define CLATTN_CACHE_FORMAT 2u /* 2: the build options are stored and compared, not only hashed */
/* Larger binaries or option strings are not real ones of ours. */
#define CLATTN_CACHE_MAX_BINARY  ((uint64_t)1 << 30)
#define CLATTN_CACHE_MAX_OPTIONS ((uint32_t)1 << 16)

typedef struct clattn_cache_header {
    char magic[8];
    uint32_t format;
    uint32_t options_length; /* the build options follow the header, then the binary */
    uint64_t key;
    uint64_t length;   /* of the binary */
    uint64_t checksum; /* FNV-1a of the options and the binary */
} clattn_cache_header;

#define CLATTN_FNV_OFFSET 14695981039346656037ull

/* 64-bit FNV-1a of size bytes, continuing from hash (CLATTN_FNV_OFFSET to start). */
uint64_t clattn__fnv1a(uint64_t hash, const void *data, size_t size);

/* The header of a file for key, options and a binary of length bytes; false when the options
 * or the binary are too long for the format. */
bool clattn__cache_header_init(clattn_cache_header *hd, uint64_t key, const char *options,
                               const void *binary, size_t length);

/* Checks a whole file image of size bytes: true when its header matches key and options
 * exactly, the checksum holds, and the file is exactly the header, the options and the binary
 * (not truncated, nothing appended); *binary and *length then locate the binary in file. */
bool clattn__cache_file_parse(const unsigned char *file, size_t size, uint64_t key,
                              const char *options, const unsigned char **binary, size_t *length);

#endif
