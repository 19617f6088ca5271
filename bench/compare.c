/* Comparing a result with its reference. */
#include "bench.h"

#include <math.h>

double bench_max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)a[i] - (double)b[i]);
        if (diff > m || isnan(diff)) m = diff;
    }
    return m;
}
