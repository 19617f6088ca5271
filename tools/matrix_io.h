/* Loading matrices for the CLI: .npy files, or text (CSV or whitespace-separated rows). */
#ifndef CLATTN_MATRIX_IO_H
#define CLATTN_MATRIX_IO_H

#include "npy.h"

/* .npy by its magic bytes, else text with one row per line ('#' starts a comment). The path is
 * read once, from start to end: pipes, FIFOs and /dev/stdin work. */
bool load_array(const char *path, npy_array *out, char *error, size_t error_size);

/* An integer .npy file (npy_parse_int32): block tables, sequence lengths. */
bool load_int32_array(const char *path, npy_int32_array *out, char *error, size_t error_size);

/* Parses text (size bytes followed by a NUL, modified in place): rows of numbers separated by
 * spaces, commas or semicolons; NUL bytes and values beyond float32's range are refused. */
bool text_parse(char *text, size_t size, const char *name, npy_array *out, char *error,
                size_t error_size);

#endif
