/* The optional on-disk cache of program binaries (program_cache.c). */
#ifndef CLATTN_OPENCL_PROGRAM_CACHE_H
#define CLATTN_OPENCL_PROGRAM_CACHE_H

#include "handle.h"

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
