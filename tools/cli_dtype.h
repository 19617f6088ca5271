/* The CLI's storage types: --dtype f32|f16|bf16 and float32 data stored as one (clattn attend,
 * clattn mha). */
#ifndef CLATTN_CLI_DTYPE_H
#define CLATTN_CLI_DTYPE_H

#include "clattn.h"

#include <stddef.h>

/* --dtype's value (f32, f16, bf16) as a clattn_dtype; 0, or a CLI error status with a message
 * naming the option. */
int cli_parse_dtype(const char *option, const char *value, clattn_dtype *out);

/* count floats stored as dtype in a new array (*owned; *out points to it) or, for float32 or
 * a NULL src, src itself (*owned NULL). */
int cli_to_storage(clattn_dtype dtype, const float *src, size_t count, const void **out,
                   void **owned);

#endif
