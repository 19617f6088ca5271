/* Storage types of tensors (clattn_dtype): element sizes and the float32 <-> float16 /
 * bfloat16 conversions, the one copy of them on the host (the CPU backend, the reference, the
 * blocking forms and the CLI use these; the kernels have their own in kernels/common.h).
 * Conversions to 16 bits round to nearest even, overflow to +-inf, keep subnormals (float16)
 * and keep NaN a NaN (quiet, same sign). Not installed. */
#ifndef CLATTN_CORE_DTYPE_H
#define CLATTN_CORE_DTYPE_H

#include "clattn.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether dtype is one of clattn_dtype's values. */
bool clattn__dtype_valid(clattn_dtype dtype);

/* "f32", "f16", "bf16" (for messages); "?" for an unknown value. */
const char *clattn__dtype_name(clattn_dtype dtype);

uint16_t clattn__f32_to_f16(float x);
float clattn__f16_to_f32(uint16_t h);
uint16_t clattn__f32_to_bf16(float x);
float clattn__bf16_to_f32(uint16_t h);

/* x rounded to the dtype and back (what storing x as dtype keeps). */
float clattn__dtype_round(clattn_dtype dtype, float x);

/* Element i of an array of dtype, as float; and x stored as element i. */
float clattn__dtype_load(clattn_dtype dtype, const void *base, size_t i);
void clattn__dtype_store(clattn_dtype dtype, void *base, size_t i, float x);

/* count elements between float32 and dtype (src and dst must not overlap). */
void clattn__dtype_widen(clattn_dtype dtype, const void *src, float *dst, size_t count);
void clattn__dtype_narrow(clattn_dtype dtype, const float *src, void *dst, size_t count);

#endif
