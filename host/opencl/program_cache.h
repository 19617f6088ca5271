/* The optional on-disk cache of program binaries (program_cache.c). */
#ifndef CLATTN_OPENCL_PROGRAM_CACHE_H
#define CLATTN_OPENCL_PROGRAM_CACHE_H

#include "handle.h"

#include <stdio.h>

/* The cache folder into buf (also the tuned table's, tune_table.c); false when disabled
 * (CLATTN_CACHE_DIR=off) or unknown. */
bool clattn__cache_dir(char *buf, size_t size);
/* mkdir -p; errors are ignored (writing then fails and the cache stays read-only). */
void clattn__cache_make_dirs(char *path);
/* Opens path for reading only if it is a regular file (never blocks on a FIFO or a device);
 * *size is its size. NULL when it cannot. */
FILE *clattn__cache_open_regular(const char *path, long *size);
/* The cache key of a program: its sources, options, the device, driver, platform and library. */
uint64_t clattn__cache_key(const clattn_handle *h, cl_uint count, const char *const *texts,
                           const size_t *lengths, const char *options);
/* A program built from the cached binary for key, or NULL (no cache, no file, bad file). */
cl_program clattn__cache_load(clattn_handle *h, uint64_t key, const char *options);
/* Writes the program's binary for key, atomically; failures are ignored. */
void clattn__cache_store(clattn_handle *h, uint64_t key, const char *options, cl_program program);
/* Loads served from the cache and loads that were not, since the process started. */
void clattn__cache_stats(uint64_t *hits, uint64_t *misses);
/* Counts a cached program rebuilt from the source because it lacked a kernel. */
void clattn__cache_count_rebuild(void);
/* Cached programs rebuilt so, since the process started. */
uint64_t clattn__cache_rebuilds(void);

#endif
