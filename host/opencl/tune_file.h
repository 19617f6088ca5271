/* The tuned-values table file `clattn tune` writes (tune_file.c): versioned text, one file per
 * device and driver in the cache folder (tune_table.c finds, reads and writes it). Pure
 * parsing and formatting, no OpenCL and no I/O, so that a fuzzer can drive the reader
 * (tests/fuzz/fuzz_cache_file.c). The format, line by line ('\n' ends every line):
 *
 *   clattn-tune 1
 *   device <CL_DEVICE_NAME>
 *   driver <CL_DRIVER_VERSION>
 *   <op> <dtype> <d> <v1> <v2> <v3> <v4>      e.g. "attention_cpu f32 64 6 4 2 4" (tuned.h)
 *   ...
 *   end <number of entry lines>
 *
 * A table that is not exactly this -- another version, another device or driver (foreign),
 * a malformed or overlong line, a missing or wrong end line (truncated), over
 * CLATTN_TUNE_FILE_MAX bytes -- is ignored whole. A well-formed entry of another dtype, an
 * op this library does not know, or values out of range is skipped alone (a later library
 * may write them); the device's limits are checked after parsing
 * (clattn__attention_tuned_fits). */
#ifndef CLATTN_OPENCL_TUNE_FILE_H
#define CLATTN_OPENCL_TUNE_FILE_H

#include "tuned.h"

#include <stdbool.h>
#include <stddef.h>

#define CLATTN_TUNE_FILE_VERSION 1
#define CLATTN_TUNE_FILE_MAX     65536 /* bytes; a real table is well under 4 KiB */
#define CLATTN_TUNE_MAX_VALUE    4096u /* any tuned value above this is not a real one */

/* Parses a table image of size bytes for device and driver into *out (emptied first); false
 * when the table must be ignored (*out is then empty). */
bool clattn__tune_file_parse(const char *text, size_t size, const char *device, const char *driver,
                             clattn_tuned_table *out);

/* Writes the table for device and driver into buf (NUL-terminated); the length, or 0 when it
 * does not fit or a name holds a line break. */
size_t clattn__tune_file_format(const clattn_tuned_table *table, const char *device,
                                const char *driver, char *buf, size_t size);

#endif
