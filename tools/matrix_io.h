/* Loading matrices for the CLI: .npy files, or text (CSV or whitespace-separated rows). */
#ifndef CLATTN_MATRIX_IO_H
#define CLATTN_MATRIX_IO_H

#include "npy.h"

/* .npy by extension or magic bytes, else text with one row per line ('#' starts a comment). */
bool load_array(const char *path, npy_array *out, char *error, size_t error_size);

#endif
