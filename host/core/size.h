/* Size arithmetic with overflow detection (size.c). */
#ifndef CLATTN_CORE_SIZE_H
#define CLATTN_CORE_SIZE_H

#include <stdbool.h>
#include <stddef.h>

/* a * b with overflow detection; returns false on overflow. */
bool clattn__mul_size(size_t a, size_t b, size_t *out);

/* The smallest power of two >= v, and v rounded up to a multiple. */
size_t clattn__next_pow2(size_t v);
size_t clattn__round_up(size_t v, size_t multiple);

#endif
