/* Size arithmetic with overflow detection. */
#include "size.h"

#include <stdint.h>

bool clattn__mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}

size_t clattn__next_pow2(size_t v) {
    size_t p = 1;
    while (p < v)
        p *= 2;
    return p;
}

size_t clattn__round_up(size_t v, size_t multiple) {
    return (v + multiple - 1) / multiple * multiple;
}
