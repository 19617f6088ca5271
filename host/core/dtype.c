/* float32 <-> float16 / bfloat16 with round-to-nearest-even, on bit patterns (no reliance on
 * the compiler's _Float16 or the FPU's rounding mode). */
#include "dtype.h"

#include <string.h>

bool clattn__dtype_valid(clattn_dtype dtype) {
    return dtype == CLATTN_F32 || dtype == CLATTN_F16 || dtype == CLATTN_BF16;
}

size_t clattn_dtype_size(clattn_dtype dtype) {
    return dtype == CLATTN_F32 ? 4 : dtype == CLATTN_F16 || dtype == CLATTN_BF16 ? 2 : 0;
}

const char *clattn__dtype_name(clattn_dtype dtype) {
    return dtype == CLATTN_F32    ? "f32"
           : dtype == CLATTN_F16  ? "f16"
           : dtype == CLATTN_BF16 ? "bf16"
                                  : "?";
}

static uint32_t bits_of(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float float_of(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

uint16_t clattn__f32_to_f16(float x) {
    const uint32_t u = bits_of(x);
    const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    const uint32_t exp = (u >> 23) & 0xffu, mant = u & 0x7fffffu;
    if (exp == 0xffu) /* inf, or NaN: quiet, the payload's top bits kept */
        return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u | (mant >> 13) : 0u));
    const int e = (int)exp - 127 + 15;              /* the float16 exponent field if normal */
    if (e >= 31) return (uint16_t)(sign | 0x7c00u); /* overflow (before rounding) */
    if (e <= 0) {
        /* Subnormal float16 (or zero): the value is mant16 * 2^-24. With the implicit bit,
         * the float32 significand (24 bits) shifts right by 14 - e; below half the smallest
         * subnormal it rounds to zero. */
        if (e < -10) return sign;
        const uint32_t sig = mant | 0x800000u;
        const unsigned shift = (unsigned)(14 - e);
        uint32_t half = sig >> shift;
        const uint32_t rest = sig & ((1u << shift) - 1u), mid = 1u << (shift - 1u);
        if (rest > mid || (rest == mid && (half & 1u))) half++; /* may become the smallest normal */
        return (uint16_t)(sign | half);
    }
    uint32_t h = ((uint32_t)e << 10) | (mant >> 13);
    const uint32_t rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++; /* a carry may reach inf: right */
    return (uint16_t)(sign | h);
}

float clattn__f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 0x1fu) return float_of(sign | 0x7f800000u | (mant << 13));
    if (exp == 0) { /* zero or subnormal: mant * 2^-24, exact in float32 */
        const float v = (float)mant * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    return float_of(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

uint16_t clattn__f32_to_bf16(float x) {
    const uint32_t u = bits_of(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* NaN, quiet */
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

float clattn__bf16_to_f32(uint16_t h) {
    return float_of((uint32_t)h << 16);
}

float clattn__dtype_round(clattn_dtype dtype, float x) {
    if (dtype == CLATTN_F16) return clattn__f16_to_f32(clattn__f32_to_f16(x));
    if (dtype == CLATTN_BF16) return clattn__bf16_to_f32(clattn__f32_to_bf16(x));
    return x;
}

float clattn__dtype_load(clattn_dtype dtype, const void *base, size_t i) {
    if (dtype == CLATTN_F16) return clattn__f16_to_f32(((const uint16_t *)base)[i]);
    if (dtype == CLATTN_BF16) return clattn__bf16_to_f32(((const uint16_t *)base)[i]);
    return ((const float *)base)[i];
}

void clattn__dtype_store(clattn_dtype dtype, void *base, size_t i, float x) {
    if (dtype == CLATTN_F16)
        ((uint16_t *)base)[i] = clattn__f32_to_f16(x);
    else if (dtype == CLATTN_BF16)
        ((uint16_t *)base)[i] = clattn__f32_to_bf16(x);
    else
        ((float *)base)[i] = x;
}

void clattn__dtype_widen(clattn_dtype dtype, const void *src, float *dst, size_t count) {
    for (size_t i = 0; i < count; i++)
        dst[i] = clattn__dtype_load(dtype, src, i);
}

void clattn__dtype_narrow(clattn_dtype dtype, const float *src, void *dst, size_t count) {
    for (size_t i = 0; i < count; i++)
        clattn__dtype_store(dtype, dst, i, src[i]);
}
